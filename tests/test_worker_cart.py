"""A realistic componentize-py worker: resources, records, variants and results, recovered by replay."""

from __future__ import annotations

import pytest

from pytest_hotupdate.errors import InvocationError
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.values import Err, Handle, Ok, Variant

pytestmark = pytest.mark.slow

API = "golem:cart/api"


@pytest.fixture
def cart(registry: Registry, sample) -> Registry:  # type: ignore[no-untyped-def]
    registry.add("cart", sample("cart", "v1"))
    return registry


def item(sku: str, price: int, quantity: int) -> dict[str, object]:
    return {"sku": sku, "name": sku.upper(), "price-cents": price, "quantity": quantity}


def test_resources_and_free_functions_survive_a_restart(cart: Registry) -> None:
    worker = cart.worker("cart")
    alice = worker.invoke(f"{API}.{{cart.new}}", "alice")
    bob = worker.invoke(f"{API}.{{cart.new}}", "bob")
    assert (alice, bob) == (Handle(1), Handle(2))
    assert worker.invoke(f"{API}.{{cart.add-item}}", alice, item("a", 250, 2)) == Ok(2)
    assert worker.invoke_wave(f"{API}.{{cart.add-item}}", "handle(2)",
                              '{sku: "b", name: "B", price-cents: 5, quantity: 0}') == (
        "err(invalid-quantity(0))")
    assert worker.invoke(f"{API}.{{add-item}}", item("z", 100, 3)) == Ok(3)
    worker.invoke(f"{API}.{{apply-discount}}", Variant("percent", 10))
    worker.invoke(f"{API}.{{set-currency}}", "eur")
    worker.invoke(f"{API}.{{set-gift-options}}", frozenset({"wrap", "card"}))
    summary = worker.invoke(f"{API}.{{summary}}")
    assert summary[0] == 3 and summary[2] == "eur"  # units in the default cart
    before = (worker.invoke_wave(f"{API}.{{cart.items}}", "handle(1)"),
              worker.invoke_wave(f"{API}.{{cart.total-cents}}", "handle(1)"),
              worker.invoke_wave(f"{API}.{{items}}"))

    worker.restart()

    after = (worker.invoke_wave(f"{API}.{{cart.items}}", "handle(1)"),
             worker.invoke_wave(f"{API}.{{cart.total-cents}}", "handle(1)"),
             worker.invoke_wave(f"{API}.{{items}}"))
    assert after == before
    assert worker.invoke(f"{API}.{{summary}}") == summary
    order = worker.invoke(f"{API}.{{checkout}}")
    assert isinstance(order, Ok) and order.value.startswith("ord-")
    assert worker.invoke(f"{API}.{{checkout}}") == Err(Variant("not-found", "cart is empty"))


def test_unknown_handle_and_bad_record_are_refused(cart: Registry) -> None:
    worker = cart.worker("cart")
    with pytest.raises(InvocationError, match=r"unknown resource handle\(7\)"):
        worker.invoke_wave(f"{API}.{{cart.items}}", "handle(7)")
    with pytest.raises(InvocationError, match=r"param `item`.*price-cents"):
        worker.invoke(f"{API}.{{add-item}}", {"sku": "a", "name": "A", "quantity": 1})
    assert worker.invoke(f"{API}.{{items}}") == []
