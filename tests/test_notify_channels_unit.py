"""The channels' limits, against real sockets: a peer that trickles bytes cannot hold a
send past its time-out (HTTP and SMTP); an SMS body template in XML is escaped."""

from __future__ import annotations

import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from emergency.notify.channels import http_request, send_email, send_sms
from emergency.settings import Settings


@contextmanager
def trickler(first: bytes) -> Iterator[int]:
    """A TCP server that reads a little, then sends ``first`` one byte every 0.3 s."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(0.2)
                with suppress(OSError):
                    conn.recv(65536)
                for byte in first * 2:
                    if stop.is_set():
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break
                    time.sleep(0.3)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        server.close()


def test_a_trickling_webhook_is_cut_at_the_time_out() -> None:
    with trickler(b"HTTP/1.1 200 OK\r\nX-Slow: ") as port:
        started = time.monotonic()
        answer = http_request(f"http://127.0.0.1:{port}/hook", b"{}", {}, timeout=1.0)
        took = time.monotonic() - started
    assert not answer.ok and answer.error == "timed out after 1 s"
    assert took < 2.5, took  # each byte came within the socket's time-out


def test_a_trickling_smtp_server_is_cut_at_the_time_out() -> None:
    with trickler(b"220 slow.example ESMTP\r\n") as port:
        config = Settings(smtp_host="127.0.0.1", smtp_port=port, notify_timeout_s=1.0)
        message = EmailMessage()
        message["To"], message["From"], message["Subject"] = "a@b.cn", "c@d.cn", "x"
        message.set_content("x")
        started = time.monotonic()
        answer = send_email(config, message)
        took = time.monotonic() - started
    assert not answer.ok and answer.error == "timed out after 1 s"
    assert took < 2.5, took


def test_an_xml_sms_body_is_escaped() -> None:
    got: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        config = Settings(
            sms_url=f"http://127.0.0.1:{server.server_address[1]}/soap",
            sms_body="<sms><to>{phone}</to><text>{text}</text></sms>",
            sms_content_type="text/xml; charset=utf-8",
        )
        hostile = '停产</text><to>13900000000</to><text>" & \\'
        assert send_sms(config, "13812345678", hostile).ok
    finally:
        server.shutdown()
        server.server_close()
    root = ET.fromstring(got[0])
    assert [e.text for e in root.iter("to")] == ["13812345678"]
    assert root.findtext("text") == hostile
