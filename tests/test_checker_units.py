"""Units of the checker: type directions, host profiles, prefetching, --history plumbing,
configuration details, import lightness, docs and packaging files, the benchmark's shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker import tool, version
from checker.api import Checker
from checker.cli import command
from checker.compat import Direction, TypePair, combine, compare
from checker.config import load_config
from checker.errors import ConfigError
from checker.hosts import HOSTS, Status, get_host
from checker.model import ListType, OptionType, Prim, ResultType, TupleType, World
from checker.rules import RULES
from checker.wit import load_worlds
from sample_components.build import build
from tests.checker_cases import env_without_bytecode_flag

REPO = Path(__file__).resolve().parent.parent
EMPTY = World("x", "x", (), ())
PAIR = TypePair(EMPTY, EMPTY)


# --------------------------------------------------------------------------- directions


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("u8", "u16", Direction.WIDER), ("u32", "u64", Direction.WIDER),
        ("u64", "u32", Direction.NARROWER), ("u16", "s32", Direction.WIDER),
        ("u32", "s32", Direction.CHANGED), ("s8", "u8", Direction.CHANGED),
        ("f32", "f64", Direction.WIDER), ("f64", "f32", Direction.NARROWER),
        ("u32", "f64", Direction.CHANGED), ("char", "string", Direction.CHANGED),
        ("string", "string", Direction.SAME),
    ],
)
def test_primitive_directions(old: str, new: str, expected: Direction) -> None:
    assert compare(PAIR, Prim(old), Prim(new)) is expected


def test_structural_directions() -> None:
    u32, u64, s = Prim("u32"), Prim("u64"), Prim("string")
    assert compare(PAIR, ListType(u32), ListType(u64)) is Direction.WIDER
    assert compare(PAIR, OptionType(u64), OptionType(u32)) is Direction.NARROWER
    assert compare(PAIR, ResultType(u32, s), ResultType(u64, s)) is Direction.WIDER
    assert compare(PAIR, ResultType(u32, None), ResultType(u32, s)) is Direction.CHANGED
    assert compare(PAIR, TupleType((u32, u64)), TupleType((u64, u32))) is Direction.CHANGED
    assert compare(PAIR, TupleType((u32,)), TupleType((u32, u32))) is Direction.CHANGED
    assert compare(PAIR, None, None) is Direction.SAME
    assert compare(PAIR, None, u32) is Direction.CHANGED
    assert combine(Direction.WIDER, Direction.SAME) is Direction.WIDER
    assert combine(Direction.WIDER, Direction.NARROWER) is Direction.CHANGED


# --------------------------------------------------------------------------- hosts


@pytest.mark.parametrize(
    ("host", "iface", "version_", "status", "note"),
    [
        ("golem", "wasi:clocks/wall-clock", "0.2.3", Status.PROVIDED,
         "Golem provides wasi:clocks/wall-clock@0.2.3"),
        ("golem", "wasi:clocks/wall-clock", "0.3.0", Status.NOT_PROVIDED,
         "Golem does not provide wasi:clocks/wall-clock@0.3.0"),
        ("golem", "golem:api/host", "1.5.0", Status.PROVIDED, "Golem provides golem:api/host@1.5.0"),
        ("golem", "acme:billing/ledger", None, Status.NOT_PROVIDED,
         "Golem does not provide acme:billing/ledger"),
        ("wasmcloud", "wasi:keyvalue/store", "0.2.0-draft", Status.NEEDS_CONFIG,
         ("wasmCloud needs a new link for wasi:keyvalue/store@0.2.0-draft "
          "(a full rollout, not a plain update)")),
        ("wasmcloud", "wasi:random/random", "0.2.0", Status.PROVIDED,
         "wasmCloud provides wasi:random/random@0.2.0"),
        ("wasmcloud", "wasi:filesystem/types", "0.2.0", Status.NOT_PROVIDED,
         "wasmCloud does not provide wasi:filesystem/types@0.2.0"),
        ("wasi", "wasi:http/outgoing-handler", "0.2.0", Status.PROVIDED,
         "A plain WASI 0.2 host provides wasi:http/outgoing-handler@0.2.0"),
        ("wasi", "golem:api/host", "1.5.0", Status.NOT_PROVIDED,
         "A plain WASI 0.2 host does not provide golem:api/host@1.5.0"),
    ],
)
def test_host_profiles(host: str, iface: str, version_: str | None, status: Status, note: str) -> None:
    support = get_host(host).lookup(iface, version_)
    assert (support.status, support.note) == (status, note)


def test_host_names_match_the_cli_choices() -> None:
    from checker.cli import HOST_NAMES

    assert tuple(HOSTS) == HOST_NAMES


# --------------------------------------------------------------------------- prefetch


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["a.wasm", "b.wasm"], ["a.wasm", "b.wasm"]),
        (["--format", "json", "a", "-o", "out", "b", "--fail-on=warning"], ["a", "b"]),
        (["--history", "h.jsonl", "a", "b", "--color"], ["a", "b"]),
        (["--", "-odd.wasm", "b"], ["-odd.wasm", "b"]),
        (["--list-rules"], []),
        (["--samples", "counter"], []),
        (["a", "b", "--help"], []),
    ],
)
def test_prefetch_candidates(args: list[str], expected: list[str]) -> None:
    assert tool._candidates(args) == expected


def test_prefetched_runs_are_used_and_cleared() -> None:
    a, b = str(build("counter", "v1")), str(build("counter", "v2"))
    tool.prefetch(["--format", "json", a, b])
    try:
        exe = tool.wasm_tools_executable()
        assert exe is not None and set(tool._prefetched) == {(exe, a), (exe, b)}
        worlds = load_worlds([a, b])
        assert [w.source for w in worlds] == [a, b]
        assert tool._prefetched == {}
    finally:
        tool.discard_prefetched()
    tool.prefetch([a, "does-not-exist.wasm"])  # anything odd: left to the normal path
    assert tool._prefetched == {}


# --------------------------------------------------------------------------- --history


@pytest.fixture(scope="module")
def counter_histories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real histories of counter v2 workers: ``good`` only reads (replays on v3), ``bad`` also
    increments (``increment`` is gone in v3)."""
    from pytest_hotupdate.engine import Runtime
    from pytest_hotupdate.registry import Registry

    folder = tmp_path_factory.mktemp("counter-histories")
    registry = Registry(Runtime())
    registry.add("counter", build("counter", "v2"))
    good, bad = registry.worker("counter", name="good"), registry.worker("counter", name="bad")
    good.invoke("golem:counter/api.{get}")
    bad.invoke("golem:counter/api.{get}")
    bad.invoke("golem:counter/api.{increment}", 5)
    paths = {}
    for worker in (good, bad):
        paths[worker.name] = folder / f"{worker.name}.oplog.jsonl"
        worker.save_oplog(paths[worker.name])
    return paths


