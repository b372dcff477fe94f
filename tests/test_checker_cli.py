"""The ``hotupdate-check`` command line: in-process through click's CliRunner, and once end to
end as a subprocess. Exit status 0 / 1 / 2; every bad input gives one line on stderr that names
the file, and no traceback."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from checker.cli import command, main
from checker.findings import fingerprint
from checker.rules import RULES
from sample_components.build import build
from tests.checker_cases import ComponentBuilder, env_without_bytecode_flag

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def counter() -> dict[str, str]:
    return {v: str(build("counter", v)) for v in ("v1", "v2", "v3", "v4")}


@pytest.fixture(scope="module")
def builder(tmp_path_factory: pytest.TempPathFactory) -> ComponentBuilder:
    return ComponentBuilder(tmp_path_factory.mktemp("checker-cli-components"))


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder (no pyproject.toml above it that configures the checker)."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def run(*args: str) -> Result:
    return CliRunner().invoke(command(), list(args), catch_exceptions=False)


def assert_input_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hotupdate-check: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""


# --------------------------------------------------------------------------- verdicts and exit


def test_compatible_pair_exits_0(counter: dict[str, str], in_tmp: Path) -> None:
    result = run(counter["v1"], counter["v2"])
    assert result.exit_code == 0
    assert "automatic: interface-compatible" in result.stdout
    assert "manual:    unavailable" in result.stdout
    assert "export-function-added  export golem:counter/api / func reset" in result.stdout
    assert "\x1b[" not in result.stdout  # not a terminal: no colour


def test_incompatible_pair_exits_1(counter: dict[str, str], in_tmp: Path) -> None:
    result = run(counter["v2"], counter["v3"])
    assert result.exit_code == 1
    assert "automatic: incompatible" in result.stdout
    assert "manual:    available" in result.stdout
    assert result.stdout.rstrip().endswith("exit 1")


@pytest.mark.parametrize(
    ("fail_on", "v1v2", "v3v4"),
    [("error", 0, 0), ("warning", 0, 1), ("info", 1, 1), ("never", 0, 0)],
)
def test_fail_on(counter: dict[str, str], in_tmp: Path, fail_on: str, v1v2: int, v3v4: int) -> None:
    assert run("--fail-on", fail_on, counter["v1"], counter["v2"]).exit_code == v1v2
    assert run("--fail-on", fail_on, counter["v3"], counter["v4"]).exit_code == v3v4


def test_never_ignores_errors(counter: dict[str, str], in_tmp: Path) -> None:
    assert run("--fail-on", "never", counter["v2"], counter["v3"]).exit_code == 0


def test_json_to_output_file(counter: dict[str, str], in_tmp: Path) -> None:
    out = in_tmp / "report.json"
    result = run("--format", "json", "--output", str(out), counter["v1"], counter["v2"], counter["v3"])
    assert result.exit_code == 1 and result.stdout == ""
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [p["new"] for p in doc["pairs"]] == [counter["v3"], counter["v3"]]
    assert [p["verdicts"]["manual"]["verdict"] for p in doc["pairs"]] == ["unavailable", "available"]


def test_chain_and_samples(counter: dict[str, str], in_tmp: Path) -> None:
    chain = run("--chain", "--format", "json", counter["v1"], counter["v2"], counter["v3"], counter["v4"])
    pairs = json.loads(chain.stdout)["pairs"]
    assert [p["verdicts"]["automatic"]["verdict"] for p in pairs] == [
        "interface-compatible", "incompatible", "interface-compatible"]
    assert [p["verdicts"]["manual"]["verdict"] for p in pairs] == [
        "unavailable", "available", "available"]
    samples = run("--samples", "counter", "--format", "json")
    assert samples.exit_code == 1
    assert json.loads(samples.stdout)["pairs"] == pairs


def test_every_format_from_the_command_line(counter: dict[str, str], in_tmp: Path) -> None:
    for fmt in ("text", "json", "markdown", "sarif", "junit", "github"):
        result = run("--format", fmt, counter["v2"], counter["v3"])
        assert result.exit_code == 1, fmt
        assert result.stdout.strip(), fmt
    github = run("--format", "github", counter["v2"], counter["v3"]).stdout
    assert github.startswith("::error file=")


def test_color_flag(counter: dict[str, str], in_tmp: Path) -> None:
    assert "\x1b[31m" in run("--color", counter["v2"], counter["v3"]).stdout
    assert "\x1b[" not in run("--no-color", counter["v2"], counter["v3"]).stdout


def test_list_rules_and_explain(in_tmp: Path) -> None:
    listing = run("--list-rules")
    assert listing.exit_code == 0
    for rule in RULES:
        assert rule.id in listing.stdout
    as_json = json.loads(run("--list-rules", "--format", "json").stdout)
    assert [r["id"] for r in as_json] == [r.id for r in RULES]
    explain = run("--explain", "param-reordered")
    assert explain.exit_code == 0
    assert "before:" in explain.stdout and "f: func(b: string, a: u32);" in explain.stdout
    assert_input_error(run("--explain", "no-such-rule"), "unknown rule 'no-such-rule'")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("hotupdate-check ") and out.strip().split()[1][0].isdigit()
    assert run("--version").stdout == out


def test_main_returns_the_exit_status(counter: dict[str, str], in_tmp: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main([counter["v2"], counter["v3"]]) == 1
    assert main([counter["v1"], counter["v2"]]) == 0
    assert main(["--no-such-option"]) == 2
    assert main(["only-one.wasm"]) == 2
    capsys.readouterr()


# --------------------------------------------------------------------------- configuration


def test_pyproject_configuration(counter: dict[str, str], in_tmp: Path) -> None:
    inc = fingerprint("export-function-removed", "export golem:counter/api / func increment")
    reset = fingerprint("export-function-removed", "export golem:counter/api / func reset")
    (in_tmp / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n\n[tool.hotupdate]\nfail-on = 'warning'\n"
        "ignore-rules = ['snapshot-export-added']\n"
        "[tool.hotupdate.severity]\nexport-function-added = 'warning'\n"
        f"[[tool.hotupdate.ignore]]\nfingerprint = '{inc}'\nreason = 'no worker called it'\n"
        f"[[tool.hotupdate.ignore]]\nfingerprint = '{reset}'\nreason = 'nor this one'\n",
        encoding="utf-8",
    )
    (in_tmp / "sub").mkdir()
    os.chdir(in_tmp / "sub")  # found from a sub-folder too
    result = run("--format", "json", counter["v2"], counter["v3"])
    doc = json.loads(result.stdout)
    pair = doc["pairs"][0]
    assert doc["fail-on"] == "warning"
    assert [f["rule"] for f in pair["findings"]] == ["export-function-added"]
    assert pair["findings"][0]["severity"] == "warning"
    assert result.exit_code == 1  # a warning, with fail-on = warning
    assert {(s["rule"], s["reason"]) for s in pair["suppressed"]} == {
        ("export-function-removed", "no worker called it"),
        ("export-function-removed", "nor this one"),
        ("snapshot-export-added", "rule ignored by configuration"),
    }
    # the suppressed removals no longer prove anything
    assert pair["verdicts"]["automatic"]["verdict"] == "interface-compatible"
    # the command line wins over the file
    assert run("--fail-on", "error", counter["v2"], counter["v3"]).exit_code == 0


def test_config_file_option(counter: dict[str, str], in_tmp: Path) -> None:
    cfg = in_tmp / "hotupdate.toml"
    cfg.write_text("host = 'wasi'\nfail-on = 'info'\n", encoding="utf-8")
    result = run("--config", str(cfg), "--format", "json", counter["v1"], counter["v2"])
    doc = json.loads(result.stdout)
    assert (doc["host"], doc["fail-on"], result.exit_code) == ("wasi", "info", 1)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[tool.hotupdate]\nfail-on = 'sometimes'\n", "fail-on = 'sometimes'"),
        ("[tool.hotupdate]\nignore-rule = ['doc-changed']\n", "unknown key(s) in [tool.hotupdate]: ignore-rule"),
        ("[tool.hotupdate.severity]\nno-such-rule = 'info'\n", "unknown rule 'no-such-rule'"),
        ("[tool.hotupdate.severity]\ndoc-changed = 'fatal'\n", "expected error, warning or info"),
        ("[[tool.hotupdate.ignore]]\nfingerprint = 'abc'\n", "a reason is required"),
        ("[tool.hotupdate\n", "invalid TOML"),
    ],
)
def test_bad_configuration_exits_2(counter: dict[str, str], in_tmp: Path, text: str, fragment: str) -> None:
    (in_tmp / "pyproject.toml").write_text(text, encoding="utf-8")
    result = run(counter["v1"], counter["v2"])
    assert_input_error(result, "pyproject.toml: ", fragment)


def test_missing_config_file(counter: dict[str, str], in_tmp: Path) -> None:
    assert_input_error(run("--config", "nope.toml", counter["v1"], counter["v2"]), "nope.toml: no such file")


# --------------------------------------------------------------------------- --history


def test_history_without_the_runtime_update_module(
    counter: dict[str, str], in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    oplog = in_tmp / "w.oplog.jsonl"
    oplog.write_text('{"oplog": 1, "component": "counter", "revision": 0}\n', encoding="utf-8")
    monkeypatch.setitem(sys.modules, "pytest_hotupdate.update", None)  # import fails
    result = run("--history", str(oplog), counter["v1"], counter["v2"])
    assert_input_error(result, "--history needs pytest_hotupdate.update (not available)")


def test_history_file_missing(counter: dict[str, str], in_tmp: Path) -> None:
    result = run("--history", "missing.jsonl", counter["v1"], counter["v2"])
    assert_input_error(result, "missing.jsonl: no such file")


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real recorded histories: faulty v1 workers (``inc`` diverges on v2, ``get`` replays) and
    a dice worker (another component)."""
    from pytest_hotupdate.engine import Runtime
    from pytest_hotupdate.registry import Registry

    folder = tmp_path_factory.mktemp("histories")
    registry = Registry(Runtime())
    registry.add("faulty", build("faulty", "v1"))
    registry.add("dice", build("dice", "v1"))
    inc = registry.worker("faulty", name="inc")
    inc.invoke("golem:faulty/api.{increment}", 2)
    inc.invoke("golem:faulty/api.{increment}", 3)
    get = registry.worker("faulty", name="get")
    get.invoke("golem:faulty/api.{get}")
    idle = registry.worker("faulty", name="idle")
    dice = registry.worker("dice", name="dice",
                           host_functions={"golem:dice/oracle.{ask}": lambda question: 7})
    dice.invoke("golem:dice/api.{consult}", "why")
    out = {w.name: folder / "faulty" / f"{w.name}.oplog.jsonl" for w in (inc, get, idle)}
    out["dice"] = folder / "dice.oplog.jsonl"
    for worker in (inc, get, idle, dice):
        worker.save_oplog(out[worker.name])
    return out


