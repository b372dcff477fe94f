"""golem:cart v3: prices become `money`, quantities u16, `add-item` returns an `item-id`.

The type changes make v1/v2 histories unreplayable (automatic update v2 -> v3 fails). The manual
update works: `load` accepts v2's `application/json` snapshot and migrates it (each price gets the
cart's currency, lines get ids 1..n), as well as v3's own `application/vnd.golem.cart.v3+json`.
Order ids are computed exactly as in v1/v2, so a migrated cart checks out to the same id.
"""
import json
import sys

import wit_world
from componentize_py_types import Err
from wit_world.exports import api
from wit_world.exports.api import (
    CartError_CurrencyMismatch,
    CartError_InvalidQuantity,
    CartError_NotFound,
    CartError_OutOfStock,
    Currency,
    Discount_FixedCents,
    Discount_None_,
    Discount_Percent,
    GiftOptions,
    Item,
    Money,
)
from wit_world.imports.host import Snapshot

MAX_PER_SKU = 99
U64_MAX = 2**64 - 1
V2_MIME = "application/json"
V3_MIME = "application/vnd.golem.cart.v3+json"


class Lines:
    """Cart lines in insertion order, one per sku, each with an id."""

    def __init__(self, currency: Currency) -> None:
        self.currency = currency
        self.by_sku: dict[str, Item] = {}
        self.ids: dict[str, int] = {}
        self.next_id = 1

    def add(self, item: Item) -> int:
        if item.quantity == 0:
            raise Err(CartError_InvalidQuantity(item.quantity))
        if item.price.currency != self.currency:
            raise Err(CartError_CurrencyMismatch(item.price.currency))
        line = self.by_sku.get(item.sku)
        new_quantity = item.quantity + (line.quantity if line else 0)
        if new_quantity > MAX_PER_SKU:
            raise Err(CartError_OutOfStock(item.sku))
        if line is None:
            price = Money(item.price.amount_cents, self.currency)
            self.by_sku[item.sku] = Item(item.sku, item.name, price, new_quantity)
            self.ids[item.sku] = self.next_id
            self.next_id += 1
        else:
            line.quantity = new_quantity
        return self.ids[item.sku]

    def remove(self, sku: str) -> Item | None:
        self.ids.pop(sku, None)
        return self.by_sku.pop(sku, None)

    def relabel(self, currency: Currency) -> None:
        self.currency = currency
        for line in self.by_sku.values():
            line.price = Money(line.price.amount_cents, currency)

    def items(self) -> list[Item]:
        return [
            Item(i.sku, i.name, Money(i.price.amount_cents, i.price.currency), i.quantity)
            for i in self.by_sku.values()
        ]

    def count(self) -> int:
        return sum(i.quantity for i in self.by_sku.values())

    def total(self) -> int:
        return sum(i.price.amount_cents * i.quantity for i in self.by_sku.values())


def discounted(total: int, discount) -> int:
    if isinstance(discount, Discount_Percent):
        return total - total * min(discount.value, 100) // 100
    if isinstance(discount, Discount_FixedCents):
        return max(0, total - discount.value)
    return total


def discount_text(discount) -> str:
    if isinstance(discount, Discount_Percent):
        return f"percent({discount.value})"
    if isinstance(discount, Discount_FixedCents):
        return f"fixed-cents({discount.value})"
    return "none"


def fnv1a64(text: str) -> int:
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


class SnapshotError(Exception):
    pass


def currency_from(name) -> Currency:
    for c in Currency:
        if c.name.lower() == name:
            return c
    raise SnapshotError(f"unknown currency {name!r}")


