"""The ``--profile FILE`` and ``--edition NAME`` options every command takes, and their help.

``images-conformance run``, ``serve``, ``validate-cassette`` and ``proxy`` add them with
:func:`add_profile_options` and load what they were given with
:func:`validator.load_profile`; the pytest plugin (``conformance_tests/_options.py``)
registers the same options with the same help texts.
"""

from __future__ import annotations

import argparse

from validator import EDITIONS

EDITION_CHOICES = list(EDITIONS)


def profile_help(of: str) -> str:
    """The help of ``--profile``: a profile describing ``of`` (e.g. "the target")."""
    return (
        f"TOML profile of {of}: model names and their families, features, auth, strict, "
        "known failures (docs/profiles.md); default: OpenAI's own behaviour"
    )


def edition_help(verb: str = "judge by") -> str:
    """The help of ``--edition``: the edition of the official text to ``verb``."""
    return (
        f"edition of the official text to {verb} (default: the profile's, else document; "
        "2026-08 adds gpt-image-2 and its WIDTHxHEIGHT sizes; docs/editions.md)"
    )


def add_profile_options(
    parser: argparse.ArgumentParser, *, of: str = "the target", verb: str = "judge by"
) -> argparse._ArgumentGroup:
    """Add ``--profile FILE`` and ``--edition NAME`` (dest ``profile`` and ``edition``,
    both None when not given) as one group of ``parser``'s help."""
    group = parser.add_argument_group("profile and edition")
    group.add_argument("--profile", metavar="FILE", default=None, help=profile_help(of))
    group.add_argument("--edition", choices=EDITION_CHOICES, default=None, help=edition_help(verb))
    return group