def test_history_verdicts(counter_histories: dict[str, Path]) -> None:
    v2, v3 = str(build("counter", "v2")), str(build("counter", "v3"))
    good, bad = counter_histories["good"], counter_histories["bad"]
    (pair,) = Checker(histories=[good]).check([v2, v3]).pairs
    assert pair.automatic.value == "replay-verified"
    assert "1 recorded history(ies), 1 invocation(s)" in pair.automatic.reason
    assert "2 static finding(s) concern items these histories never used" in pair.automatic.reason
    report = Checker(histories=[good, bad]).check([v2, v3])
    (pair,) = report.pairs
    assert pair.automatic.value == "diverges"
    assert pair.automatic.reason.startswith(
        f"{bad} diverges: invocation #1 golem:counter/api.{{increment}}(5): the function no "
        "longer exists")
    assert [h.ok for h in pair.automatic.histories] == [True, False]
    assert report.exit_code == 1 and len(report.diverging()) == 1
    never = Checker(histories=[good, bad], fail_on="never").check([v2, v3])
    assert never.exit_code == 0 and never.failing_histories() == []
    # several old revisions: each pair carries the histories replayed on the shared newest one
    report = Checker(histories=[good]).check([str(build("counter", "v1")), v2, v3])
    assert [p.automatic.value for p in report.pairs] == ["replay-verified"] * 2


