"""How a notification leaves: an HTTP POST (webhooks), SMTP (email), an SMS gateway.

Each sender returns an :class:`Answer` — the status the other side gave (HTTP status, or
the SMTP reply code) and the error — and never raises for the other side's faults, so
the dispatcher can record every attempt. No proxies from the environment, no redirects
followed: a redirect is an answer that is not 2xx.
"""

from __future__ import annotations

import http.client
import json
import smtplib
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

from emergency.settings import Settings

MAX_ERROR = 500
"""Characters of an error kept."""

WEBHOOK, EMAIL, SMS = "webhook", "email", "sms"
CHANNELS = (WEBHOOK, EMAIL, SMS)


@dataclass(frozen=True)
class Answer:
    """What a send got: the status (HTTP, or SMTP's reply code; None when none came) and
    the error."""

    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Sender(Protocol):
    """How a webhook is called: ``(url, body, headers, timeout) → Answer``; with
    ``addresses``, the connection goes to those (in turn) and the URL's host is not looked
    up again."""

    def __call__(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout: float,
        *,
        addresses: Sequence[str] | None = None,
    ) -> Answer: ...


Lookup = Callable[[str], list[str]]
"""A host name → its addresses (the system's resolver: :func:`system_lookup`)."""


def system_lookup(host: str) -> list[str]:
    """The addresses the system's resolver gives for ``host``, in its order."""
    found: list[str] = []
    for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM):
        address = str(info[4][0])
        if address not in found:
            found.append(address)
    return found


LOOKUPS_AT_ONCE = 32
"""Lookups waiting on the resolver at most: while it does not answer, each delivery would
leave one more thread behind; beyond these a delivery fails at once (and is retried)."""
_lookups = threading.BoundedSemaphore(LOOKUPS_AT_ONCE)


def resolve(host: str, timeout: float, lookup: Lookup = system_lookup) -> list[str]:
    """``lookup(host)`` within ``timeout`` seconds: the system's resolver has no time-out
    of its own that a caller can set (a resolver that does not answer holds it for
    tens of seconds), so it runs on a thread of its own, left behind when too slow — at
    most :data:`LOOKUPS_AT_ONCE` of them. Raises :class:`TimeoutError`, or an
    :class:`OSError` for a failed lookup (whatever the resolver raised: a name too long
    to encode is a failed lookup too)."""
    if not _lookups.acquire(blocking=False):
        raise OSError(f"{LOOKUPS_AT_ONCE} lookups already wait on the resolver")
    got: list[list[str]] = []
    failed: list[Exception] = []
    done = threading.Event()

    def look() -> None:
        try:
            got.append(lookup(host))
        except Exception as exc:  # handed to the caller, whatever it is
            failed.append(exc)
        finally:
            _lookups.release()
            done.set()

    threading.Thread(target=look, name=f"resolve {host}", daemon=True).start()
    if not done.wait(max(0.0, timeout)):
        raise TimeoutError(f"no answer within {timeout:g} s")
    if failed:
        if isinstance(failed[0], OSError):
            raise failed[0]
        raise OSError(f"{type(failed[0]).__name__}: {failed[0]}") from failed[0]
    return got[0] if got else []


def looked_up(host: str, timeout: float, lookup: Lookup = system_lookup) -> list[str] | Answer:
    """``host``'s addresses (:func:`resolve`), or the failed attempt's :class:`Answer`."""
    try:
        found = resolve(host, timeout, lookup)
    except TimeoutError:
        return Answer(None, f"cannot resolve {host} within {timeout:g} s"[:MAX_ERROR])
    except OSError as exc:
        return Answer(None, f"cannot resolve {host}: {exc}"[:MAX_ERROR])
    return found or Answer(None, f"cannot resolve {host}: no address"[:MAX_ERROR])


