"""The channels' limits, against real sockets: a peer that trickles bytes cannot hold a
send past its time-out (HTTP and SMTP), nor can a resolver that does not answer; a webhook
goes to the addresses its host was checked at, not to what the name says a moment later;
an SMS body template in XML is escaped."""

from __future__ import annotations

import socket
import ssl
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from emergency.notify.channels import Answer, http_post, http_request, send_email, send_sms
from emergency.notify.dispatch import public_only
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


@contextmanager
def host_recorder(tls: ssl.SSLContext | None = None) -> Iterator[tuple[int, list[str]]]:
    """A real HTTP server on loopback (HTTPS with ``tls``) answering 204 and recording
    each request's Host."""
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hosts.append(self.headers.get("Host", ""))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), hosts
    finally:
        server.shutdown()
        server.server_close()


def test_a_webhook_goes_to_the_addresses_given_not_to_a_new_lookup() -> None:
    # "hook.invalid" resolves nowhere (RFC 6761): only the address given can have reached
    # the server, under the URL's own Host
    with host_recorder() as (port, hosts):
        url = f"http://hook.invalid:{port}/hook"
        answer = http_post(url, b"{}", {}, 2.0, addresses=["127.0.0.1"])
        assert answer.ok, answer
        assert hosts == [f"hook.invalid:{port}"]
        # several addresses are tried in turn: the first refuses (nothing listens on its
        # port there)
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        refusing = f"http://hook.invalid:{closed.getsockname()[1]}/hook"
        assert not http_post(refusing, b"{}", {}, 2.0, addresses=["127.0.0.1"]).ok
        answer = http_post(url, b"{}", {}, 2.0, addresses=["::1", "127.0.0.1"])
        closed.close()
        assert answer.ok, answer
        assert len(hosts) == 2


@contextmanager
def black_hole() -> Iterator[int]:
    """A port on loopback where a connection is never accepted: its queue (of one) is
    full, so a new one waits for its SYN's answer until it gives up."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    waiting = []
    for _ in range(3):
        client = socket.socket()
        client.setblocking(False)
        with suppress(BlockingIOError):
            client.connect(("127.0.0.1", port))
        waiting.append(client)
    time.sleep(0.1)
    try:
        yield port
    finally:
        for client in waiting:
            client.close()
        server.close()


def test_addresses_that_do_not_answer_share_one_time_out() -> None:
    # a name with many addresses, none answering: one time-out for all, not one each (a
    # worker held past its claim's lease would see the notification sent twice)
    with black_hole() as port:
        started = time.monotonic()
        url = f"http://hook.invalid:{port}/hook"
        answer = http_post(url, b"{}", {}, 1.0, addresses=["127.0.0.1"] * 4)
        took = time.monotonic() - started
    assert not answer.ok and answer.error == "timed out after 1 s"
    assert took < 1.8, took


def test_https_to_a_pinned_address_still_checks_the_certificate_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # the connection goes to the address checked, the certificate must still show the
    # URL's name: the address alone proves nothing
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # the default context's trust
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hook.test").configure_cert(context)
    with host_recorder(context) as (port, hosts):
        good = http_post(f"https://hook.test:{port}/hook", b"{}", {}, 2.0, addresses=["127.0.0.1"])
        assert good.ok, good
        assert hosts == [f"hook.test:{port}"]
        other = f"https://other.test:{port}/hook"
        wrong = http_post(other, b"{}", {}, 2.0, addresses=["127.0.0.1"])
    assert not wrong.ok and "CERTIFICATE_VERIFY_FAILED" in (wrong.error or ""), wrong
    assert len(hosts) == 1


def test_a_lookup_that_fails_oddly_is_a_failed_attempt() -> None:
    def too_long(host: str) -> list[str]:
        raise UnicodeError("label too long")  # what getaddrinfo raises for such a name

    def never(*_args: object, **_kw: object) -> Answer:
        raise AssertionError("nothing may be sent to a host not resolved")

    answer = public_only(never, too_long)("https://x.example/hook", b"{}", {}, 1.0)
    assert answer.error == "cannot resolve x.example: UnicodeError: label too long"


def test_a_resolver_that_does_not_answer_is_given_up_at_the_time_out() -> None:
    asked: list[str] = []

    def silent(host: str) -> list[str]:
        asked.append(host)
        time.sleep(5)
        return ["93.184.216.34"]

    def never(*_args: object, **_kw: object) -> Answer:
        raise AssertionError("nothing may be sent to a host not resolved")

    started = time.monotonic()
    answer = public_only(never, silent)("https://slow.example/hook", b"{}", {}, 1.0)
    took = time.monotonic() - started
    assert asked == ["slow.example"]
    assert not answer.ok and answer.error == "cannot resolve slow.example within 1 s"
    assert took < 2.0, took


def test_a_name_is_looked_up_once_and_sent_to_where_it_was_checked() -> None:
    # a name that answers a public address to the check and loopback after it (DNS
    # rebinding): the delivery goes to the address checked, the name is not asked again
    answers = [["93.184.216.34"], ["127.0.0.1"]]
    asked: list[str] = []
    sent: list[tuple[list[str] | None, float]] = []

    def rebinding(host: str) -> list[str]:
        asked.append(host)
        return answers[min(len(asked), len(answers)) - 1]

    def recording(
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout: float,
        *,
        addresses: Sequence[str] | None = None,
    ) -> Answer:
        sent.append((None if addresses is None else list(addresses), timeout))
        return Answer(204, None)

    guarded = public_only(recording, rebinding)
    assert guarded("https://rebind.example/hook", b"{}", {}, 5.0).ok
    assert asked == ["rebind.example"]
    assert sent[0][0] == ["93.184.216.34"] and 0 < sent[0][1] <= 5.0
    # the next delivery looks the name up afresh: now loopback, refused, nothing sent
    refused = guarded("https://rebind.example/hook", b"{}", {}, 5.0)
    assert refused.error == "refused: rebind.example resolves to 127.0.0.1, not public"
    assert len(sent) == 1


def test_a_name_that_resolves_nowhere_is_an_answer_within_the_time_out() -> None:
    # the system's own resolver (RFC 6761: .invalid never resolves): a failed attempt, at
    # once or at the time-out, whichever the resolver gives — never a worker held longer
    started = time.monotonic()
    answer = http_request("https://hook.invalid/hook", b"{}", {}, timeout=1.0)
    took = time.monotonic() - started
    assert not answer.ok and (answer.error or "").startswith("cannot resolve hook.invalid")
    assert took < 2.0, took
