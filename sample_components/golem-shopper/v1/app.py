"""golem:shopper v1: a worker holding handles to `cart` resources of other workers.

Each `cart` lives in a worker of component `cart`; this worker keeps the `handle` node Golem's
RPC returned for it (the owning worker's URI and the resource id) and passes it back as the
first parameter of the resource's methods. Every RPC call is a durable host call, so a replay
of this worker rebuilds its handles from the oplog without calling the cart workers again.
"""
from componentize_py_types import Err
from wit_world import exports

from wit_world.imports import types as rpc
from wit_world.imports import host

#: owner -> (cart worker, the handle node of the owner's cart)
carts: dict[str, tuple[str, rpc.WitNode_Handle]] = {}
opened = 0


class Api(exports.Api):
    def open(self, cart_worker: str, owner: str) -> int:
        global opened
        result = call(cart_worker, "cart.new", [value(rpc.WitNode_PrimString(owner))])
        node = result.nodes[result.nodes[0].value[0]]
        if not isinstance(node, rpc.WitNode_Handle):
            raise Err(f"cart.new answered {type(node).__name__}, not a handle")
        carts[owner] = (cart_worker, node)
        opened += 1
        return node.value[1]

    def add(self, owner: str, sku: str, price_cents: int, quantity: int) -> int:
        cart_worker, handle = cart_of(owner)
        item = rpc.WitValue([  # record item { sku, name, price-cents, quantity }
            rpc.WitNode_RecordValue([1, 2, 3, 4]), rpc.WitNode_PrimString(sku),
            rpc.WitNode_PrimString(sku), rpc.WitNode_PrimU32(price_cents),
            rpc.WitNode_PrimU32(quantity)])
        result = call(cart_worker, "cart.add-item", [value(handle), item])
        answer = result.nodes[result.nodes[0].value[0]]  # result<u32, cart-error>
        if isinstance(answer.value, Err):
            raise Err(f"cart-error {describe_node(result, answer.value.value)}")
        return result.nodes[answer.value.value].value

    def total(self, owner: str) -> int:
        cart_worker, handle = cart_of(owner)
        return total_on(cart_worker, handle)

    def total_async(self, owner: str) -> int:
        cart_worker, handle = cart_of(owner)
        with rpc.WasmRpc(rpc.WorkerId(cart_component(), cart_worker)) as target:
            with target.async_invoke_and_await("golem:cart/api.{cart.total-cents}",
                                               [value(handle)]) as pending:
                with pending.subscribe() as ready:
                    ready.block()
                answer = pending.get()
        if answer is None:
            raise Err("the answer was not there after the pollable was ready")
        if isinstance(answer, Err):
            raise Err(describe(answer.value))
        result = answer.value
        return result.nodes[result.nodes[0].value[0]].value

    def handle_uri(self, owner: str) -> str | None:
        found = carts.get(owner)
        return None if found is None else found[1].value[0].value

    def misroute(self, owner: str, cart_worker: str) -> int:
        _, handle = cart_of(owner)
        return total_on(cart_worker, handle)

    def opened(self) -> int:
        return opened


def value(node) -> rpc.WitValue:
    return rpc.WitValue([node])


def cart_of(owner: str) -> tuple[str, rpc.WitNode_Handle]:
    found = carts.get(owner)
    if found is None:
        raise Err(f"no cart for {owner}")
    return found


def total_on(cart_worker: str, handle: rpc.WitNode_Handle) -> int:
    result = call(cart_worker, "cart.total-cents", [value(handle)])
    return result.nodes[result.nodes[0].value[0]].value


def call(cart_worker: str, function: str, params: list[rpc.WitValue]) -> rpc.WitValue:
    """`golem:cart/api.{function}` on worker `cart_worker` of component `cart`, awaited."""
    with rpc.WasmRpc(rpc.WorkerId(cart_component(), cart_worker)) as target:
        try:
            return target.invoke_and_await(f"golem:cart/api.{{{function}}}", params)
        except Err as error:
            raise Err(describe(error.value)) from None


def cart_component() -> rpc.ComponentId:
    component = host.resolve_component_id("cart")
    if component is None:
        raise Err("no component cart")
    return component


def describe_node(result: rpc.WitValue, index: int | None) -> str:
    """A `cart-error` node as `case N(payload)`."""
    if index is None:
        return "?"
    node = result.nodes[index]
    if isinstance(node, rpc.WitNode_VariantValue):
        case, child = node.value
        return f"case {case}" + ("" if child is None else f"({result.nodes[child].value})")
    return str(node.value)


def describe(error) -> str:
    """`RpcError_ProtocolError("...")` -> `protocol-error: ...`."""
    case = type(error).__name__.split("_", 1)[1]
    kind = "".join("-" + c.lower() if c.isupper() else c for c in case).lstrip("-")
    return f"{kind}: {error.value}"
