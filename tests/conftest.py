"""Shared fixtures: one runtime (engine + compile cache) and built samples per test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

# `--hypothesis-profile=fuzz`: the dedicated fuzz run (`pytest -m fuzz`), 10,000 inputs per test.
settings.register_profile("fuzz", max_examples=10_000, deadline=None)

from pytest_hotupdate.engine import Runtime
from pytest_hotupdate.registry import Registry
from sample_components.build import build


@pytest.fixture(scope="session")
def runtime() -> Runtime:
    """One engine and compiled-component cache for the whole session."""
    return Runtime()


@pytest.fixture(scope="session")
def sample() -> Callable[[str, str], Path]:
    """``sample("counter", "v1")`` -> path of the built component (cached on disk)."""
    return build


@pytest.fixture
def registry(runtime: Runtime) -> Registry:
    """A fresh registry on the session's runtime."""
    return Registry(runtime)
