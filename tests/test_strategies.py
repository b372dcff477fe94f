"""Hypothesis strategies for invocation histories (``values`` is tested with the WIT values)."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from pytest_hotupdate.component import FunctionInfo
from pytest_hotupdate.errors import ComponentLoadError, InvocationError
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.strategies import Call, invocations, run_history
from pytest_hotupdate.values import Handle, HandleType, Prim
from sample_components.build import build

pytest_plugins = ["pytester"]

C = "golem:counter/api"
F = "golem:faulty/api"
FAST = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def counter(registry: Registry, sample) -> Registry:  # type: ignore[no-untyped-def]
    for revision in ("v1", "v3"):
        registry.add("counter", sample("counter", revision))
    return registry


def test_histories_call_exported_functions_with_valid_arguments(counter: Registry) -> None:
    component = counter.component("counter", 0)

    @FAST
    @given(history=invocations(component, max_size=5))
    def check(history: list[Call]) -> None:
        assert len(history) <= 5
        assert {c.function for c in history} <= {f"{C}.{{increment}}", f"{C}.{{get}}"}
        worker = counter.worker("counter", revision=0)
        results = run_history(worker, history)  # raises if an argument did not fit
        assert len(results) == len(history) == len(worker.invocations)

    check()


def test_snapshot_exports_are_left_out_by_default(counter: Registry) -> None:
    component = counter.component("counter", 1)  # v3: get, set, save, load
    drawn: set[str] = set()

    @FAST
    @given(history=invocations(component, min_size=1))
    def check(history: list[Call]) -> None:
        drawn.update(c.function for c in history)

    check()
    assert drawn == {f"{C}.{{get}}", f"{C}.{{set}}"}


def test_functions_by_short_name_and_with_argument_strategies(counter: Registry) -> None:
    worker = counter.worker("counter", revision=0)

    @FAST
    @given(history=invocations(worker, {"increment": st.tuples(st.integers(1, 3)), "get": None},
                               min_size=2, max_size=4))
    def check(history: list[Call]) -> None:
        assert 2 <= len(history) <= 4
        for call in history:
            if call.function.endswith("{increment}"):
                assert call.args[0] in (1, 2, 3)
            else:
                assert call == Call(f"{C}.{{get}}")

    check()
    with pytest.raises(InvocationError, match="exports no function"):
        invocations(worker, ["nope"])
    with pytest.raises(ValueError, match="names no function"):
        invocations(worker, [])
    with pytest.raises(TypeError, match="invocations\\(\\) needs a component"):
        invocations(42)


def test_a_path_is_loaded_on_first_draw(tmp_path: Path) -> None:
    strategy = invocations(tmp_path / "missing.wasm")  # no error yet: nothing is loaded
    with pytest.raises(ComponentLoadError, match="no such file"):
        find(strategy, lambda history: True)
    history = find(invocations(str(build("counter", "v1")), ["get"]), lambda h: len(h) == 2)
    assert history == [Call(f"{C}.{{get}}")] * 2


def test_calls_show_their_arguments_in_wave() -> None:
    call = Call(f"{C}.{{greet}}", ("hi", 3), (Prim("string"), Prim("u8")))
    assert repr(call) == f'{C}.{{greet}}("hi", 3)'
    assert repr(Call("f", ("x",))) == "f('x')"  # without types: Python reprs
    assert call == Call(f"{C}.{{greet}}", ("hi", 3))  # the types do not take part


def test_resource_handles_come_from_earlier_calls() -> None:
    cart = HandleType(True, "cart")
    new = FunctionInfo("shop/api", "[constructor]cart", "shop/api.{cart.new}", (), cart)
    add = FunctionInfo("shop/api", "[method]cart.add", "shop/api.{cart.add}",
                       (("self", HandleType(False, "cart")), ("n", Prim("u8"))), None)
    component = SimpleNamespace(functions={new.golem_name: new, add.golem_name: add})
    seen_methods = []

    @settings(max_examples=150, deadline=None, database=None)
    @given(history=invocations(component, max_size=8))
    def check(history: list[Call]) -> None:
        made = 0
        for call in history:
            if call.function == new.golem_name:
                made += 1
            else:
                handle = call.args[0]
                assert isinstance(handle, Handle) and 1 <= handle.id <= made
                seen_methods.append(handle.id)

    check()
    assert seen_methods and max(seen_methods) > 1


def test_run_history_can_go_on_after_a_failed_invocation(registry: Registry, sample) -> None:  # type: ignore[no-untyped-def]
    registry.add("faulty", sample("faulty", "v1"))
    worker = registry.worker("faulty")
    history = [Call(f"{F}.{{increment}}", (2,)), Call(f"{F}.{{trap}}"),
               Call(f"{F}.{{increment}}", (3,))]
    assert run_history(worker, history, ignore_errors=True) == [2, None, 5]
    with pytest.raises(InvocationError, match="trapped"):
        run_history(worker, history)


PROPERTY_TEST = """
from hypothesis import given, settings

from pytest_hotupdate.assertions import assert_state_preserved
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.strategies import invocations, run_history

V1, V2 = {v1!r}, {v2!r}

@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(history=invocations(V1, functions=["increment", "get", "echo-bytes", "recurse"],
                           max_size=10))
def test_any_history_survives_the_update(hotupdate_runtime, history):
    registry = Registry(hotupdate_runtime)
    registry.add("faulty", V1)
    registry.add("faulty", V2)
    worker = registry.worker("faulty", revision=0)
    run_history(worker, history, ignore_errors=True)  # deep recursion may overflow: recorded
    assert_state_preserved(worker, 1, "automatic", probes=["get"])
"""


def test_the_planted_incompatibility_is_found_and_shrunk(pytester: pytest.Pytester) -> None:
    # faulty v2's increment adds twice: any history with a non-zero increment diverges.
    pytester.makepyfile(PROPERTY_TEST.format(v1=str(build("faulty", "v1")),
                                             v2=str(build("faulty", "v2"))))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    example = re.search(r"history=\[(.*?)\],?\n", output)
    assert example is not None, output
    calls = [c for c in re.split(r", (?=golem:)", example[1]) if c]
    assert 1 <= len(calls) <= 3, calls
    assert calls == [f"{F}.{{increment}}(1)"]
    assert "the replayed result differs from the recorded one (expected 1, got 2)" in output
