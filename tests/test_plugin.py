"""The pytest plugin, exercised through pytester on small example suites.

Most runs are in-process (fast); the import-cost check and the pytest-xdist run
(``test_plugin_xdist.py``) use subprocesses.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import typing
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.plugin import HotUpdate, UpdateSummary, _safe_name
from pytest_hotupdate.registry import Registry, WorkerOptions
from sample_components.build import build

pytest_plugins = ["pytester"]

C = "golem:counter/api"


@pytest.fixture(scope="module")
def wasm() -> Callable[[str, str], Path]:
    """``wasm("counter", "v1")``: the built sample (cached on disk)."""
    return build


@pytest.fixture
def counter_option(wasm: Callable[[str, str], Path]) -> str:
    paths = ",".join(str(wasm("counter", v)) for v in ("v1", "v2", "v3"))
    return f"--hotupdate-component=counter={paths}"


@pytest.fixture
def faulty_option(wasm: Callable[[str, str], Path]) -> str:
    return f"--hotupdate-component=faulty={wasm('faulty', 'v1')},{wasm('faulty', 'v2')}"


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


# --------------------------------------------------------------------------- registration


def test_help_shows_the_hotupdate_group(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "hot updates of WebAssembly components (pytest-hotupdate):",
        "  --hotupdate-component=NAME=OLD.wasm,NEW.wasm",
        "  --hotupdate-baseline=[[]NAME=]PATH",
        "  --hotupdate-record=DIR",
        "  --hotupdate-replay=DIR",
        "  --hotupdate-against=[[]NAME=]NEW.wasm",
    ])
    for ini in ("hotupdate_components (linelist)", "hotupdate_baseline (linelist)",
                "hotupdate_modes (args)", "hotupdate_cache_dir (string)",
                "hotupdate_oplog_lines (string)"):
        result.stdout.fnmatch_lines([f"  {ini}:*"])


def test_markers_are_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.hotupdate_replay
        def test_marked():
            pass
    """)
    result = _run(pytester, "--strict-markers")
    result.assert_outcomes(passed=1)
    assert "PytestUnknownMarkWarning" not in result.stdout.str()
    markers = _run(pytester, "--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.hotupdate(component=None, *, paths=*",
                                  "@pytest.mark.hotupdate_replay: *"])


def test_loading_the_plugin_does_not_import_the_runtime() -> None:
    code = ("import sys, pytest_hotupdate.plugin; "
            "print(sorted(m for m in ('wasmtime', 'hypothesis', 'pytest_hotupdate.worker') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]"


# --------------------------------------------------------------------------- settings


def test_the_hotupdate_fixture_deploys_configured_components_on_first_use(
    pytester: pytest.Pytester, counter_option: str
) -> None:
    pytester.makepyfile(f"""
        def test_counter(hotupdate, hotupdate_config, hotupdate_runtime):
            assert [p.name.split("-")[:2] for p in hotupdate_config.components["counter"]] == [
                ["counter", "v1"], ["counter", "v2"], ["counter", "v3"]]
            assert hotupdate.paths("counter") == hotupdate_config.components["counter"]
            assert hotupdate.runtime is hotupdate_runtime
            worker = hotupdate.worker("counter", revision=0)  # deploys revisions 0..2
            assert hotupdate.revisions("counter") == [0, 1, 2]
            assert worker.invoke("{C}.{{increment}}", 4) == 4
            assert hotupdate.workers == [worker]
            assert hotupdate.path is None and hotupdate.baseline("counter") is None

        def test_each_test_gets_a_fresh_registry(hotupdate):
            assert hotupdate.workers == []
            assert hotupdate.deploy("counter") == [0, 1, 2]
            assert hotupdate.add("counter", hotupdate.paths("counter")[0]) == 3
    """)
    result = _run(pytester, counter_option)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["hotupdate: counter: 3 revisions (counter-v1-*.wasm, *)"])