@pytest.fixture(scope="module")
def faulty() -> tuple[str, str]:
    return str(build("faulty", "v1")), str(build("faulty", "v2"))


def test_a_diverging_history_fails_the_run_in_every_format(
        histories: dict[str, Path], faulty: tuple[str, str], in_tmp: Path) -> None:
    import xml.etree.ElementTree as ET

    inc = str(histories["inc"])
    args = ["--history", inc, *faulty]
    for fail_on in ("error", "warning", "info"):
        result = run("--fail-on", fail_on, *args)
        assert result.exit_code == 1, result.output
        assert "automatic: diverges" in result.stdout
        assert result.stdout.rstrip().endswith(
            f"0 finding(s) at or above --fail-on {fail_on}, 1 diverging history(ies): exit 1")
    never = run("--fail-on", "never", *args)
    assert never.exit_code == 0 and "automatic: diverges" in never.stdout
    doc = json.loads(run("--format", "json", "--fail-on", "warning", *args).stdout)
    assert doc["exit-code"] == 1
    assert doc["pairs"][0]["verdicts"]["automatic"]["histories"][0]["ok"] is False
    github = run("--format", "github", "--fail-on", "warning", *args)
    assert github.exit_code == 1
    errors = [line for line in github.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1 and errors[0].startswith(f"::error file={inc.replace(':', '%3A')},")
    assert "diverges on" in errors[0] and "expected 2, got 4" in errors[0]
    junit = ET.fromstring(run("--format", "junit", "--fail-on", "warning", *args).stdout)
    (case,) = [c for c in junit.iter("testcase") if c.get("classname") == "hotupdate-check.history"]
    assert case.get("name") == inc and case.find("failure") is not None
    assert junit.get("failures") == "1"
    junit_never = ET.fromstring(run("--format", "junit", "--fail-on", "never", *args).stdout)
    assert junit_never.get("failures") == "0"
    sarif = json.loads(run("--format", "sarif", *args).stdout)
    import jsonschema

    from tests.test_checker_samples import REPORT_SCHEMA, SARIF_SCHEMA

    sarif_schema = jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text("utf-8")),
                                              format_checker=jsonschema.FormatChecker())
    assert not list(sarif_schema.iter_errors(sarif))
    jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text("utf-8"))).validate(doc)
    (res,) = sarif["runs"][0]["results"]
    assert (res["ruleId"], res["level"]) == ("history-diverges", "error")
    assert sarif["runs"][0]["invocations"][0]["exitCode"] == 1
    markdown = run("--format", "markdown", *args).stdout
    assert "**diverges**" in markdown and "1 diverging history(ies); exit status 1." in markdown