@contextmanager
def deadline(seconds: float, sock: Callable[[], socket.socket | None]) -> Iterator[threading.Event]:
    """A wall-clock limit on one exchange: when ``seconds`` are up, the connection's socket
    (``sock()``) is shut down, so a peer that trickles a byte every few seconds — each read
    within the socket's own time-out — cannot hold a worker (and outlive the claim's
    lease). The event tells whether it fired."""
    fired = threading.Event()

    def cut() -> None:
        fired.set()
        current = sock()
        if current is not None:
            with suppress(OSError):
                current.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


def _connect_to(addresses: Sequence[str], until: float) -> Callable[..., socket.socket]:
    """A ``create_connection`` that connects to ``addresses`` in turn (the port asked),
    whatever host it is given: the host stays the URL's for the ``Host`` header and for
    TLS (its name is what the certificate must show). All of them together by ``until``
    (``time.monotonic()``): a name with many addresses that do not answer cannot hold a
    worker for one time-out each."""

    def connect(
        address: tuple[str, int], timeout: float, source: tuple[str, int] | None = None
    ) -> socket.socket:
        return connect_in_turn(addresses, address[1], until, source)

    return connect


def connect_in_turn(
    addresses: Sequence[str], port: int, until: float, source: tuple[str, int] | None = None
) -> socket.socket:
    """A connection to the first of ``addresses`` that answers on ``port`` by ``until``
    (``time.monotonic()``); the last error, or :class:`TimeoutError` when the time is up."""
    last: OSError = OSError("no address to connect to")
    for ip in addresses:
        left = until - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out connecting")
        try:
            return socket.create_connection((ip, port), left, source)
        except OSError as exc:
            last = exc
    raise last


