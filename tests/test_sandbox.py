"""The sandbox: a worker reaches nothing on the host unless granted (`sandbox` sample, v1).

The `sandbox` guest tries to read files, list directories, read environment variables, open a
TCP connection and send an HTTP request, and returns what it got as a value (never a trap), so
each test looks at a denial (or a grant) from the guest's side, through `Worker.invoke`. The
only peers are a TCP listener and an HTTP server this file starts on 127.0.0.1; each records
whether the guest reached it.
"""

from __future__ import annotations

import http.server
import select
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_hotupdate.errors import GrantError
from pytest_hotupdate.host import SandboxGrants
from pytest_hotupdate.registry import Registry
from pytest_hotupdate.values import Err, Ok
from pytest_hotupdate.worker import Worker

pytestmark = pytest.mark.slow

SECRET = "top secret: the host's own file"
OUTSIDE = "outside the granted directory"
HOST_VAR = "HOTUPDATE_SANDBOX_TEST_SECRET"
BODY = "hello from the host"
SERVE_TIMEOUT_S = 10


def call(worker: Worker, function: str, *args: Any) -> Any:
    return worker.invoke(f"golem:sandbox/api.{{{function}}}", *args)


def assert_err(value: Any, *, leaks: tuple[str, ...] = ()) -> str:
    """`value` is `err(text)` and the text carries none of `leaks`; returns the text."""
    assert isinstance(value, Err), f"expected a denial, the guest got {value!r}"
    assert isinstance(value.value, str)
    for leak in leaks:
        assert leak not in value.value
    return value.value


@pytest.fixture
def sandbox(registry: Registry, sample) -> Registry:  # type: ignore[no-untyped-def]
    registry.add("sandbox", sample("sandbox", "v1"))
    return registry


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """`<tmp>/data/secret.txt` (the directory a test may grant) and `<tmp>/outside.txt`."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret.txt").write_text(SECRET)
    (tmp_path / "outside.txt").write_text(OUTSIDE)
    return data


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.paths.append(self.path)
        body = BODY.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the log
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.paths: list[str] = []
        self.timeout = SERVE_TIMEOUT_S

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/hello"


@pytest.fixture
def http_server() -> Iterator[_Server]:
    """A tiny HTTP server on 127.0.0.1 (ephemeral port) answering `200 hello from the host`."""
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(SERVE_TIMEOUT_S)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 (ephemeral port) that never accepts by itself."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        sock.settimeout(SERVE_TIMEOUT_S)
        yield sock
    finally:
        sock.close()


def pending_connection(sock: socket.socket, wait_s: float = 0.2) -> bool:
    """Whether a connection is waiting in the listener's backlog (accepting and closing it)."""
    ready, _, _ = select.select([sock], [], [], wait_s)
    if not ready:
        return False
    conn, _ = sock.accept()
    conn.close()
    return True


# -- denied by default -------------------------------------------------------------------------

def test_default_reads_no_host_file(sandbox: Registry, files: Path, tmp_path: Path) -> None:
    worker = sandbox.worker("sandbox")
    for path in (files / "secret.txt", tmp_path / "outside.txt", Path("/etc/passwd")):
        text = assert_err(call(worker, "read-file", str(path)), leaks=(SECRET, OUTSIDE, "root:"))
        assert "No such file" in text or "denied" in text.lower()


def test_default_lists_no_directory(sandbox: Registry, files: Path, tmp_path: Path) -> None:
    worker = sandbox.worker("sandbox")
    for path in ("/", ".", "/etc", str(tmp_path), str(files)):
        assert_err(call(worker, "list-dir", path), leaks=("secret.txt", "outside.txt", "passwd"))


def test_default_sees_no_environment(sandbox: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOST_VAR, "leaked")
    worker = sandbox.worker("sandbox")
    assert call(worker, "get-env", HOST_VAR) is None
    assert call(worker, "get-env", "PATH") is None
    assert call(worker, "get-env", "HOME") is None
    assert call(worker, "env-count") == 0


def test_default_opens_no_socket(sandbox: Registry, listener: socket.socket) -> None:
    worker = sandbox.worker("sandbox")
    port = listener.getsockname()[1]
    assert_err(call(worker, "open-socket", "127.0.0.1", port))
    assert not pending_connection(listener), "the guest reached the host's listener"


def test_default_http_get_is_denied(sandbox: Registry, http_server: _Server) -> None:
    worker = sandbox.worker("sandbox")
    text = assert_err(call(worker, "http-get", http_server.url), leaks=(BODY,))
    assert text == "http-request-denied"
    assert http_server.paths == [], "the request reached the host's server"


def test_http_grant_is_not_a_network_grant(sandbox: Registry, listener: socket.socket) -> None:
    worker = sandbox.worker("sandbox", grants=SandboxGrants(http=True))
    assert_err(call(worker, "open-socket", "127.0.0.1", listener.getsockname()[1]))
    assert not pending_connection(listener)


# -- grants ------------------------------------------------------------------------------------

