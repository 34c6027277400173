"""A real webhook receiver for the tests: stdlib ``http.server`` on a thread; it checks
the HMAC signature itself (not with the engine's code) and records what it got."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Got:
    message_id: str
    event: str
    body: bytes
    signed: bool
    at: float


@dataclass
class Receiver:
    """Answers each request with the next of ``answers`` (then 200); ``hold`` keeps the
    first request open until it is set; ``delay`` seconds before every answer."""

    secret: str
    answers: list[int] = field(default_factory=list)
    hold: threading.Event | None = None
    delay: float = 0.0
    got: list[Got] = field(default_factory=list)
    in_flight: set[str] = field(default_factory=set)
    overlaps: list[str] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        with self.lock:
            return [g.message_id for g in self.got]

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        message_id = headers.get("x-emergency-delivery", "")
        stamp = headers.get("x-emergency-timestamp", "")
        mac = hmac.new(self.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        signed = hmac.compare_digest(
            f"sha256={mac.hexdigest()}", headers.get("x-emergency-signature", "")
        )
        with self.lock:
            if message_id in self.in_flight:
                self.overlaps.append(message_id)
            self.in_flight.add(message_id)
            first = not self.got
            event = headers.get("x-emergency-event", "")
            self.got.append(Got(message_id, event, body, signed, time.monotonic()))
            status = self.answers.pop(0) if self.answers else 200
        try:
            if first and self.hold is not None:
                self.hold.wait(60)
            if self.delay:
                time.sleep(self.delay)
        finally:
            with self.lock:
                self.in_flight.discard(message_id)
        return status if signed else 401


@contextmanager
def serving(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.handle(headers, body)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:  # the dispatcher is gone (killed)
                pass

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        # The listen backlog: http.server's 5 reset connections when two dispatchers of
        # 16 workers each connect at once (a reset is a retry, and the test counted it).
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield receiver
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        server.shutdown()
        server.server_close()
