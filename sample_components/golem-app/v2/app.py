"""golem:app v2: v1 plus `dump`. A worker keeping data in `wasi:keyvalue` (Golem's 0.1 interfaces).

Values are UTF-8 text. Every store operation is a durable host call: a replay of this worker
(recovery, automatic update) gets the recorded answers and never reads or writes the store.
The worker's own state is the number of store operations it made.
"""
from componentize_py_types import Err
from wit_world import exports
import time
import uuid

from wit_world.imports import atomic, eventual, eventual_batch, golem_rpc_types, host
from wit_world.imports import wasi_keyvalue_types as types

operations = 0


def open_bucket(name: str) -> types.Bucket:
    global operations
    operations += 1
    return types.Bucket.open_bucket(name)


def outgoing(text: str) -> types.OutgoingValue:
    value = types.OutgoingValue.new_outgoing_value()
    value.outgoing_value_write_body_sync(text.encode())
    return value


def text_of(incoming) -> str | None:
    if incoming is None:
        return None
    with incoming:
        return incoming.incoming_value_consume_sync().decode()


def trap_on_error(call, *args):
    """A keyvalue `Err(error)` becomes a trap carrying the error's trace."""
    try:
        return call(*args)
    except Err as error:
        raise RuntimeError(error.value.trace()) from None


class Api(exports.Api):
    def put(self, bucket: str, key: str, value: str) -> None:
        with open_bucket(bucket) as b, outgoing(value) as v:
            trap_on_error(eventual.set, b, key, v)

    def fetch(self, bucket: str, key: str) -> str | None:
        with open_bucket(bucket) as b:
            return text_of(trap_on_error(eventual.get, b, key))

    def remove(self, bucket: str, key: str) -> bool:
        with open_bucket(bucket) as b:
            existed = trap_on_error(eventual.exists, b, key)
            trap_on_error(eventual.delete, b, key)
            return existed

    def bump(self, bucket: str, key: str, by: int) -> int:
        with open_bucket(bucket) as b:
            try:
                return atomic.increment(b, key, by)
            except Err as error:
                with error.value as e:
                    raise Err(e.trace()) from None

    def swap(self, bucket: str, key: str, old: int, new: int) -> bool:
        with open_bucket(bucket) as b:
            return trap_on_error(atomic.compare_and_swap, b, key, old, new)

    def keys(self, bucket: str) -> list[str]:
        with open_bucket(bucket) as b:
            return sorted(trap_on_error(eventual_batch.keys, b))

    def put_many(self, bucket: str, items: list[tuple[str, str]]) -> None:
        values = [(key, outgoing(value)) for key, value in items]
        with open_bucket(bucket) as b:
            trap_on_error(eventual_batch.set_many, b, values)
        for _, value in values:
            value.__exit__(None, None, None)

    def fetch_many(self, bucket: str, keys: list[str]) -> list[str | None]:
        with open_bucket(bucket) as b:
            return [text_of(v) for v in trap_on_error(eventual_batch.get_many, b, keys)]

    def remove_many(self, bucket: str, keys: list[str]) -> None:
        with open_bucket(bucket) as b:
            trap_on_error(eventual_batch.delete_many, b, keys)

    def dump(self, bucket: str) -> str:
        keys = self.keys(bucket)
        values = self.fetch_many(bucket, keys)
        return "\n".join(f"{k}={v}" for k, v in zip(keys, values))

    def operations(self) -> int:
        return operations

    def whoami(self) -> tuple[str, int, str]:
        me = host.get_self_metadata()
        return me.worker_id.worker_name, me.component_version, me.status.name.lower()

    def peer(self, name: str) -> tuple[str, int] | None:
        found = host.get_worker_metadata(worker_id(name))
        return None if found is None else (found.status.name.lower(), found.component_version)

    def list_workers(self) -> list[str]:
        me = host.get_self_metadata()
        names = []
        with host.GetWorkers(me.worker_id.component_id, None, True) as enumeration:
            while (batch := enumeration.get_next()) is not None:
                names.extend(m.worker_id.worker_name for m in batch)
        return sorted(names)

    def resolve(self, component: str, name: str) -> bool:
        return host.resolve_worker_id_strict(component, name) is not None

    def oplog_index(self) -> int:
        return host.get_oplog_index()

    def put_atomically(self, bucket: str, key: str, value: str) -> int:
        begin = host.mark_begin_operation()
        self.put(bucket, key, value)
        host.mark_end_operation(begin)
        return begin

    def new_promise(self) -> tuple[str, int]:
        promise = host.create_promise()
        return promise.worker_id.worker_name, promise.oplog_idx

    def await_promise(self, owner: str, index: int) -> str:
        return host.await_promise(promise_id(owner, index)).decode()

    def poll_promise(self, owner: str, index: int) -> str | None:
        data = host.poll_promise(promise_id(owner, index))
        return None if data is None else data.decode()

    def complete_promise(self, owner: str, index: int, data: str) -> bool:
        return host.complete_promise(promise_id(owner, index), data.encode())

    def settings(self) -> tuple[str, bool, int]:
        level = LEVELS[type(host.get_oplog_persistence_level())]
        return level, host.get_idempotence_mode(), host.get_retry_policy().max_attempts

    def configure(self, persist_nothing: bool, idempotent: bool, max_attempts: int) -> None:
        host.set_oplog_persistence_level(
            host.PersistenceLevel_PersistNothing() if persist_nothing else host.PersistenceLevel_Smart())
        host.set_idempotence_mode(idempotent)
        policy = host.get_retry_policy()
        policy.max_attempts = max_attempts
        host.set_retry_policy(policy)

    def idempotency_key(self) -> str:
        key = host.generate_idempotency_key()
        return str(uuid.UUID(int=(key.high_bits << 64) | key.low_bits))

    def request_update(self, name: str, revision: int) -> None:
        host.update_worker(worker_id(name), revision, host.UpdateMode.AUTOMATIC)

    def remote_put(self, worker: str, bucket: str, key: str, value: str) -> None:
        remote(worker, "put", [text(bucket), text(key), text(value)])

    def remote_fetch(self, worker: str, bucket: str, key: str) -> str | None:
        result = remote(worker, "fetch", [text(bucket), text(key)])
        option = result.nodes[result.nodes[0].value[0]]
        return None if option.value is None else result.nodes[option.value].value

    def remote_operations(self, worker: str) -> int:
        result = remote(worker, "operations", [])
        return result.nodes[result.nodes[0].value[0]].value

    def remote_call(self, worker: str, function: str) -> int:
        return len(remote(worker, function, []).nodes[0].value)

    def tell_put(self, worker: str, bucket: str, key: str, value: str) -> None:
        with golem_rpc_types.WasmRpc(worker_id(worker)) as rpc:
            try:
                rpc.invoke("golem:app/api.{put}", [text(bucket), text(key), text(value)])
            except Err as error:
                raise Err(describe(error.value)) from None

    def remote_operations_async(self, worker: str) -> int:
        with golem_rpc_types.WasmRpc(worker_id(worker)) as rpc:
            with rpc.async_invoke_and_await("golem:app/api.{operations}", []) as pending:
                while (answer := pending.get()) is None:
                    time.sleep(0.001)
        if isinstance(answer, Err):
            raise Err(describe(answer.value))
        result = answer.value
        return result.nodes[result.nodes[0].value[0]].value