def test_history_on_the_command_line(counter_histories: dict[str, Path], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(counter_histories["bad"].parent)
    v2, v3 = str(build("counter", "v2")), str(build("counter", "v3"))
    result = CliRunner().invoke(command(), ["--format", "json", "--history", "bad.oplog.jsonl",
                                            v2, v3])
    assert result.exit_code == 1  # a divergence fails the run (error level)
    doc = json.loads(result.stdout)
    assert doc["exit-code"] == 1
    automatic = doc["pairs"][0]["verdicts"]["automatic"]
    assert automatic["verdict"] == "diverges"
    (history,) = automatic["histories"]
    assert (history["path"], history["ok"], history["invocations"]) == ("bad.oplog.jsonl",
                                                                       False, 2)
    assert history["divergence"].startswith(
        "invocation #1 golem:counter/api.{increment}(5): the function no longer exists: ")
    text = CliRunner().invoke(command(), ["--history", "bad.oplog.jsonl", v2, v3]).stdout
    assert "automatic: diverges" in text
    assert "history bad.oplog.jsonl: 2 invocation(s), diverges" in text
    (tmp_path / "broken.oplog.jsonl").write_text('{"oplog": 1, "component": "counter", '
                                                 '"revision": 0}\n{"kind": "x"', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    broken = CliRunner().invoke(command(), ["--history", "broken.oplog.jsonl", v2, v3])
    assert broken.exit_code == 2
    assert broken.stderr.strip() == (
        "hotupdate-check: error: broken.oplog.jsonl: cannot replay: line 2: malformed JSON at "
        "column 13: Expecting ',' delimiter")


# --------------------------------------------------------------------------- configuration


def test_config_file_with_tool_table(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[tool.hotupdate]\nhost = 'wasmcloud'\nignore-rules = ['doc-changed']\n",
                   encoding="utf-8")
    config = load_config(cfg)
    assert (config.host, config.ignore_rules, config.source) == ("wasmcloud", ("doc-changed",), str(cfg))
    assert Checker(config=config).host == "wasmcloud"
    assert Checker(config=config, host="wasi").host == "wasi"


def test_pyproject_without_table_gives_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    assert load_config(start=tmp_path).source is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[tool.hotupdate.ignore]]\nreason = 'x'\n", "a fingerprint is required"),
        ("[[tool.hotupdate.ignore]]\nfingerprint = 'a'\nreason = 'x'\nwhy = 1\n", "unknown key(s) why"),
        ("[tool.hotupdate]\nhost = 'aws'\n", "host = 'aws'"),
        ("[tool.hotupdate]\nignore-rules = 'doc-changed'\n", "must be a list"),
    ],
)
def test_config_errors(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=None) as info:
        load_config(start=tmp_path)
    assert fragment in str(info.value) and str(tmp_path / "pyproject.toml") in str(info.value)


# --------------------------------------------------------------------------- lightness