def test_a_directory_of_histories(histories: dict[str, Path], faulty: tuple[str, str],
                                  in_tmp: Path) -> None:
    folder = histories["inc"].parent
    result = run("--format", "json", "--history", str(folder), *faulty)
    assert result.exit_code == 1
    replayed = doc_histories = json.loads(result.stdout)["pairs"][0]["verdicts"]["automatic"]
    assert [(Path(h["path"]).name, h["ok"]) for h in doc_histories["histories"]] == [
        ("get.oplog.jsonl", True), ("idle.oplog.jsonl", True), ("inc.oplog.jsonl", False)]
    assert replayed["verdict"] == "diverges"
    good = run("--history", str(histories["get"]), "--history", str(histories["idle"]), *faulty)
    assert good.exit_code == 0 and "automatic: replay-verified" in good.stdout
    empty = in_tmp / "empty"
    empty.mkdir()
    assert_input_error(run("--history", str(empty), *faulty),
                       f"{empty}: no *.oplog.jsonl histories in this directory")


def test_histories_of_another_component_are_refused(
        histories: dict[str, Path], faulty: tuple[str, str], in_tmp: Path) -> None:
    dice = str(histories["dice"])
    assert_input_error(run("--history", dice, *faulty), (
        f"{dice}: not a history of the compared component (its header names 'dice'): none of "
        f"the functions it invokes (golem:dice/api.{{consult}}) is exported by {faulty[0]}, "
        f"{faulty[1]}"))
    inc = str(histories["inc"])
    assert_input_error(run("--history", inc, "--history", dice, *faulty), (
        f"{dice}: a history of component 'dice', but {inc} is of 'faulty': the histories "
        "replayed on one revision must all be of its component"))


