"""golem:app v2: v1 plus `dump`. A worker keeping data in `wasi:keyvalue` (Golem's 0.1 interfaces).

Values are UTF-8 text. Every store operation is a durable host call: a replay of this worker
(recovery, automatic update) gets the recorded answers and never reads or writes the store.
The worker's own state is the number of store operations it made.
"""
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import atomic, eventual, eventual_batch, types

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
