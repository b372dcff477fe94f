"""golem:cart v2: v1 plus `item-count`, an order note, and `golem:api/save-snapshot@1.5.0`.

Every v1 function behaves exactly as in v1 (same results for the same calls), so a worker's
v1 history replays on v2: the automatic update v1 -> v2 succeeds. `save` returns the default
cart as JSON (mime-type `application/json`); carts created through the `cart` resource are
not part of the snapshot.
"""
import json
import sys

import wit_world
from componentize_py_types import Err
from wit_world.exports import api
from wit_world.exports.api import (
    CartError_InvalidQuantity,
    CartError_NotFound,
    CartError_OutOfStock,
    Currency,
    Discount_FixedCents,
    Discount_None_,
    Discount_Percent,
    GiftOptions,
    Item,
)
from wit_world.imports.host import Snapshot

MAX_PER_SKU = 99


class Lines:
    """Cart lines in insertion order, one per sku."""

    def __init__(self) -> None:
        self.by_sku: dict[str, Item] = {}

    def add(self, item: Item) -> int:
        if item.quantity == 0:
            raise Err(CartError_InvalidQuantity(item.quantity))
        line = self.by_sku.get(item.sku)
        new_quantity = item.quantity + (line.quantity if line else 0)
        if new_quantity > MAX_PER_SKU:
            raise Err(CartError_OutOfStock(item.sku))
        if line is None:
            self.by_sku[item.sku] = Item(item.sku, item.name, item.price_cents, new_quantity)
        else:
            line.quantity = new_quantity
        return new_quantity

    def remove(self, sku: str) -> Item | None:
        return self.by_sku.pop(sku, None)

    def items(self) -> list[Item]:
        return [Item(i.sku, i.name, i.price_cents, i.quantity) for i in self.by_sku.values()]

    def count(self) -> int:
        return sum(i.quantity for i in self.by_sku.values())

    def total(self) -> int:
        return sum(i.price_cents * i.quantity for i in self.by_sku.values())


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


class DefaultCart:
    def __init__(self) -> None:
        self.lines = Lines()
        self.currency = Currency.USD
        self.discount = Discount_None_()
        self.gift = GiftOptions(0)
        self.note: str | None = None

    def order_id(self) -> str:
        gift = ",".join(f.name.lower() for f in GiftOptions if f in self.gift)
        lines = ";".join(
            f"{i.sku}:{i.quantity}:{i.price_cents}" for i in self.lines.by_sku.values()
        )
        text = f"{self.currency.name.lower()}|{discount_text(self.discount)}|{gift}|{lines}"
        return f"ord-{fnv1a64(text):016x}"

    def to_json(self) -> dict:
        if isinstance(self.discount, Discount_Percent):
            discount = {"kind": "percent", "value": self.discount.value}
        elif isinstance(self.discount, Discount_FixedCents):
            discount = {"kind": "fixed-cents", "value": self.discount.value}
        else:
            discount = {"kind": "none"}
        return {
            "items": [
                {"sku": i.sku, "name": i.name, "price-cents": i.price_cents, "quantity": i.quantity}
                for i in self.lines.by_sku.values()
            ],
            "currency": self.currency.name.lower(),
            "discount": discount,
            "gift-options": [f.name.lower() for f in GiftOptions if f in self.gift],
            "note": self.note,
        }


STATE = DefaultCart()


class Cart(api.Cart):
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.lines = Lines()

    def add_item(self, item: Item) -> int:
        return self.lines.add(item)

    def remove_item(self, sku: str) -> Item | None:
        return self.lines.remove(sku)

    def items(self) -> list[Item]:
        return self.lines.items()

    def total_cents(self) -> int:
        return self.lines.total()

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
        STATE.currency = c

    def apply_discount(self, d) -> None:
        STATE.discount = d

    def set_gift_options(self, o: GiftOptions) -> None:
        STATE.gift = o

    def summary(self) -> tuple[int, int, Currency]:
        total = discounted(STATE.lines.total(), STATE.discount)
        return (STATE.lines.count(), total, STATE.currency)

    def checkout(self) -> str:
        if not STATE.lines.by_sku:
            raise Err(CartError_NotFound("cart is empty"))
        order = STATE.order_id()
        STATE.lines = Lines()
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


class SaveSnapshot(wit_world.exports.SaveSnapshot):
    def save(self) -> Snapshot:
        payload = json.dumps(STATE.to_json(), sort_keys=True).encode("utf-8")
        return Snapshot(payload, "application/json")


# componentize-py looks up the classes of resources exported by interface `api`
# (here `Cart`) in a module named `api`; this module plays that role.
sys.modules["api"] = sys.modules[__name__]
