"""The compiled-component disk cache trusts nothing it did not check (issue 12, item 13).

Each entry is tied to the bytes it was compiled from, the engine configuration and wasmtime's
version, and its artifact to a digest, all checked before wasmtime deserializes native code;
a mismatch is compiled again and reported once. The directory is private to the user.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from pytest_hotupdate.component import CACHE_ENTRY_MAGIC, EngineConfig
from pytest_hotupdate.engine import Runtime

LOGGER = "pytest_hotupdate.component"


def _entry(runtime: Runtime, path: Path) -> Path:
    """The disk entry ``runtime`` wrote for the component at ``path`` (found by its header,
    which names the component's digest)."""
    loaded = runtime.load(path)
    entries = sorted((runtime.components.cache_dir / "compiled").glob("*.cwasm"))
    for entry in entries:
        if loaded.sha256.encode() in entry.read_bytes()[:4096]:
            return entry
    raise AssertionError(f"no entry for {path} among {entries}")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def test_an_entry_copied_over_another_components_is_recompiled_and_reported_once(
    sample, tmp_path: Path, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    v1, v2 = sample("counter", "v1"), sample("counter", "v2")
    first = Runtime(cache_dir=tmp_path)
    v1_entry, v2_entry = _entry(first, v1), _entry(first, v2)
    assert v1_entry != v2_entry
    v2_entry.write_bytes(v1_entry.read_bytes())  # the attack: v1's native code under v2's key

    second = Runtime(cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        loaded = second.load(v2)
        second.load(v2)
    # v2's own code runs (v1 has no reset and no save-snapshot), compiled afresh.
    assert "golem:counter/api.{reset}" in loaded.functions
    assert "golem:api/save-snapshot@1.1.0.{save}" in loaded.functions
    assert second.components.compile_count == 1
    assert second.components.rejected_entries == [v2_entry]
    messages = _warnings(caplog)
    assert len(messages) == 1, messages
    assert str(v2_entry) in messages[0] and "source-sha256" in messages[0]
    assert "\n" not in messages[0]

    # The entry was rewritten: a third process loads it from disk without a word.
    caplog.clear()
    third = Runtime(cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert "golem:counter/api.{reset}" in third.load(v2).functions
    assert third.components.compile_count == 0
    assert _warnings(caplog) == []


def test_an_entry_of_another_engine_configuration_is_not_deserialized(
    sample, tmp_path: Path, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    path = sample("counter", "v2")
    other = Runtime(engine_config=EngineConfig(max_wasm_stack=1 << 19), cache_dir=tmp_path)
    other_entry = _entry(other, path)
    mine = Runtime(cache_dir=tmp_path / "mine")
    mine_entry = _entry(mine, path)
    mine_entry.write_bytes(other_entry.read_bytes())
    again = Runtime(cache_dir=tmp_path / "mine")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        again.load(path)
    assert again.components.compile_count == 1
    [message] = _warnings(caplog)
    assert "engine is 'epoch=1,stack=524288'" in message


@pytest.mark.parametrize("damage", ["flip-artifact-byte", "truncate", "no-header", "bad-json"])
def test_a_damaged_entry_is_recompiled(
    sample, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str  # type: ignore[no-untyped-def]
) -> None:
    path = sample("counter", "v2")
    entry = _entry(Runtime(cache_dir=tmp_path), path)
    data = bytearray(entry.read_bytes())
    header_end = data.index(b"\n")
    if damage == "flip-artifact-byte":
        data[header_end + 1 + len(data[header_end + 1:]) // 2] ^= 0xFF
    elif damage == "truncate":
        del data[len(data) - 100:]
    elif damage == "no-header":
        data = data[header_end + 1:]  # the bare wasmtime artifact, as the old cache wrote it
    else:
        data[len(CACHE_ENTRY_MAGIC)] = ord("[")
    entry.write_bytes(bytes(data))
    runtime = Runtime(cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert "golem:counter/api.{reset}" in runtime.load(path).functions
    assert runtime.components.compile_count == 1
    assert len(_warnings(caplog)) == 1


def test_the_cache_directory_is_private_to_the_user(sample, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = sample("counter", "v1")
    root = tmp_path / "new-cache"
    runtime = Runtime(cache_dir=root)
    entry = _entry(runtime, path)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(f"{entry}.lock").stat().st_mode) == 0o600
    # A directory others may write to is made private again before it is used.
    os.chmod(entry.parent, 0o777)
    Runtime(cache_dir=root).load(path)
    assert stat.S_IMODE(entry.parent.stat().st_mode) == 0o700


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a directory to another user")
def test_a_cache_directory_owned_by_another_user_is_not_used(
    sample, tmp_path: Path, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    path = sample("counter", "v1")
    compiled = tmp_path / "compiled"
    compiled.mkdir()
    os.chown(compiled, 4242, 4242)
    runtime = Runtime(cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        runtime.load(path)
        Runtime(cache_dir=tmp_path).load(path)
    assert runtime.components.compile_count == 1
    assert list(compiled.iterdir()) == []  # nothing written into the other user's folder
    messages = _warnings(caplog)
    assert len(messages) == 1 and "owned by uid 4242" in messages[0], messages