LEVELS = {
    host.PersistenceLevel_PersistNothing: "persist-nothing",
    host.PersistenceLevel_PersistRemoteSideEffects: "persist-remote-side-effects",
    host.PersistenceLevel_Smart: "smart",
}


def worker_id(name: str) -> golem_rpc_types.WorkerId:
    """The id of the worker `name` of this worker's own component."""
    me = host.get_self_metadata()
    return golem_rpc_types.WorkerId(me.worker_id.component_id, name)


def text(value: str) -> golem_rpc_types.WitValue:
    return golem_rpc_types.WitValue([golem_rpc_types.WitNode_PrimString(value)])


def describe(error) -> str:
    """`RpcError_NotFound("...")` -> `not-found: ...`."""
    case = type(error).__name__.split("_", 1)[1]
    kind = "".join("-" + c.lower() if c.isupper() else c for c in case).lstrip("-")
    return f"{kind}: {error.value}"


def remote(worker: str, function: str, params: list) -> golem_rpc_types.WitValue:
    """`golem:app/api.{function}` on worker `worker` of this component, awaited."""
    with golem_rpc_types.WasmRpc(worker_id(worker)) as rpc:
        try:
            return rpc.invoke_and_await(f"golem:app/api.{{{function}}}", params)
        except Err as error:
            raise Err(describe(error.value)) from None


def promise_id(owner: str, index: int) -> host.PromiseId:
    return host.PromiseId(worker_id(owner), index)