def test_corrupted_and_hostile_histories_exit_2_naming_the_line(
        histories: dict[str, Path], faulty: tuple[str, str], in_tmp: Path) -> None:
    lines = histories["inc"].read_text(encoding="utf-8").splitlines()
    cases = {
        "digits.oplog.jsonl": ([*lines[:2], '{"kind": "completed", "result": "1", "n": '
                                + "1" * 5000 + "}"],
                               "line 3: unreadable JSON value: Exceeds the limit"),
        "deep.oplog.jsonl": ([*lines[:2], "[" * 100_000 + "]" * 100_000],
                             "line 3: JSON nested too deeply to read"),
        "native.oplog.jsonl": ([*lines[:2], '{"kind": "completed", "native": 0}'],
                               "line 3: bad `completed` entry: unexpected field `native`"),
        "base64.oplog.jsonl": ([lines[0], '{"kind": "pending-update", "target_revision": 1, '
                                '"mode": "manual", "at": 1, "snapshot": "%%%"}'],
                               "line 2: `pending-update` field `snapshot` is not valid base64"),
        "orphan.oplog.jsonl": ([*lines, lines[-1]], "line 6: `completed` without an invocation"),
        "dropped.oplog.jsonl": (lines[:-1], "cannot verify: invocation #1 "
                                "golem:faulty/api.{increment} has no recorded outcome"),
    }
    for name, (content, message) in cases.items():
        path = in_tmp / name
        path.write_text("\n".join(content) + "\n", encoding="utf-8")
        # v1 -> v1: the intact part of every history replays
        assert_input_error(run("--history", str(path), faulty[0], faulty[0]), f"{path}: ",
                           message)


# --------------------------------------------------------------------------- bad inputs


@pytest.fixture
def bad(in_tmp: Path, counter: dict[str, str]) -> dict[str, str]:
    comp = Path(counter["v1"]).read_bytes()
    files = {
        "empty.wasm": b"",
        "text.wasm": b"hello, I am not wasm\n",
        "notes.txt": b"hello world\n",
        "truncated.wasm": comp[: len(comp) // 2],
        "core.wasm": b"\0asm\x01\0\0\0",
        "bad.wit": b"package a:b;\ninterface x {\n  f: func(a: u32) -> ;\n}\n",
    }
    for name, data in files.items():
        (in_tmp / name).write_bytes(data)
    (in_tmp / "emptydir").mkdir()
    return {name: name for name in [*files, "emptydir"]}


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("missing.wasm", ("missing.wasm: no such file or directory",)),
        ("emptydir", ("emptydir: no WIT package found",)),
        ("empty.wasm", ("empty.wasm: empty file",)),
        ("text.wasm", ("text.wasm: not a WebAssembly component",)),
        ("notes.txt", ("notes.txt:1:1: expected `world`, `interface` or `use`",)),
        ("truncated.wasm", ("truncated.wasm: truncated component",)),
        ("core.wasm", ("core.wasm: a core WebAssembly module, not a component",)),
        ("bad.wit", ("bad.wit:3:22: expected a type, found ';'",)),
    ],
)
@pytest.mark.parametrize("side", ["old", "new"])
def test_bad_input_exits_2_naming_the_file(
    bad: dict[str, str], counter: dict[str, str], name: str, fragments: tuple[str, ...], side: str
) -> None:
    args = [name, counter["v1"]] if side == "old" else [counter["v1"], name]
    assert_input_error(run(*args), *fragments)


