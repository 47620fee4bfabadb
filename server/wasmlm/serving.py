"""How `wasmlm serve` runs uvicorn: the limits that keep hostile or broken clients from starving the rest.

Measured with tests/server/test_hostile.py (figures in docs/hostile-clients.md). uvicorn alone arms its
keep-alive timeout only after a response, so a connection that never finishes its headers (idle, or a
slowloris trickling one byte a second) was held forever, and httptools puts no bound on header size.
GuardedHttpToolsProtocol adds both:

- HEADER_TIMEOUT: a connection's first request, and every later one from its first byte, must complete
  its headers within this many seconds, else 408 and close (nginx's client_header_timeout is 60 s; the
  page's requests are one line and a dozen headers).
- MAX_HEADER_BYTES: at most this much request line and headers, else 431 and close.
- KEEP_ALIVE (uvicorn's timeout_keep_alive): an idle connection between requests is closed after this.
- LIMIT_CONCURRENCY: beyond this many connections or running requests, new requests get 503 at once
  (uvicorn's limit_concurrency): far above what a page or a load test opens, far below the file limit,
  which serve_limits() raises to its hard maximum.
- BACKLOG: connections the kernel queues while the server is busy.

A client that stops reading its response costs one paused transfer (up to the transport's buffer plus
one 256 KiB file read) until it closes: no CPU, and other clients are served meanwhile. Per-client
limits (connections per address, rates) belong to a reverse proxy in front.
"""
import resource

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = 10.0
MAX_HEADER_BYTES = 64 * 1024
KEEP_ALIVE = 5
LIMIT_CONCURRENCY = 4096
BACKLOG = 2048


def _close_with(protocol, status: bytes) -> None:
    if not protocol.transport.is_closing():
        protocol.transport.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        protocol.transport.close()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit for request headers."""
    header_timeout = HEADER_TIMEOUT
    max_header_bytes = MAX_HEADER_BYTES

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._header_timer = None
        self._header_bytes = 0
        self._in_headers = False

    def _header_wait(self) -> None:
        """A request has begun (or may, on a new connection): its headers are due by the deadline."""
        if self._in_headers:
            return
        self._in_headers, self._header_bytes = True, 0
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timeout)

    def _header_done(self) -> None:
        self._in_headers = False
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self._in_headers:
            _close_with(self, b"408 Request Timeout")

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._header_wait()

    def connection_lost(self, exc) -> None:
        self._header_done()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        in_headers = self._in_headers
        super().data_received(data)
        if in_headers and self._in_headers:  # still no complete headers after this data
            self._header_bytes += len(data)
            if self._header_bytes > self.max_header_bytes:
                self._header_done()
                _close_with(self, b"431 Request Header Fields Too Large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_wait()

    def on_headers_complete(self) -> None:
        self._header_done()
        super().on_headers_complete()


def protocol_with(header_timeout: float) -> type:
    """The guarded protocol with another header deadline (tests use a short one)."""
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {"header_timeout": header_timeout})


def serve_limits() -> dict:
    """uvicorn.run keyword arguments; raises the open-file limit so connections, not files, hit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
    return {"limit_concurrency": LIMIT_CONCURRENCY, "backlog": BACKLOG, "timeout_keep_alive": KEEP_ALIVE}
