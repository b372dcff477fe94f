"""``$HOTUPDATE_WASM_TOOLS`` is the wasm-tools the runtime runs: for the shims and the bulk path."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.component import bulk, shims
from pytest_hotupdate.component.wasm_tools import TOOL_ENV, wasm_tools_executable
from pytest_hotupdate.errors import ComponentLoadError


@pytest.fixture
def wrapper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A wrapper script around the real wasm-tools that logs each subcommand; set as
    ``$HOTUPDATE_WASM_TOOLS``, with an empty cache folder so nothing is served from disk."""
    monkeypatch.delenv(TOOL_ENV, raising=False)
    real = wasm_tools_executable()
    assert real is not None
    log = tmp_path / "calls.log"
    script = tmp_path / "wasm-tools-wrapper"
    script.write_text(f'#!/bin/sh\necho "$1" >> "{log}"\nexec "{real}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(TOOL_ENV, str(script))
    monkeypatch.setenv("HOTUPDATE_CACHE_DIR", str(tmp_path / "cache"))
    return log


def test_the_environment_variable_wins(wrapper: Path) -> None:
    assert wasm_tools_executable() == os.environ[TOOL_ENV]


def test_the_shims_run_the_wrapper(wrapper: Path, sample: Callable[[str, str], Path]) -> None:
    data = sample("golem-kvstream", "v1").read_bytes()
    assert shims.needs_shim(data)
    composed = shims.adapt(data)
    assert composed != data
    calls = wrapper.read_text().split()
    assert "component" in calls and "compose" in calls


def test_the_bulk_path_runs_the_wrapper(wrapper: Path, sample: Callable[[str, str], Path]) -> None:
    data = sample("bigstate", "v1").read_bytes()
    assert bulk.needs_augmenting(data)
    augmented = bulk.augment(data)
    assert isinstance(augmented, bytes) and bulk.INTERFACE.encode() in augmented
    assert {"print", "parse", "validate"} <= set(wrapper.read_text().split())


def test_a_missing_wrapper_is_a_load_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOOL_ENV, str(tmp_path / "absent"))
    with pytest.raises(ComponentLoadError, match="HOTUPDATE_WASM_TOOLS"):
        shims.run_wasm_tools("x", "--version")