def int_in(what: str, value, high: int) -> int:
    """A JSON integer in 0..high (so that it fits its WIT type when returned later)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        raise SnapshotError(f"{what} must be an integer in 0..{high}, got {value!r}")
    return value


def text(what: str, value) -> str:
    if not isinstance(value, str):
        raise SnapshotError(f"{what} must be a string, got {value!r}")
    return value


def discount_from(d) -> object:
    kind = d["kind"]
    if kind == "none":
        return Discount_None_()
    if kind == "percent":
        return Discount_Percent(int_in("discount percent", d["value"], 0xFF))
    if kind == "fixed-cents":
        return Discount_FixedCents(int_in("discount fixed-cents", d["value"], 0xFFFFFFFF))
    raise SnapshotError(f"unknown discount kind {kind!r}")


def gift_from(names) -> GiftOptions:
    gift = GiftOptions(0)
    for name in names:
        matches = [f for f in GiftOptions if f.name.lower() == name]
        if not matches:
            raise SnapshotError(f"unknown gift option {name!r}")
        gift |= matches[0]
    return gift


def quantity_from(sku: str, q) -> int:
    q = int_in(f"quantity of sku {sku!r}", q, MAX_PER_SKU)
    if q == 0:
        raise SnapshotError(f"quantity of sku {sku!r} must be at least 1")
    return q


def note_from(note) -> str | None:
    return None if note is None else text("note", note)


class DefaultCart:
    def __init__(self) -> None:
        self.lines = Lines(Currency.USD)
        self.discount = Discount_None_()
        self.gift = GiftOptions(0)
        self.note: str | None = None

    def order_id(self) -> str:
        gift = ",".join(f.name.lower() for f in GiftOptions if f in self.gift)
        lines = ";".join(
            f"{i.sku}:{i.quantity}:{i.price.amount_cents}" for i in self.lines.by_sku.values()
        )
        text = f"{self.lines.currency.name.lower()}|{discount_text(self.discount)}|{gift}|{lines}"
        return f"ord-{fnv1a64(text):016x}"

    def to_json(self) -> dict:
        if isinstance(self.discount, Discount_Percent):
            discount = {"kind": "percent", "value": self.discount.value}
        elif isinstance(self.discount, Discount_FixedCents):
            discount = {"kind": "fixed-cents", "value": self.discount.value}
        else:
            discount = {"kind": "none"}
        return {
            "version": 3,
            "lines": [
                {
                    "id": self.lines.ids[i.sku],
                    "sku": i.sku,
                    "name": i.name,
                    "amount-cents": i.price.amount_cents,
                    "quantity": i.quantity,
                }
                for i in self.lines.by_sku.values()
            ],
            "next-id": self.lines.next_id,
            "currency": self.lines.currency.name.lower(),
            "discount": discount,
            "gift-options": [f.name.lower() for f in GiftOptions if f in self.gift],
            "note": self.note,
        }

    @staticmethod
    def from_v2(state: dict) -> "DefaultCart":
        """v2 JSON: items {sku, name, price-cents, quantity}, prices in the cart's currency."""
        cart = DefaultCart()
        currency = currency_from(state["currency"])
        cart.lines = Lines(currency)
        for i in state["items"]:
            sku = text("sku", i["sku"])
            if sku in cart.lines.by_sku:
                raise SnapshotError(f"sku {sku!r} appears twice")
            price = Money(int_in(f"price-cents of sku {sku!r}", i["price-cents"], 0xFFFFFFFF),
                          currency)
            quantity = quantity_from(sku, i["quantity"])
            cart.lines.by_sku[sku] = Item(sku, text("name", i["name"]), price, quantity)
            cart.lines.ids[sku] = cart.lines.next_id
            cart.lines.next_id += 1
        cart.discount = discount_from(state["discount"])
        cart.gift = gift_from(state["gift-options"])
        cart.note = note_from(state.get("note"))
        return cart

    @staticmethod
    def from_v3(state: dict) -> "DefaultCart":
        version = state.get("version")
        if version != 3:
            raise SnapshotError(f"unsupported snapshot version {version!r}, expected 3")
        cart = DefaultCart()
        currency = currency_from(state["currency"])
        cart.lines = Lines(currency)
        cart.lines.next_id = int_in("next-id", state["next-id"], U64_MAX)
        for line in state["lines"]:
            sku = text("sku", line["sku"])
            if sku in cart.lines.by_sku:
                raise SnapshotError(f"sku {sku!r} appears twice")
            price = Money(int_in(f"amount-cents of sku {sku!r}", line["amount-cents"], U64_MAX),
                          currency)
            quantity = quantity_from(sku, line["quantity"])
            cart.lines.by_sku[sku] = Item(sku, text("name", line["name"]), price, quantity)
            line_id = int_in(f"id of sku {sku!r}", line["id"], U64_MAX)
            if not 0 < line_id < cart.lines.next_id:
                raise SnapshotError(f"id {line_id} of sku {sku!r} is not below next-id")
            cart.lines.ids[sku] = line_id
        cart.discount = discount_from(state["discount"])
        cart.gift = gift_from(state["gift-options"])
        cart.note = note_from(state.get("note"))
        return cart