def test_the_fixture_worker_takes_exactly_the_registry_worker_options() -> None:
    registry = inspect.signature(Registry.worker).parameters
    facade = inspect.signature(HotUpdate.worker).parameters

    def positional(params: typing.Mapping[str, inspect.Parameter]) -> list[inspect.Parameter]:
        return [p for p in params.values() if p.kind is p.POSITIONAL_OR_KEYWORD]

    assert positional(facade) == positional(registry)
    keywords = {n: p for n, p in registry.items() if p.kind is p.KEYWORD_ONLY}
    hints = typing.get_type_hints(Registry.worker)
    assert {n: hints[n] for n in keywords} == typing.get_type_hints(WorkerOptions)
    assert WorkerOptions.__optional_keys__ == set(keywords)  # every option may be left out
    (options,) = [p for p in facade.values() if p.kind is p.VAR_KEYWORD]
    assert options.annotation == "Unpack[WorkerOptions]"
    assert not [p for p in facade.values() if p.kind is p.KEYWORD_ONLY]


def test_the_fixture_worker_passes_every_option_on(pytester: pytest.Pytester,
                                                   counter_option: str) -> None:
    pytester.makepyfile(f"""
        import pytest
        from pytest_hotupdate.host import SandboxGrants
        from pytest_hotupdate.worker import WorkerLimits

        def test_options(hotupdate):
            limits = WorkerLimits(deadline_seconds=30.0)
            worker = hotupdate.worker("counter", "w", 0, {{"A": "1"}}, host_functions={{}},
                                      grants=SandboxGrants(), limits=limits,
                                      config={{"color": "blue"}}, trap_unknown_imports=True)
            assert worker.invoke("{C}.{{increment}}", 2) == 2
            assert worker.grants.env == (("A", "1"),)
            assert worker.grants.config == (("color", "blue"),)
            assert worker.grants.trap_unknown_imports
            assert worker.limits == limits

        def test_unknown_options_are_refused(hotupdate):
            with pytest.raises(TypeError, match="grant"):
                hotupdate.worker("counter", grant=SandboxGrants())
    """)
    _run(pytester, counter_option).assert_outcomes(passed=2)


def test_ini_settings_and_baseline(pytester: pytest.Pytester,
                                   wasm: Callable[[str, str], Path]) -> None:
    for rev in ("v1", "v2", "v3"):
        (pytester.path / f"counter-{rev}.wasm").write_bytes(wasm("counter", rev).read_bytes())
    pytester.makeini("""
        [pytest]
        hotupdate_components =
            counter = counter-v2.wasm, counter-v3.wasm
        hotupdate_modes = manual
        hotupdate_cache_dir = compiled
        hotupdate_oplog_lines = 7
    """)
    pytester.makepyfile("""
        import pytest

        def test_settings(hotupdate_config, hotupdate):
            assert [p.name for p in hotupdate_config.components["counter"]] == [
                "counter-v1.wasm", "counter-v2.wasm", "counter-v3.wasm"]
            assert hotupdate.baseline("counter").name == "counter-v1.wasm"
            assert hotupdate_config.modes == ("manual",)
            assert hotupdate_config.cache_dir.name == "compiled"
            assert hotupdate_config.oplog_lines == 7
            assert hotupdate.runtime.components.cache_dir == hotupdate_config.cache_dir

        @pytest.mark.hotupdate
        def test_paths(hotupdate):
            assert hotupdate.path.mode == "manual"
    """)
    result = _run(pytester, "--hotupdate-baseline=counter-v1.wasm", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([
        ("hotupdate: counter: 3 revisions (counter-v1.wasm, counter-v2.wasm, counter-v3.wasm, "
        "baseline counter-v1.wasm)"),
        "*test_paths?counter-0-to-2-manual? PASSED*",
        "*test_paths?counter-1-to-2-manual? PASSED*",
    ])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hotupdate-component=counter"], ("--hotupdate-component expects NAME=OLD.wasm,NEW.wasm"
                                            "[[],...] (oldest first), got 'counter'")),
        (["--hotupdate-component=counter=missing.wasm"],
         "--hotupdate-component counter: no such component file: missing.wasm"),
        (["--hotupdate-baseline=missing.wasm"],
         ("--hotupdate-baseline missing.wasm: name the component (NAME=PATH) when 0 components "
         "are configured")),
        (["--hotupdate-against=x.wasm"], "--hotupdate-against needs --hotupdate-replay DIR"),
        (["--hotupdate-replay=."], "--hotupdate-replay needs --hotupdate-against NEW.wasm*"),
        (["--hotupdate-replay=nowhere", "--hotupdate-against=x.wasm"],
         "--hotupdate-against: no such component file: x.wasm"),
        (["-o", "hotupdate_modes=automatic sideways"],
         ("hotupdate_modes: unknown update mode 'sideways' (use automatic/auto or "
         "manual/snapshot)")),
        (["-o", "hotupdate_oplog_lines=many"],
         "hotupdate_oplog_lines must be an integer, got 'many'"),
    ],
)
def test_bad_settings_are_usage_errors(pytester: pytest.Pytester, args: list[str],
                                       message: str) -> None:
    result = _run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


