"""Behaviour of the componentize-py samples (`cart` v1..v3, `kinds` v1) under wasmtime-py.

The samples are built once per session (7-10 s each) into a temporary cache and compiled once
(4-5 s each); every test then gets fresh instances (about 1 ms each).

These tests also pin down how wasmtime-py presents values, which the rest of the project relies on:
- record fields are attributes named exactly like the WIT fields (`getattr(r, "mime-type")`);
- variant, option and result are *untagged* when their cases' Python types are disjoint
  (`result<u32, cart-error>` comes back as `3` or as the error value itself) and *tagged*
  (`Variant(tag, payload)`) when they overlap (`discount`, `cart-error`, `result<u32, u32>`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from wasmtime import Engine, Store, WasiConfig
from wasmtime.component import Component, Linker, Record, ResourceAny, Variant

from pytest_hotupdate.engine import Runtime
from sample_components.build import build

pytestmark = pytest.mark.slow

SAMPLES = [("cart", "v1"), ("cart", "v2"), ("cart", "v3"), ("kinds", "v1")]
CART = "golem:cart/api"
KINDS = "golem:kinds/api"
SAVE = "golem:api/save-snapshot@1.5.0"
LOAD = "golem:api/load-snapshot@1.5.0"
V3_MIME = "application/vnd.golem.cart.v3+json"


def rec(**fields: Any) -> Record:
    """A wasmtime Record; `price_cents=1` sets the WIT field `price-cents`."""
    r = Record()
    for name, value in fields.items():
        setattr(r, name.replace("_", "-"), value)
    return r


def plain(value: Any) -> Any:
    """Records as dicts (recursively), for readable comparisons."""
    if isinstance(value, Record):
        return {k: plain(v) for k, v in vars(value).items()}
    if isinstance(value, Variant):
        return Variant(value.tag, plain(value.payload))
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


class Samples:
    """Builds all samples on first use (two at a time), compiles each one on first use."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self.paths: dict[tuple[str, str], Path] = {}
        self.components: dict[tuple[str, str], Component] = {}

    def component(self, sample: str, rev: str) -> Component:
        if not self.paths:
            with ThreadPoolExecutor(max_workers=2) as pool:
                built = pool.map(lambda p: build(*p), SAMPLES)
                self.paths = dict(zip(SAMPLES, built))
        if (sample, rev) not in self.components:
            self.components[sample, rev] = self.runtime.load(self.paths[sample, rev]).component
        return self.components[sample, rev]

    def instance(self, sample: str, rev: str) -> Worker:
        return Worker(self.engine, self.component(sample, rev))


class Worker:
    """One instance in its own Store; `w.call(iface, name, *args)`."""

    def __init__(self, engine: Engine, component: Component) -> None:
        linker = Linker(engine)
        linker.add_wasip2()
        self.store = Store(engine)
        self.store.set_wasi(WasiConfig())
        self.store.set_epoch_deadline(1 << 62)  # the session engine has epoch interruption on
        self.instance = linker.instantiate(self.store, component)

    def has(self, iface: str) -> bool:
        return self.instance.get_export_index(self.store, iface) is not None

    def func(self, iface: str, name: str) -> Callable[..., Any]:
        idx = self.instance.get_export_index(self.store, iface)
        assert idx is not None, f"no export {iface}"
        fidx = self.instance.get_export_index(self.store, name, idx)
        assert fidx is not None, f"no function {name} in {iface}"
        f = self.instance.get_func(self.store, fidx)
        assert f is not None
        return lambda *args: f(self.store, *args)

    def call(self, iface: str, name: str, *args: Any) -> Any:
        return self.func(iface, name)(*args)

    def cart(self, name: str, *args: Any) -> Any:
        return self.call(CART, name, *args)


@pytest.fixture(scope="session")
def py_samples(runtime: Runtime) -> Samples:
    return Samples(runtime)


def item_v1(sku: str, price: int, qty: int, name: str | None = None) -> Record:
    return rec(sku=sku, name=name or sku.title(), price_cents=price, quantity=qty)


def item_v3(sku: str, price: int, qty: int, currency: str = "usd") -> Record:
    return rec(sku=sku, name=sku.title(), price=rec(amount_cents=price, currency=currency),
               quantity=qty)


