"""`golem:rpc/types` wasm-rpc: workers of a registry calling each other, durably."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.host.golem import ids, witvalue
from pytest_hotupdate.host.golem.rpc import rpc_invocations
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


def test_handle_nodes_carry_the_owner_uri_and_are_checked_against_it():
    ty = ListType(HandleType(False, "cart"))
    owner, other = ids.uri("cart", "c1"), ids.uri("cart", "c2")
    encoded = witvalue.encode(ty, [Handle(4)], handle_uri=owner)
    assert encoded["nodes"][1] == Variant("handle", ({"value": owner}, 4))
    assert witvalue.decode(ty, encoded, handle_uri=owner) == [Handle(4)]
    assert witvalue.decode(ty, encoded) == [Handle(4)]  # no owner to check against
    with pytest.raises(witvalue.WitValueError,
                       match=f"handle 4 belongs to {owner}, not to {other}"):
        witvalue.decode(ty, encoded, handle_uri=other)


# -- resource handles through RPC: golem-shopper holds carts living in cart workers --------------

@pytest.fixture
def shop(registry: Registry, sample: Callable[[str, str], Path]) -> Registry:
    registry.add("cart", sample("cart", "v1"))
    registry.add("shopper", sample("golem-shopper", "v1"))
    registry.add("shopper", sample("golem-shopper", "v1"))  # revision 1: the same code
    return registry


def _cart_worker(registry: Registry, name: str):
    return next(w for w in registry.workers if w.component_name == "cart" and w.name == name)


@pytest.mark.slow
def test_rpc_passes_resource_handles_to_the_worker_that_owns_them(shop: Registry):
    shopper = shop.worker("shopper", name="s")
    assert shopper.invoke("open", "c1", "alice") == Ok(1)
    assert shopper.invoke("open", "c1", "bob") == Ok(2)
    assert shopper.invoke("add", "alice", "apple", 250, 2) == Ok(2)
    assert shopper.invoke("add", "alice", "apple", 250, 1) == Ok(3)
    assert shopper.invoke("add", "bob", "pear", 100, 200) == Err("cart-error case 1(pear)")
    assert shopper.invoke("total", "alice") == Ok(750)
    assert shopper.invoke("total", "bob") == Ok(0)
    # The handle node names the worker that owns the resource, as Golem's does.
    assert shopper.invoke("handle-uri", "alice") == ids.uri("cart", "c1")
    # The cart worker ran ordinary invocations, the handle as their first parameter.
    cart = _cart_worker(shop, "c1")
    assert _invocations(cart)[:3] == ["cart.new", "cart.new", "cart.add-item"]
    assert cart.invoke_wave("golem:cart/api.{cart.total-cents}", "handle(1)") == "750"
    # A handle sent to a worker that does not own it is a protocol error, not a wrong cart.
    misrouted = shopper.invoke("misroute", "alice", "c2")
    assert isinstance(misrouted, Err) and misrouted.value.startswith("protocol-error: ")
    assert f"handle 1 belongs to {ids.uri('cart', 'c1')}, not to {ids.uri('cart', 'c2')}" in (
        misrouted.value)


@pytest.mark.slow
def test_async_rpc_awaited_through_a_wasi_io_pollable(shop: Registry):
    shopper = shop.worker("shopper", name="s")
    shopper.invoke("open", "c1", "alice")
    shopper.invoke("add", "alice", "apple", 250, 2)
    # async-invoke-and-await, subscribe, pollable.block, get: the get after the pollable
    # waits for the cart worker's answer.
    assert shopper.invoke("total-async", "alice") == Ok(500)
    functions = [c.function for c in _rpc_calls(shopper)]
    assert functions[-2:] == ["golem:rpc/types.{wasm-rpc.async-invoke-and-await}",
                              "golem:rpc/types.{future-invoke-result.get}"]
    cart = _cart_worker(shop, "c1")
    entries = len(cart.oplog)
    shopper.restart()  # the answer comes from the oplog
    assert len(cart.oplog) == entries
    assert shopper.invoke("total-async", "alice") == Ok(500)


@pytest.mark.slow
def test_a_worker_holding_remote_handles_recovers_without_calling_the_owner(shop: Registry):
    shopper = shop.worker("shopper", name="s")
    shopper.invoke("open", "c1", "alice")
    shopper.invoke("add", "alice", "apple", 250, 2)
    cart = _cart_worker(shop, "c1")
    entries = len(cart.oplog)
    shopper.restart()
    assert len(cart.oplog) == entries  # every answer came from the shopper's oplog
    assert shopper.invoke("opened") == 1
    assert shopper.invoke("handle-uri", "alice") == ids.uri("cart", "c1")
    assert shopper.invoke("total", "alice") == Ok(500)  # the rebuilt handle still works


@pytest.mark.slow
def test_remote_handles_survive_updates_of_the_owner_and_of_the_holder(
        shop: Registry, sample: Callable[[str, str], Path]):
    shopper = shop.worker("shopper", name="s", revision=0)
    shopper.invoke("open", "c1", "alice")  # creates worker c1 on cart v1, as on Golem
    shopper.invoke("add", "alice", "apple", 250, 2)
    cart = _cart_worker(shop, "c1")
    shop.add("cart", sample("cart", "v2"))
    # The owner moves to cart v2 by replaying its invocations: the resource comes back under the
    # same handle.
    outcome = cart.update(1, "automatic")
    assert outcome.succeeded, outcome.details
    assert shopper.invoke("add", "alice", "pear", 100, 1) == Ok(1)
    assert cart.invoke_wave("golem:cart/api.{cart.item-count}", "handle(1)") == "3"  # units
    # The holder's automatic update replays its RPC calls from its oplog.
    entries = len(cart.oplog)
    outcome = shopper.update(1, "automatic")
    assert outcome.succeeded, outcome.details
    assert len(cart.oplog) == entries
    assert shopper.invoke("total", "alice") == Ok(600)


# -- golem:rpc@0.1.0: a wasm-rpc addressed by a worker URI (Golem 1.0) ----------------------------

def test_version_0_1_calls_a_worker_addressed_by_its_uri(registry: Registry, sample):
    registry.add("counter", sample("counter", "v1"))
    registry.add("rpc01", sample("golem-rpc01", "v1"))
    callee = registry.worker("counter", name="c1")
    callee.invoke("golem:counter/api.{increment}", 5)
    caller = registry.worker("rpc01")
    uri = ids.uri("counter", "c1")
    assert uri == f"urn:worker:{ids.component_uuid('counter')}/c1"
    assert caller.invoke("remote-get", uri, "golem:counter/api.{get}") == Ok(5)
    assert caller.invoke("remote-get", uri, "golem:counter/api/get") == Ok(5)  # older stubs
    # A worker that does not exist yet is created on its component's latest revision.
    assert caller.invoke("remote-get", ids.uri("counter", "c2"), "golem:counter/api.{get}") == Ok(0)
    assert caller.invoke("remote-get", uri, "golem:counter/api.{nope}") == Err(
        "worker counter/c1 has no function golem:counter/api.{nope}")
    assert caller.invoke("remote-get", "urn:worker:nothing", "golem:counter/api.{get}") == Err(
        "the worker id nothing/ names no worker")
    entries = len(callee.oplog)
    caller.restart()  # every answer comes from the caller's oplog
    assert len(callee.oplog) == entries