# --------------------------------------------------------------------------- the marker


def test_the_marker_parametrises_over_update_paths(pytester: pytest.Pytester,
                                                   counter_option: str) -> None:
    pytester.makepyfile(f"""
        import pytest

        @pytest.mark.hotupdate("counter")
        def test_to_latest(hotupdate):
            path = hotupdate.path
            assert hotupdate.revisions("counter") == [0, 1, 2]  # deployed before the test
            assert (path.component, path.target) == ("counter", 2)

        @pytest.mark.hotupdate(paths="adjacent", modes=["auto"])
        def test_adjacent(hotupdate_path):
            assert hotupdate_path.target == hotupdate_path.source + 1

        @pytest.mark.hotupdate("counter", paths="all", modes="snapshot")
        def test_all(hotupdate):
            pass

        @pytest.mark.hotupdate("counter", paths=[(2, 0)], modes=["automatic"])
        def test_downgrade(hotupdate):
            worker = hotupdate.worker("counter", revision=hotupdate.path.source)
            worker.invoke("{C}.{{get}}")
            assert worker.update(hotupdate.path.target, hotupdate.path.mode).succeeded

        @pytest.mark.parametrize("by", [1, 2])
        @pytest.mark.hotupdate("counter", paths=[(0, 1)], modes=["automatic"])
        def test_with_parametrize(hotupdate, by):
            worker = hotupdate.worker("counter", revision=0)
            worker.invoke("{C}.{{increment}}", by)
            assert worker.update(1).succeeded
    """)
    result = _run(pytester, counter_option, "--collect-only", "-q")
    result.stdout.fnmatch_lines([
        "*::test_to_latest[[]counter-0-to-2-automatic[]]",
        "*::test_to_latest[[]counter-0-to-2-manual[]]",
        "*::test_to_latest[[]counter-1-to-2-automatic[]]",
        "*::test_to_latest[[]counter-1-to-2-manual[]]",
        "*::test_adjacent[[]counter-0-to-1-automatic[]]",
        "*::test_adjacent[[]counter-1-to-2-automatic[]]",
        "*::test_all[[]counter-0-to-1-manual[]]",
        "*::test_all[[]counter-0-to-2-manual[]]",
        "*::test_all[[]counter-1-to-2-manual[]]",
        "*::test_downgrade[[]counter-2-to-0-automatic[]]",
        "*::test_with_parametrize[[]counter-0-to-1-automatic-1[]]",
        "*::test_with_parametrize[[]counter-0-to-1-automatic-2[]]",
        "12 tests collected*",
    ])
    _run(pytester, counter_option).assert_outcomes(passed=12)