# A history of calls on the default cart that uses every v1 function (and a resource).
V1_HISTORY: list[tuple[str, tuple[Any, ...]]] = [
    ("checkout", ()),
    ("add-item", (item_v1("apple", 120, 3),)),
    ("add-item", (item_v1("apple", 120, 2),)),
    ("add-item", (item_v1("bread", 250, 0),)),
    ("add-item", (item_v1("bread", 250, 100),)),
    ("add-item", (item_v1("bread", 250, 1),)),
    ("set-currency", ("eur",)),
    ("apply-discount", (Variant("percent", 10),)),
    ("set-gift-options", ({"wrap", "express"},)),
    ("summary", ()),
    ("items", ()),
    ("remove-item", ("nope",)),
    ("remove-item", ("bread",)),
    ("apply-discount", (Variant("fixed-cents", 100),)),
    ("summary", ()),
    ("checkout", ()),
    ("summary", ()),
    ("apply-discount", (Variant("none"),)),
    ("add-item", (item_v1("cake", 900, 1),)),
    ("summary", ()),
]


# --------------------------------------------------------------------------- cart v1


def test_cart_v1_free_functions(py_samples: Samples) -> None:
    w = py_samples.instance("cart", "v1")
    # result<string, cart-error> is untagged: ok is the str, err the (tagged) cart-error.
    assert w.cart("checkout") == Variant("not-found", "cart is empty")
    # result<u32, cart-error>: ok is the bare int.
    assert w.cart("add-item", item_v1("apple", 120, 3)) == 3
    assert w.cart("add-item", item_v1("apple", 999, 2, name="other")) == 5  # merged by sku
    assert w.cart("add-item", item_v1("bread", 250, 0)) == Variant("invalid-quantity", 0)
    assert w.cart("add-item", item_v1("bread", 250, 100)) == Variant("out-of-stock", "bread")
    assert w.cart("add-item", item_v1("bread", 250, 1)) == 1

    items = w.cart("items")
    assert [plain(i) for i in items] == [
        {"sku": "apple", "name": "Apple", "price-cents": 120, "quantity": 5},
        {"sku": "bread", "name": "Bread", "price-cents": 250, "quantity": 1},
    ]
    assert getattr(items[0], "price-cents") == 120  # kebab-case attribute names

    assert w.cart("summary") == (6, 850, "usd")  # enum -> str
    assert w.cart("set-currency", "gbp") is None
    assert w.cart("apply-discount", Variant("percent", 10)) is None
    assert w.cart("summary") == (6, 765, "gbp")
    w.cart("apply-discount", Variant("fixed-cents", 10_000))
    assert w.cart("summary") == (6, 0, "gbp")
    w.cart("apply-discount", Variant("none"))
    w.cart("set-gift-options", {"wrap", "card"})  # flags -> set[str]

    # option<item>: None or the Record itself.
    assert w.cart("remove-item", "nope") is None
    assert plain(w.cart("remove-item", "bread"))["quantity"] == 1

    order = w.cart("checkout")
    assert isinstance(order, str) and re.fullmatch(r"ord-[0-9a-f]{16}", order)
    assert w.cart("summary") == (0, 0, "gbp")  # emptied; the currency stays
    assert w.cart("items") == []

    # The order id depends only on the contents: a second worker with the same calls agrees.
    w2 = py_samples.instance("cart", "v1")
    w2.cart("add-item", item_v1("apple", 120, 5))
    w2.cart("set-currency", "gbp")
    w2.cart("set-gift-options", {"card", "wrap"})
    assert w2.cart("checkout") == order


def test_cart_v1_resource(py_samples: Samples) -> None:
    w = py_samples.instance("cart", "v1")
    alice = w.cart("[constructor]cart", "alice")
    bob = w.cart("[constructor]cart", "bob")
    assert isinstance(alice, ResourceAny) and alice.owned
    assert w.cart("[method]cart.add-item", alice, item_v1("pen", 150, 2)) == 2
    assert w.cart("[method]cart.add-item", alice, item_v1("pen", 150, 0)) == Variant(
        "invalid-quantity", 0
    )
    assert w.cart("[method]cart.add-item", bob, item_v1("ink", 700, 1)) == 1
    assert w.cart("[method]cart.total-cents", alice) == 300
    assert w.cart("[method]cart.total-cents", bob) == 700
    assert plain(w.cart("[method]cart.remove-item", bob, "ink"))["sku"] == "ink"
    assert w.cart("[method]cart.items", bob) == []
    assert [plain(i)["sku"] for i in w.cart("[method]cart.items", alice)] == ["pen"]
    assert w.cart("summary") == (0, 0, "usd")  # the default cart is separate
    alice.drop(w.store)
    bob.drop(w.store)


