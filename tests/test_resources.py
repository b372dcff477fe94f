"""What a worker holds is given back: file descriptors, its private stream directory, its
invocation thread, and its Store before the interpreter shuts down.

The limits are real: the subprocesses lower ``RLIMIT_NOFILE`` and open more workers than it
would allow if each kept its descriptors, and look at the temporary folder after they exit.
The exit tests run a real guest that writes to stdout (and one that makes a real HTTP request
to a server on 127.0.0.1 started here) and require an empty stderr.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_hotupdate import host
from pytest_hotupdate.component.shims import WASI_IO_WIT, build_wat_component
from pytest_hotupdate.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
FILE_LIMIT = 256


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _run(script: str, tmp: Path, *args: str, timeout: float = 300
         ) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter whose temporary folder is ``tmp/tmp``."""
    (tmp / "tmp").mkdir(exist_ok=True)
    path = tmp / "script.py"
    path.write_text(textwrap.dedent(script), encoding="utf-8")
    env = dict(os.environ, TMPDIR=str(tmp / "tmp"), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout, check=False)


# -- 17: descriptors, directories and threads -------------------------------------------------

def test_stream_workers_under_a_low_file_limit_leave_nothing_behind(tmp_path: Path):
    # 300 closed workers and one worker handing out 600 streams, under a 256-file limit: each
    # kept a descriptor (and each stream one more) for the registry's life before.
    done = _run(f"""
        import os, resource, tempfile
        resource.setrlimit(resource.RLIMIT_NOFILE, ({FILE_LIMIT}, {FILE_LIMIT}))
        from pytest_hotupdate.errors import ResourceError
        from pytest_hotupdate.registry import Registry
        from pytest_hotupdate.engine import Runtime
        from sample_components.build import build

        registry = Registry(Runtime())
        registry.add("kv", build("golem-kvstream", "v1"))
        for i in range(300):
            worker = registry.worker("kv")
            assert worker.invoke("put", "b", f"k{{i}}", b"value %d" % i) is True
            assert worker.invoke("fetch", "b", f"k{{i}}") == b"value %d" % i
            worker.close()
        busy = registry.worker("kv", name="busy")
        for i in range(300):
            assert busy.invoke("put", "b", "k", b"x" * i) is True
            assert busy.invoke("fetch", "b", "k") == b"x" * i
        assert registry.workers[0].invoke("fetch", "b", "k7") == b"value 7"  # reopened
        opened = []
        try:
            while True:
                opened.append(registry.worker("kv", name=f"open-{{len(opened)}}"))
        except ResourceError as error:
            print(error)
        opened[-1].close()  # a descriptor to list the folder with
        print(len(registry.workers), len(os.listdir(tempfile.gettempdir())))
        """, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    message, counts = done.stdout.splitlines()
    assert message.startswith("worker open-")
    assert message.endswith(f": cannot open its private stream directory: too many open files "
                            f"(the process may open {FILE_LIMIT}, RLIMIT_NOFILE): close() the "
                            "workers you no longer use, or raise the limit (ulimit -n)")
    workers, directories = map(int, counts.split())
    assert workers > 300 and directories > 100  # the open workers' directories, until exit
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_stream_holds_a_descriptor_only_while_the_guest_holds_it(registry: Registry, sample):
    registry.add("kv", sample("golem-kvstream", "v1"))
    worker = registry.worker("kv")
    worker.invoke("put", "b", "k", b"x")  # starts wasmtime's threads (and their descriptors)
    before = _open_fds()
    for i in range(50):
        worker.invoke("put", "b", "k", b"x" * i)
        worker.invoke("fetch", "b", "k")
    assert _open_fds() == before


def test_close_releases_the_store_and_the_worker_resumes_from_its_oplog(
        registry: Registry, sample: Callable[[str, str], Path]):
    registry.add("kv", sample("golem-kvstream", "v1"))
    worker = registry.worker("kv")
    worker.invoke("put", "b", "k", b"kept")
    worker.invoke("put", "b", "k2", b"also")
    directory = Path(host.stream_directory(worker))
    before = _open_fds()
    worker.close()
    assert not directory.exists()
    assert _open_fds() == before - 1  # the Store's private directory
    assert worker.invoke("fetch", "b", "k") == b"kept"  # rebuilt by replay
    assert Path(host.stream_directory(worker)) != directory
    assert [r.function for r in worker.invocations] == [
        "golem:kvstream/api.{put}", "golem:kvstream/api.{put}", "golem:kvstream/api.{fetch}"]
    reopened = Path(host.stream_directory(worker))
    registry.close()
    assert not reopened.exists()


def test_invoke_async_leaves_no_thread_behind(registry: Registry, sample):
    registry.add("counter", sample("counter", "v1"))
    inc = "golem:counter/api.{increment}"
    workers = [registry.worker("counter") for _ in range(20)]
    names = {f"worker-{worker.name}" for worker in workers}

    def running() -> list[str]:
        return [t.name for t in threading.enumerate()
                if t.name in names or t.name.rpartition("_")[0] in names]

    futures = [worker.invoke_async(inc, 1) for worker in workers]
    assert [future.result(timeout=30) for future in futures] == [1] * 20
    ordered = [workers[0].invoke_async(inc, 1) for _ in range(50)]
    assert [future.result(timeout=30) for future in ordered] == list(range(2, 52))
    give_up = time.monotonic() + 5
    while running() and time.monotonic() < give_up:
        time.sleep(0.01)
    assert running() == []  # without close(): the workers are still registered
    assert workers[1].invoke_async(inc, 2).result(timeout=30) == 3


def test_a_failed_invocation_reaches_its_future(registry: Registry, sample):
    registry.add("counter", sample("counter", "v1"))
    worker = registry.worker("counter")
    future = worker.invoke_async("golem:counter/api.{decrement}", 1)
    with pytest.raises(Exception, match="exports no function"):
        future.result(timeout=30)
    worker.close()
    assert worker.invoke("golem:counter/api.{increment}", 4) == 4


# -- 19: nothing on stderr at exit --------------------------------------------------------------

PRINTER_WIT = {
    "printer.wit": """
package test:printer;
interface api { say: func(text: string); }
world printer {
  import wasi:cli/stdout@0.2.6;
  export api;
}
""",
    "deps/io/io.wit": WASI_IO_WIT.replace(
        "  resource output-stream;",
        "  resource output-stream {\n"
        "    blocking-write-and-flush: func(contents: list<u8>) -> result<_, stream-error>;\n"
        "  }"),
    "deps/cli/stdout.wit": """
package wasi:cli@0.2.6;
interface stdout {
  use wasi:io/streams@0.2.6.{output-stream};
  get-stdout: func() -> output-stream;
}
""",
}

# say(text): blocking-write-and-flush(text) (result at 8) to the stdout stream, which the guest
# keeps once it has it, as language runtimes do (the stream then lives as long as the Store).
PRINTER_WAT = """
(module
  (import "wasi:cli/stdout@0.2.6" "get-stdout" (func $get_stdout (result i32)))
  (import "wasi:io/streams@0.2.6" "[method]output-stream.blocking-write-and-flush"
    (func $write (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (global $out (mut i32) (i32.const -1))
  (func (export "test:printer/api#say") (param $ptr i32) (param $len i32)
    (if (i32.eq (global.get $out) (i32.const -1))
      (then (global.set $out (call $get_stdout))))
    (call $write (global.get $out) (local.get $ptr) (local.get $len) (i32.const 8))
    (global.set $heap (i32.const 1024)))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (local.get $p))
)
"""

RUNS = 5  # each exit panicked with a probability of about 2/3 before


def test_a_worker_that_wrote_to_stdout_exits_cleanly(tmp_path: Path):
    component = tmp_path / "printer.wasm"
    component.write_bytes(build_wat_component("printer", PRINTER_WIT, PRINTER_WAT, "printer"))
    for _ in range(RUNS):
        done = _run("""
            import sys
            from pytest_hotupdate.registry import Registry
            from pytest_hotupdate.engine import Runtime
            registry = Registry(Runtime())
            registry.add("printer", sys.argv[1])
            for _ in range(20):
                worker = registry.worker("printer")
                worker.invoke("test:printer/api.{say}", "hello\\n")
            print(worker.stdout, end="")
            """, tmp_path, str(component))
        assert (done.returncode, done.stdout, done.stderr) == (0, "hello\n", "")


def test_the_printer_in_process(registry: Registry, tmp_path: Path):
    component = tmp_path / "printer.wasm"
    component.write_bytes(build_wat_component("printer", PRINTER_WIT, PRINTER_WAT, "printer"))
    registry.add("printer", component)
    worker = registry.worker("printer")
    worker.invoke("test:printer/api.{say}", "one ")
    worker.close()
    worker.invoke("test:printer/api.{say}", "two")
    assert worker.stdout == "one two"  # the replay's output is not captured twice


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the connection outlives the request

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b"hello from the host"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the log
        pass


@pytest.fixture
def http_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hello"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.mark.slow
def test_workers_that_used_outgoing_http_exit_cleanly(tmp_path: Path, http_url: str):
    for _ in range(RUNS):
        done = _run("""
            import sys
            from pytest_hotupdate.host import SandboxGrants
            from pytest_hotupdate.registry import Registry
            from pytest_hotupdate.engine import Runtime
            from sample_components.build import build
            registry = Registry(Runtime())
            registry.add("sandbox", build("sandbox", "v1"))
            for _ in range(3):
                worker = registry.worker("sandbox", grants=SandboxGrants(http=True))
                print(worker.invoke("golem:sandbox/api.{http-get}", sys.argv[1]))
                worker.invoke("golem:sandbox/api.{say}", "done")
            """, tmp_path, http_url)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["Ok(value='200 hello from the host')"] * 3
        assert done.stderr == ""