def http_request(
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    timeout: float,
    method: str = "POST",
    *,
    addresses: Sequence[str] | None = None,
) -> Answer:
    """One HTTP request, all of it within ``timeout`` seconds, the host's lookup included;
    no redirects followed (an answer that is not 2xx), no proxies from the environment.
    With ``addresses`` the connection goes to them (the host is not looked up)."""
    began = time.monotonic()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Answer(None, f"not an http(s) URL: {url[:100]}")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    try:
        # The port always given: an IPv6 address's last group is not read as one.
        port = parts.port or kind.default_port
        connection = kind(parts.hostname, port, timeout=timeout)
    except (ValueError, http.client.InvalidURL) as exc:
        return Answer(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    if addresses is None:
        found = looked_up(parts.hostname, timeout)
        if isinstance(found, Answer):
            return found
        addresses = found
    until = began + timeout
    connection._create_connection = _connect_to(addresses, until)  # type: ignore[attr-defined]
    left = timeout - (time.monotonic() - began)
    if left <= 0:
        return Answer(None, f"timed out after {timeout:g} s")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        with deadline(left, lambda: connection.sock) as fired:
            try:
                connection.request(method, path, body=body, headers=headers)
                answer = connection.getresponse()
                answer.read(64 * 1024)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                if fired.is_set():
                    return Answer(None, f"timed out after {timeout:g} s")
                return Answer(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
        if fired.is_set():
            return Answer(None, f"timed out after {timeout:g} s")
    finally:
        connection.close()
    if 200 <= answer.status < 300:
        return Answer(answer.status, None)
    return Answer(answer.status, f"HTTP {answer.status} {answer.reason}"[:MAX_ERROR])


def http_post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    *,
    addresses: Sequence[str] | None = None,
) -> Answer:
    """POST ``body`` to ``url`` (a webhook), to ``addresses`` when given."""
    return http_request(url, body, headers, timeout, addresses=addresses)


def send_email(config: Settings, message: EmailMessage) -> Answer:
    """Hand ``message`` to the configured SMTP server (STARTTLS and login when set).

    Accepted by the server for every recipient → 250 (delivered as far as the city can
    see); a reply code ≥ 400 or a connection error → a failed attempt (retried)."""
    if not config.smtp_host:
        return Answer(None, "no SMTP server configured (EMERGENCY_SMTP_HOST)")
    limit = config.notify_timeout_s
    began = time.monotonic()
    found = looked_up(config.smtp_host, limit)  # within the limit, as the rest
    if isinstance(found, Answer):
        return found
    smtp = smtplib.SMTP(timeout=limit)  # not connected yet: the deadline
    smtp._host = config.smtp_host  # type: ignore[attr-defined]  # STARTTLS checks this name

    def to_found(_host: str, port: int, _timeout: float) -> socket.socket:
        # the addresses looked up (no second lookup), all of them within the limit
        return connect_in_turn(found, port, began + limit)

    smtp._get_socket = to_found  # type: ignore[attr-defined]
    left = limit - (time.monotonic() - began)
    if left <= 0:
        return Answer(None, f"timed out after {limit:g} s")
    try:
        with deadline(left, lambda: getattr(smtp, "sock", None)) as fired, smtp:
            try:
                smtp.connect(config.smtp_host, config.smtp_port)
                if config.smtp_starttls:
                    cafile = str(config.smtp_ca_file) if config.smtp_ca_file else None
                    smtp.starttls(context=ssl.create_default_context(cafile=cafile))
                if config.smtp_user and config.smtp_password is not None:
                    smtp.login(config.smtp_user, config.smtp_password.get_secret_value())
                refused = smtp.send_message(message)
            except (smtplib.SMTPException, OSError) as exc:
                if fired.is_set():
                    return Answer(None, f"timed out after {limit:g} s")
                raise exc
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        return Answer(None, f"SMTP {exc.smtp_code} {text}"[:MAX_ERROR])
    except smtplib.SMTPRecipientsRefused as exc:
        return Answer(None, f"SMTP recipient refused: {exc.recipients}"[:MAX_ERROR])
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        return Answer(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    if refused:
        return Answer(None, f"SMTP recipient refused: {refused}"[:MAX_ERROR])
    return Answer(250, None)


def _escape(value: str, content_type: str) -> str:
    """``value`` as it may stand inside the gateway's body template: JSON string content
    for JSON, form-encoded for forms, escaped XML text for XML (SOAP gateways), as is
    otherwise (plain text). A measure's name comes from an enterprise's plan: it must not
    be able to add fields or elements to the gateway's request."""
    kind = content_type.split(";")[0].strip().lower()
    if kind.endswith("json"):
        return json.dumps(value, ensure_ascii=False)[1:-1]
    if kind == "application/x-www-form-urlencoded":
        return urllib.parse.quote_plus(value)
    if kind.endswith("xml"):
        return xml_escape(value, {'"': "&quot;", "'": "&apos;"})
    return value


def _fill(template: str, phone: str, text: str, escape: Callable[[str], str]) -> str:
    """The template with ``{phone}`` and ``{text}`` replaced (nothing else is a field)."""
    return template.replace("{phone}", escape(phone)).replace("{text}", escape(text))


def send_sms(config: Settings, phone: str, text: str) -> Answer:
    """Ask the configured SMS gateway to send ``text`` to ``phone`` (2xx: accepted)."""
    if not config.sms_url:
        return Answer(None, "no SMS gateway configured (EMERGENCY_SMS_URL)")
    url = _fill(config.sms_url, phone, text, urllib.parse.quote)
    headers = {"User-Agent": "emergency-sms"}
    if config.sms_auth_header is not None:
        name, _, value = config.sms_auth_header.get_secret_value().partition(":")
        headers[name.strip()] = value.strip()
    if config.sms_method == "GET":
        return http_request(url, None, headers, config.notify_timeout_s, method="GET")
    headers["Content-Type"] = config.sms_content_type
    body = _fill(config.sms_body, phone, text, lambda v: _escape(v, config.sms_content_type))
    return http_request(url, body.encode(), headers, config.notify_timeout_s)


__all__ = [
    "CHANNELS",
    "EMAIL",
    "MAX_ERROR",
    "SMS",
    "WEBHOOK",
    "Answer",
    "Lookup",
    "Sender",
    "http_post",
    "looked_up",
    "resolve",
    "send_email",
    "send_sms",
    "system_lookup",
]