def test_cart_v1_has_no_snapshot_exports(py_samples: Samples) -> None:
    w = py_samples.instance("cart", "v1")
    assert not w.has(SAVE) and not w.has(LOAD)


# --------------------------------------------------------------------------- cart v2


def run_history(w: Worker) -> list[Any]:
    return [plain(w.cart(name, *args)) for name, args in V1_HISTORY]


def test_cart_v2_gives_v1_results_for_a_v1_history(py_samples: Samples) -> None:
    """What an automatic update v1 -> v2 relies on: replaying v1's calls gives v1's results."""
    v1 = run_history(py_samples.instance("cart", "v1"))
    v2 = run_history(py_samples.instance("cart", "v2"))
    assert v2 == v1
    assert v1[0] == Variant("not-found", "cart is empty")
    assert re.fullmatch(r"ord-[0-9a-f]{16}", v1[15])


def test_cart_v2_new_functions(py_samples: Samples) -> None:
    w = py_samples.instance("cart", "v2")
    w.cart("add-item", item_v1("apple", 120, 3))
    w.cart("add-item", item_v1("bread", 250, 2))
    assert w.cart("item-count") == 5 == w.cart("summary")[0]
    assert w.cart("note") is None
    w.cart("set-note", "leave at the door")
    assert w.cart("note") == "leave at the door"
    before = w.cart("checkout")
    assert w.cart("note") is None  # checkout clears the note

    # The note is not part of the order id (v1 histories never set one).
    w.cart("add-item", item_v1("apple", 120, 3))
    w.cart("add-item", item_v1("bread", 250, 2))
    assert w.cart("checkout") == before

    cart = w.cart("[constructor]cart", "carol")
    w.cart("[method]cart.add-item", cart, item_v1("pen", 150, 4))
    assert w.cart("[method]cart.item-count", cart) == 4


def test_cart_v2_save_snapshot(py_samples: Samples) -> None:
    w = py_samples.instance("cart", "v2")
    assert w.has(SAVE) and not w.has(LOAD)
    w.cart("add-item", item_v1("apple", 120, 3))
    w.cart("set-currency", "eur")
    w.cart("apply-discount", Variant("percent", 15))
    w.cart("set-gift-options", {"express", "wrap"})
    w.cart("set-note", "hi")
    snap = w.call(SAVE, "save")
    # record snapshot { payload: list<u8>, mime-type: string }: a Record, kebab-case attributes.
    assert isinstance(snap, Record)
    assert set(vars(snap)) == {"payload", "mime-type"}
    assert getattr(snap, "mime-type") == "application/json"
    assert isinstance(snap.payload, bytes)
    assert json.loads(snap.payload) == {
        "items": [{"sku": "apple", "name": "Apple", "price-cents": 120, "quantity": 3}],
        "currency": "eur",
        "discount": {"kind": "percent", "value": 15},
        "gift-options": ["wrap", "express"],
        "note": "hi",
    }


# --------------------------------------------------------------------------- cart v3


def v2_with_state(py_samples: Samples) -> Worker:
    w = py_samples.instance("cart", "v2")
    w.cart("add-item", item_v1("apple", 120, 3))
    w.cart("add-item", item_v1("bread", 250, 2))
    w.cart("set-currency", "gbp")
    w.cart("apply-discount", Variant("percent", 15))
    w.cart("set-gift-options", {"wrap"})
    w.cart("set-note", "ring twice")
    return w


