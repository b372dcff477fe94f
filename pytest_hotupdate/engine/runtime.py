"""What all workers of a process share: the engine, the compiled-component cache, the
linkers, the epoch ticker and the threads host functions and ``invoke_async`` run on.

- :class:`Runtime`: the engine, the compiled-component cache and the linkers (one per component,
  host functions and grants).
- The epoch ticker: a daemon thread that advances the engine's epoch every few milliseconds, so
  that each Store's deadline callback (:class:`~pytest_hotupdate.engine.ffi.Interrupter`) runs.
- :class:`HostThreads`: the helper threads user host functions run on, so that a guest call
  can stop waiting for one at its deadline.
- :class:`SerialRunner`: a worker's ``invoke_async`` queue, run on a thread that exists only
  while calls are waiting.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime.component import Linker

from ..component import ComponentCache, EngineConfig, LoadedComponent, make_engine
from ..host import HostFunctions, SandboxGrants, build_linker

#: How often the epoch ticker advances the engine's epoch (deadline granularity).
TICK_SECONDS = 0.005

class _EpochTicker:
    """Advances an engine's epoch every TICK_SECONDS, so that deadline callbacks run.

    One daemon thread per engine, started with the first worker. It holds the engine only
    weakly and ends when the engine is gone.
    """

    def __init__(self, engine: wasmtime.Engine) -> None:
        self._engine = weakref.ref(engine)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=_tick_forever, args=(self._engine,), name="hotupdate-epoch", daemon=True
                )
                self._thread.start()


def _tick_forever(engine_ref: weakref.ref[wasmtime.Engine]) -> None:
    while True:
        time.sleep(TICK_SECONDS)
        engine = engine_ref()
        if engine is None:
            return
        engine.increment_epoch()
        del engine


class Runtime:
    """What all workers of a process (or test session) share.

    Args:
        engine_config: engine settings (part of the compile-cache key).
        cache_dir: where compiled components are cached on disk (default: see
            :func:`~pytest_hotupdate.component.default_cache_dir`).
        use_disk_cache: set to False to compile every component afresh.
    """

    def __init__(
        self,
        engine_config: EngineConfig = EngineConfig(),
        cache_dir: Path | None = None,
        use_disk_cache: bool = True,
    ) -> None:
        self.engine_config = engine_config
        self.engine = make_engine(engine_config)
        self.components = ComponentCache(self.engine, engine_config, cache_dir, use_disk_cache)
        self.ticker = _EpochTicker(self.engine)
        #: The helper threads user host functions run on (shared by all workers).
        self.host_threads = HostThreads()
        self._linkers: dict[tuple[str, HostFunctions, SandboxGrants], Linker] = {}
        self._lock = threading.Lock()

    def load(self, source: str | os.PathLike[str] | bytes,
             name: str | None = None) -> LoadedComponent:
        """Load (and compile once) a component file or bytes."""
        return self.components.load(source, name)

    def linker(
        self, component: LoadedComponent, host_functions: HostFunctions, grants: SandboxGrants
    ) -> Linker:
        """The linker for this component with these host functions and grants (cached)."""
        key = (component.sha256, host_functions, grants)
        with self._lock:
            linker = self._linkers.get(key)
            if linker is None:
                linker = build_linker(self.engine, component, host_functions, grants)
                self._linkers[key] = linker
            return linker


#: How long an idle host-function helper thread waits for work before it ends.
HOST_THREAD_IDLE_SECONDS = 5.0


class HostJob:
    """One host function running on a helper thread (see :class:`HostThreads`)."""

    __slots__ = ("function", "value", "error", "_done")

    def __init__(self, function: Callable[[], Any]) -> None:
        self.function: Callable[[], Any] | None = function
        self.value: Any = None
        self.error: BaseException | None = None
        # A held lock that the helper releases when done: the cheapest wait with a timeout.
        self._done = threading.Lock()
        self._done.acquire()

    def wait(self, timeout: float) -> bool:
        """Whether the function has returned (or raised) within ``timeout`` seconds (call
        until it returns True, not after)."""
        return self._done.acquire(timeout=timeout)

    def finished(self) -> None:
        """Called by the helper thread once the function has returned or raised."""
        self._done.release()

    def result(self) -> Any:
        """The function's value; its exception is raised here, in the waiting thread."""
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return self.value


class HostThreads:
    """Helper threads for user host functions.

    A Python function cannot be stopped from outside, so the guest's thread runs a user host
    function on a helper thread and waits for it no longer than the invocation's deadline; one
    that is still running then is abandoned (a daemon thread: it never holds up the process's
    exit) and its result, whenever it comes, is dropped. Idle helpers are reused; one idle for
    HOST_THREAD_IDLE_SECONDS ends.
    """

    def __init__(self) -> None:
        self._idle: list[_HostThread] = []
        self._lock = threading.Lock()

    def start(self, function: Callable[[], Any]) -> HostJob:
        """Run ``function()`` on an idle helper thread (or a new one); return its job."""
        with self._lock:
            helper = self._idle.pop() if self._idle else None
        if helper is None:
            helper = _HostThread(self)
        job = HostJob(function)
        helper.jobs.put(job)
        return job

    def _idle_again(self, helper: _HostThread) -> None:
        with self._lock:
            self._idle.append(helper)

    def _retire(self, helper: _HostThread) -> bool:
        """Remove an idle helper that timed out; False if it was just handed a job."""
        with self._lock:
            if helper in self._idle:
                self._idle.remove(helper)
                return True
            return False


class _HostThread:
    def __init__(self, pool: HostThreads) -> None:
        self.jobs: queue.SimpleQueue[HostJob] = queue.SimpleQueue()
        self._pool = pool
        threading.Thread(target=self._run, name="hotupdate-host-function", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                job = self.jobs.get(timeout=HOST_THREAD_IDLE_SECONDS)
            except queue.Empty:
                if self._pool._retire(self):
                    return
                continue  # handed a job while timing out: it is on its way
            function, job.function = job.function, None
            try:
                job.value = function() if function is not None else None
            except BaseException as error:  # given to the waiting thread, which raises it
                job.error = error
            del function
            self._pool._idle_again(self)
            job.finished()


class SerialRunner:
    """Runs submitted calls one at a time, in order, on a thread that exists only while calls
    are waiting (an idle worker holds no thread; a non-daemon thread, so the interpreter
    finishes the calls already submitted before it exits)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._lock = threading.Lock()
        self._queue: deque[tuple[Future[Any], Callable[[], Any]]] = deque()
        self._thread: threading.Thread | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            self._queue.append((future, lambda: fn(*args)))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name)
                self._thread.start()
        return future

    def drain(self) -> None:
        """Wait until every submitted call has run (and the thread has ended)."""
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._thread = None
                    return
                future, call = self._queue.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as error:  # the caller gets it from the future
                future.set_exception(error)
            del future, call  # no reference to the worker outlives its calls
