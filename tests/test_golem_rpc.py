"""`golem:rpc/types` wasm-rpc: workers of a registry calling each other, durably."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.golem import witvalue
from pytest_hotupdate.golem.rpc import rpc_invocations
from pytest_hotupdate.oplog import HostCall, Invocation
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.values import (
    EnumType,
    Err,
    FlagsType,
    Handle,
    HandleType,
    ListType,
    Ok,
    OptionType,
    Prim,
    RecordType,
    ResultType,
    Some,
    TupleType,
    Variant,
    VariantType,
    parse_wit,
)


@pytest.fixture
def app(registry: Registry, sample: Callable[[str, str], Path]) -> Registry:
    registry.add("app", sample("golem-app", "v1"))
    registry.add("app", sample("golem-app", "v2"))
    return registry


def _rpc_calls(worker) -> list[HostCall]:
    return [e for e in worker.oplog.entries
            if isinstance(e, HostCall) and e.function.startswith("golem:rpc/types.")]


def _invocations(worker) -> list[str]:
    return [e.function.rsplit("{", 1)[1].rstrip("}") for e in worker.oplog.entries
            if isinstance(e, Invocation)]


@pytest.mark.slow
def test_a_pair_of_workers_call_each_other(app: Registry):
    alice = app.worker("app", name="alice", revision=0)
    bob = app.worker("app", name="bob", revision=0)
    assert alice.invoke("remote-put", "bob", "cart", "apple", "3") == Ok(None)
    assert bob.invoke("remote-fetch", "alice", "cart", "apple") == Ok("3")
    assert bob.invoke("remote-fetch", "alice", "cart", "pear") == Ok(None)
    assert alice.invoke("remote-operations", "bob") == Ok(1)
    # The callee's invocations are ordinary invocations in its own oplog.
    assert _invocations(bob) == ["put", "remote-fetch", "remote-fetch", "operations"]
    assert _invocations(alice)[-4:] == ["remote-put", "fetch", "fetch", "remote-operations"]
    (first, *_rest) = _rpc_calls(alice)
    assert first.function == "golem:rpc/types.{wasm-rpc.invoke-and-await}"
    assert first.params[:2] == ('"app/bob"', '"golem:app/api.{put}"')
    assert first.result == "ok({nodes: [tuple-value([])]})"


@pytest.mark.slow
def test_rpc_errors(app: Registry):
    alice = app.worker("app", name="alice", revision=0)
    app.worker("app", name="bob", revision=0)
    assert alice.invoke("remote-call", "bob", "nope") == Err(
        "not-found: worker app/bob has no function golem:app/api.{nope}")
    assert alice.invoke("remote-call", "bob", "put") == Err(
        "protocol-error: golem:app/api.{put} takes 3 parameter(s), got 0")
    assert alice.invoke("remote-call", "alice", "operations") == Err(
        "remote-internal-error: alice is already running an invocation on this call chain; "
        "invoking it and awaiting the result would deadlock")
    assert alice.invoke("remote-call", "bob", "operations") == Ok(1)
    # A worker that does not exist yet is created on the latest revision, as on Golem.
    assert alice.invoke("remote-operations", "carol") == Ok(0)
    assert app.get_worker("carol").component_revision == 1


@pytest.mark.slow
def test_recovery_never_calls_the_callee_again(app: Registry):
    alice = app.worker("app", name="alice", revision=0)
    bob = app.worker("app", name="bob", revision=0)
    alice.invoke("remote-put", "bob", "cart", "apple", "3")
    assert alice.invoke("remote-operations", "bob") == Ok(1)
    bob.invoke("put", "cart", "pear", "1")  # bob moves on: a new call would see 2 operations
    size = len(bob.oplog)
    alice.restart()
    assert len(bob.oplog) == size
    assert alice.invoke("remote-operations", "bob") == Ok(2)


@pytest.mark.slow
def test_an_automatic_update_replays_rpc_results_from_the_log(app: Registry):
    alice = app.worker("app", name="alice", revision=0)
    bob = app.worker("app", name="bob", revision=0)
    alice.invoke("remote-put", "bob", "cart", "apple", "3")
    assert alice.invoke("remote-fetch", "bob", "cart", "apple") == Ok("3")
    bob.invoke("remove", "cart", "apple")  # a live call would now answer none
    size = len(bob.oplog)
    outcome = alice.update(1, "automatic")
    assert outcome.succeeded, outcome.details
    assert len(bob.oplog) == size  # the replay answered every RPC call from alice's oplog
    assert alice.invoke("remote-fetch", "bob", "cart", "apple") == Ok(None)


@pytest.mark.slow
def test_invoke_without_waiting_and_async_invoke(app: Registry):
    alice = app.worker("app", name="alice", revision=0)
    bob = app.worker("app", name="bob", revision=0)
    assert alice.invoke("tell-put", "bob", "cart", "apple", "3") == Ok(None)
    (queued,) = rpc_invocations(app)
    assert queued.result(timeout=10) is None
    assert bob.invoke("fetch", "cart", "apple") == "3"
    assert alice.invoke("remote-operations-async", "bob") == Ok(2)
    functions = [c.function for c in _rpc_calls(alice)]
    assert functions[:2] == ["golem:rpc/types.{wasm-rpc.invoke}",
                             "golem:rpc/types.{wasm-rpc.async-invoke-and-await}"]
    assert functions[-1] == "golem:rpc/types.{future-invoke-result.get}"
    size = len(bob.oplog)
    alice.restart()
    assert len(bob.oplog) == size and len(rpc_invocations(app)) == 2
    bob.close()


KINDS = [
    (Prim("u64"), 7), (Prim("s8"), -3), (Prim("f32"), 1.5), (Prim("char"), "é"),
    (Prim("bool"), True), (Prim("string"), "text"), (ListType(Prim("u8")), b"\x00\x01"),
    (ListType(Prim("string")), ["a", "b"]), (TupleType((Prim("u32"), Prim("string"))), (1, "x")),
    (RecordType((("a", Prim("u8")), ("b", OptionType(Prim("string"))))), {"a": 1, "b": None}),
    (VariantType((("none", None), ("some", Prim("u32")))), Variant("some", 4)),
    (VariantType((("none", None), ("some", Prim("u32")))), Variant("none")),
    (EnumType(("red", "green")), "green"), (FlagsType(("r", "w", "x")), frozenset({"r", "x"})),
    (OptionType(OptionType(Prim("u8"))), Some(None)), (OptionType(Prim("u8")), None),
    (ResultType(Prim("u8"), Prim("string")), Err("bad")), (ResultType(None, None), Ok(None)),
    (HandleType(True, "r"), Handle(3)),
    (parse_wit("list<record { k: string, v: list<option<u16>> }>"),
     [{"k": "a", "v": [1, None]}, {"k": "b", "v": []}]),
]


@pytest.mark.parametrize(("ty", "value"), KINDS, ids=[str(t) for t, _ in KINDS])
def test_wit_values_round_trip(ty, value):
    encoded = witvalue.encode(ty, value)
    assert witvalue.decode(ty, encoded) == value
    results = witvalue.encode_results(ty, value)
    assert results["nodes"][0] == Variant("tuple-value", [1])
    assert witvalue.decode(ty, results, 1) == value


def test_wit_value_shapes_and_errors():
    assert witvalue.encode(Prim("u64"), 5) == {"nodes": [Variant("prim-u64", 5)]}
    assert witvalue.encode(ListType(Prim("u8")), b"\x07") == {
        "nodes": [Variant("list-value", [1]), Variant("prim-u8", 7)]}
    assert witvalue.encode_results(None, None) == {"nodes": [Variant("tuple-value", [])]}
    with pytest.raises(witvalue.WitValueError, match="expected a prim-u64 node"):
        witvalue.decode(Prim("u64"), {"nodes": [Variant("prim-string", "x")]})
    with pytest.raises(witvalue.WitValueError, match="out of range"):
        witvalue.decode(Prim("u64"), {"nodes": []})