def test_cart_v3_loads_and_migrates_a_v2_snapshot(py_samples: Samples) -> None:
    old = v2_with_state(py_samples)
    new = py_samples.instance("cart", "v3")
    # result<_, string>: ok is None, err is the message str.
    assert new.call(LOAD, "load", old.call(SAVE, "save")) is None

    assert new.cart("summary") == old.cart("summary") == (5, 731, "gbp")
    assert new.cart("item-count") == 5
    assert new.cart("note") == "ring twice"
    assert plain(new.cart("total")) == {"amount-cents": 731, "currency": "gbp"}
    assert [plain(i) for i in new.cart("items")] == [
        {"sku": "apple", "name": "Apple", "price": {"amount-cents": 120, "currency": "gbp"},
         "quantity": 3},
        {"sku": "bread", "name": "Bread", "price": {"amount-cents": 250, "currency": "gbp"},
         "quantity": 2},
    ]
    # Migrated lines got ids 1 and 2; the next new line gets 3; merging returns the line's id.
    assert new.cart("add-item", item_v3("cake", 500, 1, "gbp")) == 3
    assert new.cart("add-item", item_v3("apple", 120, 1, "gbp")) == 1
    assert new.cart("remove-item", "cake") is not None
    new.cart("remove-item", "apple")
    old.cart("remove-item", "apple")
    new.cart("add-item", item_v3("apple", 120, 3, "gbp"))
    old.cart("add-item", item_v1("apple", 120, 3))
    # Same contents, same order id on both revisions.
    assert new.cart("checkout") == old.cart("checkout")


def test_cart_v3_own_snapshot_round_trip(py_samples: Samples) -> None:
    first = py_samples.instance("cart", "v3")
    assert first.cart("add-item", item_v3("apple", 120, 3)) == 1
    assert first.cart("add-item", item_v3("bread", 250, 2)) == 2
    first.cart("remove-item", "apple")
    first.cart("apply-discount", Variant("fixed-cents", 50))
    snap = first.call(SAVE, "save")
    assert getattr(snap, "mime-type") == V3_MIME
    assert json.loads(snap.payload)["version"] == 3

    second = py_samples.instance("cart", "v3")
    assert second.call(LOAD, "load", snap) is None
    assert second.cart("summary") == first.cart("summary") == (2, 450, "usd")
    assert second.cart("add-item", item_v3("cake", 500, 1)) == 3  # ids are never reused


@pytest.mark.parametrize(
    ("payload", "mime", "message"),
    [
        (b"garbage", "application/json", "not valid JSON"),
        (b"\xff\xfe", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "not a cart v2 state"),
        (b'{"items": []}', "application/json", "missing key 'currency'"),
        (b'{"items": [], "currency": "yen", "discount": {"kind": "none"}, "gift-options": []}',
         "application/json", "unknown currency 'yen'"),
        (b'{"items": [{"sku": "a", "name": "A", "price-cents": -1, "quantity": 1}], '
         b'"currency": "usd", "discount": {"kind": "none"}, "gift-options": []}',
         "application/json", "price-cents of sku 'a' must be an integer in 0..4294967295"),
        (b'{"items": [], "currency": "usd", "discount": {"kind": "none"}, "gift-options": [], '
         b'"note": 5}', "application/json", "note must be a string"),
        (b'{"version": 2}', V3_MIME, "unsupported snapshot version 2"),
        (b"{}", "text/plain", "unsupported snapshot mime-type 'text/plain'"),
    ],
)
def test_cart_v3_load_rejects_bad_snapshots(
    py_samples: Samples, payload: bytes, mime: str, message: str
) -> None:
    w = py_samples.instance("cart", "v3")
    w.cart("add-item", item_v3("apple", 120, 3))
    err = w.call(LOAD, "load", rec(payload=payload, mime_type=mime))
    assert isinstance(err, str) and message in err
    assert w.cart("summary") == (3, 360, "usd")  # a failed load leaves the state alone