def test_checker_imports_neither_pytest_nor_the_runtime() -> None:
    code = (
        "import sys\n"
        "import checker.cli\n"
        "checker.cli.main(['--version'])\n"
        "assert 'click' not in sys.modules, 'click imported by --version'\n"
        "import checker.api, checker.report, checker.wit, checker.config, checker.diff\n"
        "checker.cli.command()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest', "
        "'pytest_hotupdate', 'wasmtime', 'hypothesis'))\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env_without_bytecode_flag(), cwd=REPO, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("hotupdate-check ")


def test_version_matches_the_distribution() -> None:
    import importlib.metadata

    assert version() == importlib.metadata.version("pytest-hotupdate")


# --------------------------------------------------------------------------- docs, packaging, bench


def test_docs_list_every_rule() -> None:
    docs = (REPO / "docs" / "checker.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert f"| `{rule.id}` | {rule.severity.value} |" in docs, rule.id


def test_pre_commit_hooks_and_console_script() -> None:
    hooks = (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert "- id: hotupdate-check\n" in hooks and "- id: hotupdate-check-wit\n" in hooks
    assert hooks.count("entry: hotupdate-check\n") == 2
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'hotupdate-check = "checker.cli:main"' in pyproject


def test_bench_figures_shape() -> None:
    from bench.checker_bench import checker_figures, format_rows

    rows = checker_figures(quick=True, repeat=1)
    assert [r[0] for r in rows] == [
        "hotupdate-check counter v2 -> v3 WAT, --quick", "hotupdate-check --version"]
    for _figure, value, baseline, ratio, target, passed, informational in rows:
        assert " ms (fastest-run ratio " in value and baseline and ratio > 0 and target
        assert isinstance(passed, bool) and isinstance(informational, bool)
    assert "| figure" in format_rows(rows)


# --------------------------------------------------------------------------- --history, for real


def test_history_replayed_by_the_runtime(registry, sample, tmp_path: Path,  # type: ignore[no-untyped-def]
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The dice README: v1 -> v2 replays unless a history contains `roll`; the counter: v2 -> v3
    is statically incompatible, yet a worker that only called `get` replays fine."""
    registry.add("dice", sample("dice", "v1"))
    worker = registry.worker("dice", host_functions={"golem:dice/oracle.{ask}": lambda q: 3})
    worker.invoke("golem:dice/api.{consult}", "x")
    worker.invoke("golem:dice/api.{total}")
    worker.save_oplog(tmp_path / "dice-good.jsonl")
    worker.invoke("golem:dice/api.{roll}")
    worker.save_oplog(tmp_path / "dice-roll.jsonl")
    registry.add("counter", sample("counter", "v2"))
    counter = registry.worker("counter")
    counter.invoke("golem:counter/api.{get}")
    counter.save_oplog(tmp_path / "counter-get.jsonl")
    monkeypatch.chdir(tmp_path)
    dice_v1, dice_v2 = str(sample("dice", "v1")), str(sample("dice", "v2"))

    result = CliRunner().invoke(
        command(), ["--format", "json", "--history", "dice-good.jsonl", dice_v1, dice_v2])
    automatic = json.loads(result.stdout)["pairs"][0]["verdicts"]["automatic"]
    assert result.exit_code == 0, result.output
    assert automatic["verdict"] == "replay-verified"
    assert automatic["histories"] == [
        {"path": "dice-good.jsonl", "ok": True, "divergence": None, "invocations": 2}]

    result = CliRunner().invoke(
        command(), ["--format", "json", "--history", "dice-good.jsonl", "--history",
                    "dice-roll.jsonl", dice_v1, dice_v2])
    automatic = json.loads(result.stdout)["pairs"][0]["verdicts"]["automatic"]
    assert automatic["verdict"] == "diverges"
    assert automatic["reason"].startswith(
        "dice-roll.jsonl diverges: invocation #2 golem:dice/api.{roll}(): expected host call")

    (pair,) = Checker(histories=[tmp_path / "counter-get.jsonl"]).check(
        [sample("counter", "v2"), sample("counter", "v3")]).pairs
    assert pair.automatic.value == "replay-verified", pair.automatic.reason
    assert {f.rule_id for f in pair.findings} >= {"export-function-removed"}


# --------------------------------------------------------------------------- model


def test_world_identity_leaves_out_its_type_table() -> None:
    from checker.model import TypeKey

    key = TypeKey("a:b/c", "item", "1.0.0")
    w1 = World("x", "x", (), (), types={key: None})  # type: ignore[dict-item]
    assert w1 == World("x", "x", (), ())  # `types` is left out of comparisons


@pytest.mark.parametrize(
    ("text", "configured"),
    [
        ("[project]\nname = 'pytest-hotupdate'\n", False),
        ("[tool.hotupdate]\nhost = 'wasi'\n", True),
        ("[tool]\nhotupdate = { host = 'wasi' }\n", True),
        ("tool.hotupdate.host = 'wasi'\n", True),
        ("[ tool . hotupdate ]\nhost = 'wasi'\n", True),
        ('["tool"."hotupdate"]\nhost = "wasi"\n', True),
    ],
)
def test_pyproject_table_forms(tmp_path: Path, text: str, configured: bool) -> None:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    config = load_config(start=tmp_path)
    assert (config.host == "wasi") is configured
