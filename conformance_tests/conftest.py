"""Registers the recorded scenarios' plugin (conformance_tests/_recording.py)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # import_plugin does nothing when the plugin is already registered (e.g. by plugin.py).
    pluginmanager.import_plugin("conformance_tests._recording")