def test_cart_v3_types(py_samples: Samples) -> None:
    w = py_samples.instance("cart", "v3")
    assert w.cart("add-item", item_v3("apple", 120, 3, "eur")) == Variant(
        "currency-mismatch", "eur"
    )
    assert w.cart("add-item", item_v3("apple", 120, 3)) == 1
    w.cart("set-currency", "eur")  # relabels the lines
    assert plain(w.cart("items"))[0]["price"] == {"amount-cents": 120, "currency": "eur"}

    cart = w.cart("[constructor]cart", "dora", "gbp")
    assert w.cart("[method]cart.add-item", cart, item_v3("pen", 150, 2, "gbp")) == 1
    assert w.cart("[method]cart.add-item", cart, item_v3("ink", 700, 1, "gbp")) == 2
    assert w.cart("[method]cart.add-item", cart, item_v3("pen", 150, 65535, "gbp")) == Variant(
        "out-of-stock", "pen"
    )
    assert plain(w.cart("[method]cart.total", cart)) == {"amount-cents": 1000, "currency": "gbp"}
    assert w.cart("[method]cart.item-count", cart) == 3


# --------------------------------------------------------------------------- kinds


@pytest.fixture(scope="module")
def kinds(py_samples: Samples) -> Callable[..., Any]:
    w = py_samples.instance("kinds", "v1")
    return lambda name, *args: w.call(KINDS, name, *args)


@pytest.mark.parametrize(
    ("func", "value"),
    [
        ("echo-bool", True),
        ("echo-s8", -128),
        ("echo-s16", -32768),
        ("echo-s32", -(2**31)),
        ("echo-s64", -(2**63)),
        ("echo-u8", 255),
        ("echo-u16", 65535),
        ("echo-u32", 2**32 - 1),
        ("echo-u64", 2**64 - 1),
        ("echo-f32", 1.5),
        ("echo-f64", -0.0),
        ("echo-f64", math.inf),
        ("echo-char", "é"),
        ("echo-char", "\U0001f600"),
        ("echo-string", 'quote " and\nnewline'),
        ("echo-bytes", b"\x00\xffab"),
        ("echo-list", [1, 2, 3]),
        ("echo-strings", ["a", "", "c"]),
        ("echo-tuple", (7, "s", 2.5)),
        ("echo-enum", "none"),
        ("echo-flags", set()),
        ("echo-flags", {"read", "ok", "none"}),
        ("echo-option", None),
        ("echo-option", 5),
        # option<option<u32>>: the outer option is tagged (both cases can be None), the inner not.
        ("echo-option-option", Variant("none")),
        ("echo-option-option", Variant("some", None)),
        ("echo-option-option", Variant("some", 3)),
        # result<u32, string>: untagged; result<u32, u32> and `result`: tagged.
        ("echo-result", 5),
        ("echo-result", "bad"),
        ("echo-result-same", Variant("ok", 1)),
        ("echo-result-same", Variant("err", 2)),
        ("echo-result-unit", None),
        ("echo-result-unit", "oops"),
        ("echo-result-empty", Variant("ok")),
        ("echo-result-empty", Variant("err")),
        # variant event has two payload-less cases: tagged.
        ("echo-variant", Variant("none")),
        ("echo-variant", Variant("empty")),
        ("echo-variant", Variant("count", 3)),
        ("echo-variant", Variant("label", "l")),
        ("echo-variant", Variant("moved", rec(x=1, y=-2))),
        ("echo-variant", Variant("pair", (1, 2))),
        # variant shape's cases have disjoint Python types: untagged.
        ("echo-shape", None),
        ("echo-shape", 2.0),
        ("echo-shape", rec(x=1, y=2)),
        ("echo-shape", (rec(x=1, y=2), rec(x=3, y=4))),
        ("echo-nested", [None, ("x", 1.25), None]),
    ],
)
def test_kinds_echo(kinds: Callable[..., Any], func: str, value: Any) -> None:
    assert plain(kinds(func, value)) == plain(value)


def test_kinds_echo_special_values(kinds: Callable[..., Any]) -> None:
    assert math.isnan(kinds("echo-f64", math.nan))
    assert kinds("echo-f32", 0.1) == pytest.approx(0.1) and kinds("echo-f32", 0.1) != 0.1
    profile = rec(name="n", nickname=None, home=rec(x=-1, y=2), scores=[3, 4])
    out = kinds("echo-record", profile)
    assert plain(out) == {"name": "n", "nickname": None, "home": {"x": -1, "y": 2},
                          "scores": [3, 4]}
    out = kinds("echo-record", rec(name="", nickname="nick", home=rec(x=0, y=0), scores=[]))
    assert out.nickname == "nick"
    assert kinds("echo-many", 1, "b", b"c") == (1, "b", b"c")
