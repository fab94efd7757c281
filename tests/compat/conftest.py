"""The `make compat` harness lives in compat/ (not a package): load its modules by path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

COMPAT_DIR = Path(__file__).resolve().parents[2] / "compat"


def _load(name: str) -> ModuleType:
    if str(COMPAT_DIR) not in sys.path:
        sys.path.insert(0, str(COMPAT_DIR))
    module_name = f"kinfolk_compat_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, COMPAT_DIR / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def compat_report() -> ModuleType:
    return _load("report")


@pytest.fixture(scope="session")
def compat_run() -> ModuleType:
    return _load("run")


@pytest.fixture(scope="session")
def compat_shapes() -> ModuleType:
    return _load("shapes")
