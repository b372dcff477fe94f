"""golem:sandbox v1: a guest that tries to reach the host and reports what it got.

Every function catches every exception and returns it as text, so a denial shows up as a
value (`err("...")` or `none`), never as a trap.
"""
import encodings.idna  # noqa: F401  (socket encodes host names with it; load it at build time)
import os
import socket
import sys
from urllib.parse import urlsplit

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import outgoing_handler
from wit_world.imports.streams import StreamError_Closed
from wit_world.imports.types import (
    Fields,
    OutgoingRequest,
    Scheme_Http,
    Scheme_Https,
    Scheme_Other,
)

BODY_PREFIX = 200
READ_CHUNK = 16 * 1024
SOCKET_TIMEOUT_S = 5


def describe(error: BaseException) -> str:
    """`ExceptionType: message`; a WIT error value (`Err(x)`) is described by `x`."""
    if isinstance(error, Err):
        return describe_value(error.value)
    return f"{type(error).__name__}: {error}"


def describe_value(value) -> str:
    """`ErrorCode_HttpRequestDenied()` -> `http-request-denied`, with a payload if any."""
    name = type(value).__name__
    if "_" in name:
        case = name.split("_", 1)[1]
        kebab = "".join("-" + c.lower() if c.isupper() else c for c in case).lstrip("-")
        payload = getattr(value, "value", None)
        return f"{kebab}({payload!r})" if payload is not None else kebab
    return repr(value)


def scheme_of(name: str):
    if name == "http":
        return Scheme_Http()
    if name == "https":
        return Scheme_Https()
    return Scheme_Other(name)


def read_body(response) -> bytes:
    """Reads at most BODY_PREFIX bytes of the response body."""
    data = b""
    with response.consume() as body:
        with body.stream() as stream:
            while len(data) < BODY_PREFIX:
                try:
                    chunk = stream.blocking_read(READ_CHUNK)
                except Err as error:
                    if isinstance(error.value, StreamError_Closed):
                        break
                    raise
                data += chunk
    return data[:BODY_PREFIX]


def http_get(url: str) -> str:
    parts = urlsplit(url)
    request = OutgoingRequest(Fields())
    request.set_scheme(scheme_of(parts.scheme))
    request.set_authority(parts.netloc)
    path = parts.path or "/"
    request.set_path_with_query(path + ("?" + parts.query if parts.query else ""))
    future = outgoing_handler.handle(request, None)  # raises Err(error-code) when refused
    with future:
        while True:
            outcome = future.get()
            if outcome is not None:
                break
            with future.subscribe() as ready:
                ready.block()
    if isinstance(outcome, Err):
        raise RuntimeError("response already taken")
    inner = outcome.value
    if isinstance(inner, Err):
        raise inner
    with inner.value as response:
        status = response.status()
        body = read_body(response)
    return f"{status} {body.decode('utf-8', 'replace')}"


class Api(exports.Api):
    def read_file(self, path: str) -> str:
        try:
            with open(path) as f:
                return f.read()
        except Exception as error:
            raise Err(describe(error))

    def list_dir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(path))
        except Exception as error:
            raise Err(describe(error))

    def get_env(self, name: str) -> str | None:
        try:
            return os.environ.get(name)
        except Exception:
            return None

    def env_count(self) -> int:
        try:
            return len(os.environ)
        except Exception:
            return 0

    def say(self, text: str) -> None:
        print(text, flush=True)
        print(f"said {len(text)} characters", file=sys.stderr, flush=True)

    def open_socket(self, host: str, port: int) -> None:
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(SOCKET_TIMEOUT_S)
                sock.connect((host, port))  # a numeric address needs no name lookup
                return None
        except Exception as error:
            raise Err(describe(error))

    def http_get(self, url: str) -> str:
        try:
            return http_get(url)
        except Exception as error:
            raise Err(describe(error))
