"""A_imports must run on a fresh install: every module it imports is one the project installs."""

from __future__ import annotations

import importlib

import pytest
from bench.imports_only import MODULES


@pytest.mark.parametrize("name", MODULES)
def test_every_anchor_module_is_installed(name: str) -> None:
    importlib.import_module(name)