def test_the_marker_takes_revision_files(pytester: pytest.Pytester,
                                         wasm: Callable[[str, str], Path]) -> None:
    pytester.makepyfile(f"""
        import pytest

        FILES = [{str(wasm("faulty", "v1"))!r}, {str(wasm("faulty", "v2"))!r}]

        @pytest.mark.hotupdate("faulty", revisions=FILES, modes=["automatic"])
        def test_update(hotupdate):
            worker = hotupdate.worker("faulty", revision=hotupdate.path.source)
            worker.invoke("golem:faulty/api.{{get}}")
            assert worker.update(hotupdate.path.target).succeeded
            assert [p.name for p in hotupdate.paths("faulty")] == [
                p.rsplit("/", 1)[-1] for p in FILES]
    """)
    _run(pytester).assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("hotupdate", "name the component (configured: none)"),
        ("hotupdate('counter')", ("component 'counter' has no revisions: give revisions=[...] or "
                                 "configure them (--hotupdate-component counter=OLD.wasm,NEW.wasm"
                                 " or the hotupdate_components ini setting)")),
        ("hotupdate('c', revisions=['a.wasm'])", "component 'c' needs at least 2 revisions, has 1"),
        ("hotupdate('c', revisions=['a', 'b'], paths='sideways')",
         ("paths='sideways': use one of to-latest, adjacent, all or a list of (source, target) "
         "pairs")),
        ("hotupdate('c', revisions=['a', 'b'], paths=[(0, 2)])",
         "bad update path (0, 2): two different revisions in 0..1"),
        ("hotupdate('c', revisions=['a', 'b'], modes=['swap'])",
         "unknown update mode 'swap' (use automatic/auto or manual/snapshot)"),
        ("hotupdate('c', 'd')", ("unexpected arguments 'd' (takes component, paths=, modes=, "
                                "revisions=)")),
    ],
)
def test_bad_marker_arguments_are_collection_errors(pytester: pytest.Pytester, marker: str,
                                                    message: str) -> None:
    pytester.makepyfile(f"""
        import pytest

        @pytest.mark.{marker}
        def test_marked(hotupdate):
            pass
    """)
    result = _run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([
        (f"@pytest.mark.hotupdate on test_bad_marker_arguments_are_collection_errors.py::"
        f"test_marked: {message}")])
    assert "Traceback" not in result.stdout.str()


def test_the_marker_needs_the_fixture(pytester: pytest.Pytester, counter_option: str) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.hotupdate
        def test_marked():
            pass
    """)
    result = _run(pytester, counter_option)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([("*: the test must use the `hotupdate` fixture (or "
                                 "`hotupdate_path`)")])


# --------------------------------------------------------------------------- reports


FAILING_UPDATE = """
    from pytest_hotupdate.assertions import assert_update_succeeds

    def test_buggy_revision(hotupdate):
        worker = hotupdate.worker("faulty", name="f1", revision=0)
        for by in (5, 7):
            worker.invoke("golem:faulty/api.{increment}", by)
        assert_update_succeeds(worker, 1)

    def test_good_update(hotupdate):
        worker = hotupdate.worker("faulty", name="f2", revision=0)
        worker.invoke("golem:faulty/api.{get}")
        assert_update_succeeds(worker, 1)
        assert_update_succeeds(worker, 0)

    def test_manual_update_without_snapshot(hotupdate):
        worker = hotupdate.worker("faulty", name="f3", revision=0)
        assert not worker.update(1, "manual").succeeded