def test_wit_error_inside_a_directory_names_the_wit_file(in_tmp: Path, counter: dict[str, str]) -> None:
    wit = in_tmp / "wit"
    wit.mkdir()
    (wit / "api.wit").write_text(
        "package a:b;\n\ninterface api {\n  use nope.{x};\n}\n", encoding="utf-8")
    assert_input_error(run(counter["v1"], "wit"), "wit/api.wit:4:7: interface or world `nope` does not exist")


def test_several_worlds_need_world_option(in_tmp: Path, counter: dict[str, str]) -> None:
    (in_tmp / "two.wit").write_text(
        "package a:b;\ninterface api { f: func(); }\nworld one { export api; }\n"
        "world two { export api; }\n", encoding="utf-8")
    assert_input_error(run("two.wit", "two.wit"), "two.wit: several worlds (one, two): choose one with --world NAME")
    assert run("--world", "two", "two.wit", "two.wit").exit_code == 0
    assert_input_error(run("--world", "three", "two.wit", "two.wit"), "no world named 'three'")


def test_one_revision_is_a_usage_error(counter: dict[str, str], in_tmp: Path) -> None:
    assert_input_error(run(counter["v1"]), "give at least two revisions")
    assert_input_error(run("--samples", "nosuch"), "unknown sample 'nosuch'")
    assert_input_error(run("--samples", "counter", counter["v1"]), "either component files or --samples")
    assert run("--format", "yaml", counter["v1"], counter["v2"]).exit_code == 2


def test_output_file_that_cannot_be_written(counter: dict[str, str], in_tmp: Path) -> None:
    assert_input_error(run("--output", "no/such/dir/r.txt", counter["v1"], counter["v2"]),
                       "no/such/dir/r.txt: cannot write the report")


@pytest.fixture
def failing_tool(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = in_tmp / "fake-wasm-tools"
    script.write_text("#!/bin/sh\necho 'error: out of cheese' >&2\nexit 3\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_wasm_tools_failing(counter: dict[str, str], failing_tool: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTUPDATE_WASM_TOOLS", str(failing_tool))
    assert_input_error(run(counter["v1"], counter["v2"]), f"{counter['v1']}: out of cheese")
    silent = failing_tool.with_name("silent")
    silent.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    silent.chmod(0o755)
    monkeypatch.setenv("HOTUPDATE_WASM_TOOLS", str(silent))
    assert_input_error(run(counter["v1"], counter["v2"]), "wasm-tools failed with exit status 1")
    garbage = failing_tool.with_name("garbage")
    garbage.write_text("#!/bin/sh\necho '{not json'\n", encoding="utf-8")
    garbage.chmod(0o755)
    monkeypatch.setenv("HOTUPDATE_WASM_TOOLS", str(garbage))
    assert_input_error(run(counter["v1"], counter["v2"]), "wasm-tools printed output that is not JSON")
    monkeypatch.setenv("HOTUPDATE_WASM_TOOLS", str(failing_tool.with_name("absent")))
    assert_input_error(run(counter["v1"], counter["v2"]), "cannot run wasm-tools")


# --------------------------------------------------------------------------- end to end


def _console_script() -> list[str]:
    beside = Path(sys.executable).parent / "hotupdate-check"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("hotupdate-check")
    return [found] if found else [sys.executable, "-m", "checker.cli"]


def test_end_to_end_subprocess(counter: dict[str, str], tmp_path: Path) -> None:
    env = env_without_bytecode_flag()
    proc = subprocess.run(
        [*_console_script(), "--format", "json", counter["v2"], counter["v3"]],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60, check=False,
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["pairs"][0]["verdicts"]["automatic"]["verdict"] == "incompatible"
    bad = subprocess.run(
        [*_console_script(), str(tmp_path / "nope.wasm"), counter["v3"]],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60, check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == f"hotupdate-check: error: {tmp_path / 'nope.wasm'}: no such file or directory"
    version = subprocess.run([*_console_script(), "--version"], capture_output=True, text=True,
                             cwd=tmp_path, env=env, timeout=60, check=False)
    assert version.returncode == 0 and version.stdout.startswith("hotupdate-check ")
