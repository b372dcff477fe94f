"""Hostile inputs to ``hotupdate-check`` that need more than one table row (issue 12, items 15
and 16): output to a full device, and a WIT document with thousands of interfaces (whose
timing is in bench/scale.py; here only the result is checked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from checker.api import Checker
from sample_components.build import build
from tests.checker_cases import env_without_bytecode_flag

PREFIX = "hotupdate-check: error: "


def _console_script() -> list[str]:
    beside = Path(sys.executable).parent / "hotupdate-check"
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "checker"]


@pytest.mark.parametrize("args", [
    ["{v1}", "{v2}"],
    ["{v1}", "{v2}", "--format", "json"],
    ["--list-rules"],
    ["--help"],
    ["--version"],
], ids=["report", "json-report", "list-rules", "help", "version"])
def test_output_to_a_full_device_is_one_line_and_exit_2(tmp_path: Path, args: list[str]) -> None:
    paths = {"v1": str(build("counter", "v1")), "v2": str(build("counter", "v2"))}
    argv = [a.format(**paths) for a in args]
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*_console_script(), *argv], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=60, cwd=tmp_path,
                              env=env_without_bytecode_flag())
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(PREFIX) and "No space left on device" in lines[0], lines[0]
    assert "standard output" in lines[0]


def _many_interfaces(count: int, changed: bool) -> str:
    """A package exporting ``count`` interfaces (one record and one function each; the last
    one also uses a record of an imported interface); ``changed``: the last record gains a
    field, the first function a parameter, and the imported record loses a field."""
    host_fields = "a: u32" if changed else "a: u32, b: u32"
    lines = ["package big:many@1.0.0;", f"interface host {{ record h {{ {host_fields} }} ping: func(); }}"]
    for i in range(count):
        last = i == count - 1
        field = ", extra: u64" if changed and last else ""
        param = ", more: u8" if changed and i == 0 else ""
        uses = "use host.{h}; " if last else ""
        extra_param = ", hh: h" if last else ""
        lines.append(f"interface i{i} {{ {uses}record r{i} {{ x: u32{field} }} "
                     f"fn{i}: func(a: r{i}{param}{extra_param}) -> u32; }}")
    lines.append("world w {")
    lines.append("  import host;")
    lines.extend(f"  export i{i};" for i in range(count))
    lines.append("}")
    return "\n".join(lines) + "\n"


def test_thousands_of_interfaces_give_the_right_findings_and_paths(tmp_path: Path) -> None:
    count = 5000
    old, new = tmp_path / "old.wit", tmp_path / "new.wit"
    old.write_text(_many_interfaces(count, changed=False), encoding="utf-8")
    new.write_text(_many_interfaces(count, changed=True), encoding="utf-8")
    report = Checker().check([str(old), str(new)])
    [pair] = report.pairs
    found = sorted((f.rule_id, f.path) for f in pair.findings)
    # Each type's path names the interface that owns it, found among thousands.
    assert found == [
        ("param-added", "export big:many/i0@1.0.0 / func fn0 / param more"),
        ("record-field-added",
         f"export big:many/i{count - 1}@1.0.0 / record r{count - 1} / field extra"),
        ("record-field-removed", "import big:many/host@1.0.0 / record h / field b"),
    ], found