"""


def test_a_failing_test_shows_the_divergence_and_the_oplogs(pytester: pytest.Pytester,
                                                           faulty_option: str) -> None:
    pytester.makepyfile(FAILING_UPDATE)
    result = _run(pytester, faulty_option)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "E * AssertionError: automatic update of worker f1 (faulty) from revision 0 to 1 failed *",
        "E *   diverging invocation #0: golem:faulty/api.{increment}(5)",
        "E *     expected (recorded):  5",
        "E *     actual (replayed on revision 1): 10",
        "E *     why: the replayed result differs from the recorded one",
        "E *   details: Automatic update failed: invocation #0 *",
        "E *     #0 golem:faulty/api.{increment}(5) -> 5   <-- diverged here",
        "E *     #1 golem:faulty/api.{increment}(7) -> 12",
        ("E *   the worker stays on revision 0; update counts (pending, successful, failed): "
        "(0, 0, 1)"),
        "*- hotupdate oplog: worker f1 (faulty, revision 0) -*",
        '{"oplog": 1, "component": "faulty", "revision": 0, "worker": "f1"}',
        '{"kind": "invocation", "function": "golem:faulty/api.{increment}", "params": ["5"]}',
        '{"kind": "completed", "result": "5"}',
        '{"kind": "failed-update", *"details": "Automatic update failed: *',
    ])
    # Only the failing test's workers are attached, and pytest's own frames are hidden.
    assert "worker f2" not in result.stdout.str()
    assert "raise AssertionError" not in result.stdout.str()


def test_long_oplogs_are_cut_in_the_failure_report(pytester: pytest.Pytester,
                                                  faulty_option: str) -> None:
    pytester.makepyfile("""
        def test_many(hotupdate):
            worker = hotupdate.worker("faulty", revision=0)
            for _ in range(30):
                worker.invoke("golem:faulty/api.{get}")
            assert False
    """)
    result = _run(pytester, faulty_option, "-o", "hotupdate_oplog_lines=4")
    result.stdout.fnmatch_lines([
        "*- hotupdate oplog: worker faulty-1 (faulty, revision 0) -*",
        '{"oplog": 1, *}',
        "... 56 earlier entries omitted (hotupdate_oplog_lines = 4)",
        '{"kind": "invocation", *}',
        '{"kind": "completed", "result": "0"}',
        '{"kind": "invocation", *}',
        '{"kind": "completed", "result": "0"}',
        "*short test summary info*",
    ])


def test_terminal_summary_tables_the_updates(pytester: pytest.Pytester,
                                             faulty_option: str) -> None:
    pytester.makepyfile(FAILING_UPDATE)
    result = _run(pytester, faulty_option)
    result.stdout.fnmatch_lines([
        "*= hot updates =*",
        "component  from -> to  mode       outcome    updates    time",
        "faulty     0 -> 1      automatic  failed           1  * ms",
        "faulty     0 -> 1      automatic  succeeded        1  * ms",
        "faulty     0 -> 1      manual     failed           1  * ms",
        "faulty     1 -> 0      automatic  succeeded        1  * ms",
        "4 update(s) in 3 test(s): 2 succeeded, 2 failed",
    ])
    verbose = _run(pytester, faulty_option, "-v")
    verbose.stdout.fnmatch_lines([
        "*= hot updates =*",
        "test * worker  component  from -> to  mode       outcome    time",
        ("test_terminal_summary_tables_the_updates.py::test_buggy_revision * f1 * faulty * "
        "0 -> 1 * automatic  failed * ms"),
    ])


def test_no_summary_when_nothing_was_updated(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = _run(pytester)
    assert "hot updates" not in result.stdout.str()
    assert "hotupdate:" not in result.stdout.str()  # no report header either


def test_junit_xml_has_a_property_per_update(pytester: pytest.Pytester,
                                             faulty_option: str) -> None:
    pytester.makepyfile(FAILING_UPDATE)
    _run(pytester, faulty_option, "--junitxml=report.xml")
    root = ET.parse(pytester.path / "report.xml").getroot()
    properties = {
        case.get("name"): [(p.get("name"), p.get("value")) for p in case.iter("property")]
        for case in root.iter("testcase")
    }
    good = properties["test_good_update"]
    assert [name for name, _ in good] == ["hotupdate.update", "hotupdate.update"]
    assert good[0][1].startswith("faulty 0 -> 1 automatic succeeded in ")
    assert good[0][1].endswith(" ms (worker f2)")
    (_name, value), = properties["test_buggy_revision"]
    summary = UpdateSummary.parse(value)
    assert summary is not None
    assert (summary.component, summary.worker, summary.source, summary.target, summary.mode,
            summary.succeeded) == ("faulty", "f1", 0, 1, "automatic", False)
    assert summary.details.startswith("Automatic update failed: invocation #0 ")
    (_, value), = properties["test_manual_update_without_snapshot"]
    assert value.startswith("faulty 0 -> 1 manual failed in ")
    assert value.endswith("failed to get a snapshot for manual update: revision 0 does not "
                          "export golem:api/save-snapshot")


@pytest.mark.parametrize(
    "summary",
    [
        UpdateSummary("counter", "c-1", 0, 2, "manual", True, 0.0012),
        UpdateSummary("my comp", "w (x)", 3, 1, "automatic", False, 1.5, "it: failed\nbadly"),
    ],
)
def test_update_properties_round_trip(summary: UpdateSummary) -> None:
    parsed = UpdateSummary.parse(summary.as_property())
    assert parsed == summary
    assert UpdateSummary.parse("something else") is None


# --------------------------------------------------------------------------- teardown


def test_workers_are_closed_after_the_test(pytester: pytest.Pytester,
                                           faulty_option: str) -> None:
    pytester.makepyfile("""
        import threading

        WORKERS = []

        def test_async(hotupdate):
            worker = hotupdate.worker("faulty", revision=0)
            assert worker.invoke_async("golem:faulty/api.{increment}", 3).result() == 3
            WORKERS.append(worker)

        def test_closed():
            assert not any(t.name.startswith("worker-faulty") for t in threading.enumerate())
            # closed (its Store dropped): used again, it is rebuilt from its oplog
            assert WORKERS[0].invoke("golem:faulty/api.{increment}", 1) == 4
    """)
    _run(pytester, faulty_option).assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("tests/test_x.py::test_a[counter-0-to-1-manual]",
         "tests_test_x.py__test_a[counter-0-to-1-manual]"),
        ("a b/c", "a_b_c"),
        ("::", "_"),
    ],
)
def test_safe_names(text: str, name: str) -> None:
    assert _safe_name(text) == name


def test_safe_names_of_long_ids_stay_unique() -> None:
    a, b = _safe_name("x" * 300 + "a"), _safe_name("x" * 300 + "b")
    assert a != b and len(a) <= 120


NESTED = """
import pytest

