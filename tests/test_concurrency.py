"""Workers under threads: one Store is entered by one thread at a time; workers run in parallel."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from pytest_hotupdate.errors import InvocationError
from pytest_hotupdate.registry import Registry

INC = "golem:counter/api.{increment}"
GET = "golem:counter/api.{get}"


@pytest.fixture
def counter(registry: Registry, sample) -> Registry:  # type: ignore[no-untyped-def]
    registry.add("counter", sample("counter", "v1"))
    return registry


def test_threads_invoking_one_worker_are_serialised(counter: Registry) -> None:
    worker = counter.worker("counter")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: worker.invoke(INC, 1), range(400)))
    assert sorted(results) == list(range(1, 401))  # every call saw a distinct state
    assert worker.invoke(GET) == 400
    worker.restart()  # the oplog is a consistent, non-interleaved history
    assert worker.invoke(GET) == 400


def test_several_workers_in_parallel_threads(counter: Registry) -> None:
    workers = [counter.worker("counter") for _ in range(6)]

    def run(index: int) -> int:
        for _ in range(200):
            workers[index].invoke(INC, index + 1)
        return workers[index].invoke(GET)

    with ThreadPoolExecutor(max_workers=6) as pool:
        totals = list(pool.map(run, range(6)))
    assert totals == [200 * (i + 1) for i in range(6)]


def test_host_errors_stay_with_their_own_worker(registry: Registry, sample) -> None:  # type: ignore[no-untyped-def]
    """wasmtime-py keeps the last host exception in one slot shared by all threads; each worker
    must still report its own failure."""
    registry.add("dice", sample("dice", "v1"))

    def failing(label: str):  # type: ignore[no-untyped-def]
        def oracle(question: str) -> int:
            raise RuntimeError(f"{label} is down")
        return oracle

    workers = [registry.worker("dice", host_functions={"golem:dice/oracle.{ask}": failing(f"w{i}")})
               for i in range(4)]
    barrier = threading.Barrier(4)

    def run(index: int) -> list[str]:
        messages = []
        barrier.wait()
        for _ in range(25):
            with pytest.raises(InvocationError) as info:
                workers[index].invoke("golem:dice/api.{consult}", "q")
            messages.append(str(info.value))
        return messages

    with ThreadPoolExecutor(max_workers=4) as pool:
        all_messages = list(pool.map(run, range(4)))
    for index, messages in enumerate(all_messages):
        assert all(f"RuntimeError: w{index} is down" in m for m in messages), messages[:3]
