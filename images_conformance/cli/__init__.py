"""The ``images-conformance`` command and its subcommands."""