def test_env_grant_shows_exactly_that_variable(
    sandbox: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOST_VAR, "leaked")
    worker = sandbox.worker("sandbox", env={"MODE": "test"})
    assert call(worker, "get-env", "MODE") == "test"
    assert call(worker, "env-count") == 1
    assert call(worker, "get-env", HOST_VAR) is None
    assert call(worker, "get-env", "PATH") is None


def test_dir_grant_reads_only_that_directory(
    sandbox: Registry, files: Path, tmp_path: Path
) -> None:
    grants = SandboxGrants.from_options(dirs={str(files): "/data"})
    worker = sandbox.worker("sandbox", grants=grants)
    assert call(worker, "read-file", "/data/secret.txt") == Ok(SECRET)
    assert call(worker, "list-dir", "/data") == Ok(["secret.txt"])
    for path in ("/etc/passwd", "/data/../outside.txt", str(tmp_path / "outside.txt"),
                 str(files / "secret.txt")):
        assert_err(call(worker, "read-file", path), leaks=(OUTSIDE, "root:", SECRET))
    for path in ("/", "/data/..", str(tmp_path)):
        assert_err(call(worker, "list-dir", path), leaks=("outside.txt", "secret.txt"))


def test_dir_grant_grants_nothing_else(
    sandbox: Registry, files: Path, monkeypatch: pytest.MonkeyPatch, http_server: _Server
) -> None:
    monkeypatch.setenv(HOST_VAR, "leaked")
    worker = sandbox.worker("sandbox", grants=SandboxGrants.from_options(dirs={str(files): "/data"}))
    assert call(worker, "env-count") == 0
    assert assert_err(call(worker, "http-get", http_server.url)) == "http-request-denied"
    assert http_server.paths == []


def test_http_grant_fetches_from_the_local_server(
    sandbox: Registry, http_server: _Server
) -> None:
    worker = sandbox.worker("sandbox", grants=SandboxGrants(http=True))
    assert call(worker, "http-get", http_server.url) == Ok(f"200 {BODY}")
    assert http_server.paths == ["/hello"]
    # Still no files: the HTTP grant is only the HTTP grant.
    assert_err(call(worker, "read-file", "/etc/passwd"), leaks=("root:",))


def test_stdout_and_stderr_are_captured_per_worker(registry: Registry, sample) -> None:  # type: ignore[no-untyped-def]
    from pytest_hotupdate.oplog import Log

    registry.add("sandbox", sample("sandbox", "v1"))
    first, second = registry.worker("sandbox"), registry.worker("sandbox")
    first.invoke("golem:sandbox/api.{say}", "hello from one")
    second.invoke("golem:sandbox/api.{say}", "two")
    assert first.stdout == "hello from one\n" and first.stderr == "said 14 characters\n"
    assert second.stdout == "two\n"
    logged = "".join(e.text for e in first.oplog if isinstance(e, Log) and e.stream == "stdout")
    assert logged == "hello from one\n"
    first.restart()  # replayed output is not captured twice
    assert first.stdout == "hello from one\n"


def test_a_network_grant_is_refused_clearly(registry: Registry, sample) -> None:  # type: ignore[no-untyped-def]
    from pytest_hotupdate.errors import HotUpdateError

    registry.add("sandbox", sample("sandbox", "v1"))
    with pytest.raises(HotUpdateError, match="network grant is not supported"):
        registry.worker("sandbox", grants=SandboxGrants(network=True))


def test_a_nul_byte_in_a_granted_path_is_refused(
    sandbox: Registry, files: Path, tmp_path: Path
) -> None:
    # Cut at the NUL, this path would grant tmp_path, where outside.txt lies (issue 12, item 14).
    sneaky = f"{tmp_path}\0/files"
    for build in (lambda: SandboxGrants.from_options(dirs={sneaky: "/data"}),
                  lambda: SandboxGrants(dirs=((sneaky, "/data", False),)),
                  lambda: SandboxGrants.from_options(dirs={str(files): "/data\0/x"})):
        with pytest.raises(GrantError, match="contains a NUL byte") as info:
            build()
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("make", [
    lambda tmp: tmp / "missing",
    lambda tmp: tmp / "outside.txt",
    lambda tmp: tmp / "dangling",
], ids=["missing", "a-file", "dangling-link"])
def test_a_grant_that_is_not_an_existing_directory_is_refused(
    files: Path, tmp_path: Path, make  # type: ignore[no-untyped-def]
) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    path = make(tmp_path)
    with pytest.raises(GrantError, match="cannot grant directory") as info:
        SandboxGrants.from_options(dirs={str(path): "/data"})
    assert str(path) in str(info.value)
    with pytest.raises(GrantError):
        SandboxGrants(dirs=((str(path), "/data", False),))


def test_a_grant_through_a_link_is_the_directory_it_named(
    sandbox: Registry, files: Path, tmp_path: Path
) -> None:
    link = tmp_path / "link"
    link.symlink_to(files)
    grants = SandboxGrants.from_options(dirs={str(link): "/data"})
    assert grants.dirs == ((str(files.resolve()), "/data", False),)
    link.unlink()
    link.symlink_to(tmp_path)  # re-pointed after the grant: the worker still sees files only
    worker = sandbox.worker("sandbox", grants=grants)
    assert call(worker, "list-dir", "/data") == Ok(["secret.txt"])