from pytest_hotupdate.errors import InvocationError
from pytest_hotupdate.registry import Registry

pytest_plugins = ["pytester"]


def test_a_nested_session(pytester, hotupdate_runtime):
    Registry(hotupdate_runtime).add("faulty", {faulty!r})  # wasmtime's handlers are in place
    pytester.makepyfile("def test_inner(): pass")
    pytester.runpytest_inprocess().assert_outcomes(passed=1)


def test_then_a_trap(hotupdate_runtime):
    registry = Registry(hotupdate_runtime)
    registry.add("faulty", {faulty!r})
    with pytest.raises(InvocationError, match="trapped"):
        registry.worker("faulty").invoke("golem:faulty/api.{{trap}}")
"""


def test_a_nested_session_keeps_wasmtimes_signal_handlers(pytester: pytest.Pytester,
                                                          wasm: Callable[[str, str], Path]) -> None:
    # pytest's faulthandler teardown in the nested session would restore the handlers from
    # before wasmtime's, and the trap would kill the process; the plugin keeps it out.
    pytester.makepyfile(NESTED.format(faulty=str(wasm("faulty", "v1"))))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly",
                                           timeout=120)
    result.assert_outcomes(passed=2)


def test_deploying_an_unconfigured_component_names_the_configured_ones(
    pytester: pytest.Pytester, counter_option: str
) -> None:
    pytester.makepyfile("""
        import pytest
        from pytest_hotupdate.errors import RegistryError

        def test_deploy(hotupdate):
            with pytest.raises(RegistryError, match=r"no revisions configured for component "
                                                    r"'cart' \\(configured: counter\\)"):
                hotupdate.deploy("cart")
            with pytest.raises(RegistryError, match="no component named 'cart'"):
                hotupdate.worker("cart")
    """)
    _run(pytester, counter_option).assert_outcomes(passed=1)
