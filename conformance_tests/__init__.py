"""The images-conformance pytest suite: point it at any POST /images/generations target."""