STATE = DefaultCart()


class Cart(api.Cart):
    def __init__(self, owner: str, currency: Currency) -> None:
        self.owner = owner
        self.lines = Lines(currency)

    def add_item(self, item: Item) -> int:
        return self.lines.add(item)

    def remove_item(self, sku: str) -> Item | None:
        return self.lines.remove(sku)

    def items(self) -> list[Item]:
        return self.lines.items()

    def total(self) -> Money:
        return Money(self.lines.total(), self.lines.currency)

    def item_count(self) -> int:
        return self.lines.count()


class Api(wit_world.exports.Api):
    def add_item(self, item: Item) -> int:
        return STATE.lines.add(item)

    def remove_item(self, sku: str) -> Item | None:
        return STATE.lines.remove(sku)

    def items(self) -> list[Item]:
        return STATE.lines.items()

    def set_currency(self, c: Currency) -> None:
        STATE.lines.relabel(c)

    def apply_discount(self, d) -> None:
        STATE.discount = d

    def set_gift_options(self, o: GiftOptions) -> None:
        STATE.gift = o

    def summary(self) -> tuple[int, int, Currency]:
        total = discounted(STATE.lines.total(), STATE.discount)
        return (STATE.lines.count(), total, STATE.lines.currency)

    def checkout(self) -> str:
        if not STATE.lines.by_sku:
            raise Err(CartError_NotFound("cart is empty"))
        order = STATE.order_id()
        # Line ids are never reused within a cart, so the counter survives checkout.
        next_id = STATE.lines.next_id
        STATE.lines = Lines(STATE.lines.currency)
        STATE.lines.next_id = next_id
        STATE.discount = Discount_None_()
        STATE.gift = GiftOptions(0)
        STATE.note = None
        return order

    def item_count(self) -> int:
        return STATE.lines.count()

    def set_note(self, note: str | None) -> None:
        STATE.note = note

    def note(self) -> str | None:
        return STATE.note

    def total(self) -> Money:
        return Money(discounted(STATE.lines.total(), STATE.discount), STATE.lines.currency)


class SaveSnapshot(wit_world.exports.SaveSnapshot):
    def save(self) -> Snapshot:
        payload = json.dumps(STATE.to_json(), sort_keys=True).encode("utf-8")
        return Snapshot(payload, V3_MIME)


class LoadSnapshot(wit_world.exports.LoadSnapshot):
    def load(self, snapshot: Snapshot) -> None:
        global STATE
        if snapshot.mime_type not in (V2_MIME, V3_MIME):
            raise Err(
                f"unsupported snapshot mime-type {snapshot.mime_type!r}: expected "
                f"{V2_MIME!r} (cart v2) or {V3_MIME!r} (cart v3)"
            )
        try:
            state = json.loads(bytes(snapshot.payload).decode("utf-8"))
        except ValueError as e:  # bad UTF-8 or bad JSON
            raise Err(f"snapshot payload ({snapshot.mime_type}) is not valid JSON: {e}")
        which = "v2" if snapshot.mime_type == V2_MIME else "v3"
        try:
            if not isinstance(state, dict):
                raise SnapshotError(f"expected a JSON object, got {type(state).__name__}")
            new_state = DefaultCart.from_v2(state) if which == "v2" else DefaultCart.from_v3(state)
        except KeyError as e:
            raise Err(f"snapshot payload is not a cart {which} state: missing key {e}")
        except (SnapshotError, TypeError, ValueError, AttributeError) as e:
            raise Err(f"snapshot payload is not a cart {which} state: {e}")
        STATE = new_state


# componentize-py looks up the classes of resources exported by interface `api`
# (here `Cart`) in a module named `api`; this module plays that role.
sys.modules["api"] = sys.modules[__name__]
