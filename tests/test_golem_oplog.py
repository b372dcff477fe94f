"""`golem:api/oplog@1.1.7`: a worker reads other workers' oplogs (`get-oplog`, `search-oplog`),
durably."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_hotupdate.errors import InvocationError
from pytest_hotupdate.host.golem import provider
from pytest_hotupdate.oplog import HostCall
from pytest_hotupdate.registry import Registry

pytestmark = pytest.mark.slow  # a componentize-py sample

INC = "golem:counter/api.{increment}"


@pytest.fixture
def logs(registry: Registry, sample: Callable[[str, str], Path]) -> Registry:
    registry.add("counter", sample("counter", "v1"))
    registry.add("counter", sample("counter", "v2"))
    registry.add("dice", sample("dice", "v1"))
    registry.add("oplogs", sample("golem-oplogs", "v1"))
    return registry


def _get_next_calls(worker) -> list[HostCall]:
    return [e for e in worker.oplog.entries if isinstance(e, HostCall)
            and e.function == "golem:api/oplog.{get-oplog.get-next}"]


def test_a_worker_reads_another_worker_s_oplog(logs: Registry):
    counter = logs.worker("counter", name="c1", revision=0)
    counter.invoke(INC, 5)
    counter.invoke("golem:counter/api.{get}")
    assert counter.update(1, "automatic").succeeded
    dice = logs.worker("dice", name="d1", host_functions={"golem:dice/oracle.{ask}": len})
    dice.invoke("golem:dice/api.{roll}")
    reader = logs.worker("oplogs")
    assert reader.invoke("entries", "counter", "c1", 0) == [
        f"exported-function-invoked: {INC}", "exported-function-completed",
        "exported-function-invoked: golem:counter/api.{get}", "exported-function-completed",
        "pending-update: 1", "successful-update: 1"]
    assert reader.invoke("entries", "counter", "c1", 4) == ["pending-update: 1",
                                                            "successful-update: 1"]
    assert reader.invoke("entries", "dice", "d1", 0) == [
        "exported-function-invoked: golem:dice/api.{roll}",
        "imported-function-invoked: wasi:random/random.{get-random-u64}",
        "exported-function-completed"]
    # Parameters and results are wit-values of the function's own types.
    assert reader.invoke("number", "counter", "c1", 0) == 5  # increment(5)
    assert reader.invoke("number", "counter", "c1", 1) == 5  # its result
    assert reader.invoke("search", "counter", "c1", "increment") == [0]
    assert reader.invoke("search", "counter", "c1", "nothing like it") == []
    with pytest.raises(InvocationError):
        reader.invoke("entries", "counter", "nobody", 0)


def test_oplog_reads_are_durable(logs: Registry):
    counter = logs.worker("counter", name="c1")
    counter.invoke(INC, 2)
    reader = logs.worker("oplogs")
    first = reader.invoke("entries", "counter", "c1", 0)
    batches = len(_get_next_calls(reader))
    counter.invoke(INC, 3)  # the callee moves on; a replay must not see it
    reader.restart()
    assert len(_get_next_calls(reader)) == batches
    assert reader.invoke("entries", "counter", "c1", 0) == first + [
        f"exported-function-invoked: {INC}", "exported-function-completed"]


def test_the_oplog_interface_is_implemented_for_every_version_whose_shapes_agree():
    oplog = provider("golem:api/oplog@1.1.7")
    assert oplog is not None and oplog.resources == ("get-oplog", "search-oplog")
    assert oplog.implements("[constructor]get-oplog")
    assert oplog.implements("[method]search-oplog.get-next")
