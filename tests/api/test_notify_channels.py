"""Email (a real SMTP server, aiosmtpd, with STARTTLS and a login), SMS (a real HTTP
gateway) and the plan's contacts as recipients; the "acknowledgement overdue" event."""

from __future__ import annotations

import email
import email.policy
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import create_app
from emergency.notify.channels import send_sms
from emergency.notify.dispatch import Dispatcher
from emergency.notify.texts import SMS_SEGMENT, sms_text
from emergency.service.enterprises import open_store
from emergency.settings import Settings
from emergency.store.db import Store
from emergency.store.models import Notification, OrderEvent
from tests.api.conftest import STREAM_MINUTES, Clock, bearer, make_token
from tests.api.test_notify import API, Auth, approve, subscribe
from tests.datafiles import small_plans, write_small_dataset
from tests.pages.live import free_port
from tests.webhook_receiver import Receiver, serving

HOSTILE = ' "},"phone":"13900000000","x":"\\'
"""Appended to JY-P001's measure names: it must not add a field to the gateway's JSON."""
MOBILE = "13812345678"
EMAIL = "zhang.min@p001.example.cn"
USER, PASSWORD = "emergency", "smtp-password-0123"


# ------------------------------------------------------------------ a real SMTP server


@dataclass
class Mailbox:
    """What the SMTP server accepted; ``fail`` answers the next DATA commands with 451."""

    messages: list[EmailMessage] = field(default_factory=list)
    fail: int = 0
    logins: list[str] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.fail:
            self.fail -= 1
            return "451 4.3.0 try again later"
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.tls.append(session.ssl is not None)
        return "250 OK"


@dataclass
class Smtp:
    host: str
    port: int
    ca_file: Path
    mailbox: Mailbox


def authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok)


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Smtp]:
    """aiosmtpd on loopback that requires STARTTLS (a throw-away CA's certificate) and a
    login before it takes mail."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield Smtp("127.0.0.1", port, ca_file, mailbox)
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp: Smtp) -> Mailbox:
    smtp.mailbox.messages.clear()
    smtp.mailbox.fail = 0
    smtp.mailbox.tls.clear()
    return smtp.mailbox


# ------------------------------------------------------------------ a real SMS gateway


@dataclass
class Gateway:
    """An HTTP SMS gateway: records each request, answers 200 (or the next of ``answers``)."""

    got: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gw = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body: bytes) -> None:
            gw.got.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status = gw.answers.pop(0) if gw.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def do_POST(self) -> None:
            self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def do_GET(self) -> None:
            self._answer(b"")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    gw.url = f"http://127.0.0.1:{server.server_address[1]}/sms/send"
    try:
        yield gw
    finally:
        server.shutdown()
        server.server_close()


# ------------------------------------------------------------------ the service


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The small city, JY-P001's plan with an email and a mobile, and hostile measure
    names (quotes, a backslash)."""
    plans = small_plans()
    plan = plans["JY-P001"]
    plan["contact"] = {"person": "张敏", "phone": "0391-6600000", "email": EMAIL, "mobile": MOBILE}
    for measure in plan.get("measures", []):
        measure["name"] = measure["name"] + HOSTILE
    return write_small_dataset(tmp_path / "data", plans=plans)


@pytest.fixture
def store(
    data_dir: Path, db_url: str | None, clock: Clock, smtp: Smtp, gateway: Gateway
) -> Iterator[Store]:
    opened = open_store(
        data_dir,
        db_url,
        solver_time_limit_s=10.0,
        now=clock,
        notify_private_targets=True,
        stream_max_minutes=STREAM_MINUTES,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_starttls=True,
        smtp_ca_file=smtp.ca_file,
        smtp_user=USER,
        smtp_password=PASSWORD,
        smtp_from="济源市应急办 <notify@emergency.jiyuan.example.cn>",
        sms_url=gateway.url,
        sms_auth_header="Authorization: Bearer gateway-key-42",
        sms_sign="【济源应急】",
    )
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def settings(data_dir: Path, db_url: str | None) -> Settings:
    return Settings(data=data_dir, database_url=db_url, notify_dispatch=False)


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    app = create_app(settings, store=store)
    with TestClient(app, headers={"Accept-Language": "en"}) as test_client:
        yield test_client


def notifications(store: Store, *where: Any) -> list[Notification]:
    with store.session() as session:
        return list(session.scalars(select(Notification).where(*where).order_by(Notification.id)))


def test_orders_reach_the_plan_contact_by_email_and_sms(
    client: TestClient, auth: Auth, store: Store, clock: Clock, mailbox: Mailbox, gateway: Gateway
) -> None:
    approve(client, auth, clock)
    own = client.get(f"{API}/orders", headers=auth["enterprise"]).json()
    assert own
    rows = notifications(store, Notification.order_id.is_not(None))
    by_channel = {(n.channel, n.target, n.subscription_id) for n in rows}
    assert by_channel == {("email", EMAIL, None), ("sms", MOBILE, None)}  # no subscription
    assert len(rows) == 2 * len(own)
    counts = Dispatcher(store).run_once()
    assert counts == {"delivered": 2 * len(own), "pending": 0, "failed": 0}
    # email: through STARTTLS after a login, Chinese first, the message id as Message-ID
    assert len(mailbox.messages) == len(own) and all(mailbox.tls)
    ids = {n.message_id for n in rows if n.channel == "email"}
    for message in mailbox.messages:
        assert message["To"] == EMAIL
        assert message["From"] == "济源市应急办 <notify@emergency.jiyuan.example.cn>"
        subject = str(message["Subject"])
        assert (
            subject.startswith("应急减排指令下达：济源钢铁")
            and " / emergency order issued" in subject
        )
        assert message["X-Emergency-Delivery"] in ids
        assert (
            message["Message-ID"]
            == f"<{message['X-Emergency-Delivery']}@emergency.jiyuan.example.cn>"
        )
        body = message.get_content()
        assert body.index("预警级别：橙色预警") < body.index("Level: orange warning")
        assert "措施：" in body and HOSTILE.strip() in body
    # SMS: the gateway's JSON body holds exactly phone and text (the hostile name stays text)
    assert len(gateway.got) == len(own)
    for path, headers, raw in gateway.got:
        assert path == "/sms/send" and headers["authorization"] == "Bearer gateway-key-42"
        sent = json.loads(raw)
        assert set(sent) == {"phone", "text"} and sent["phone"] == MOBILE
        text = sent["text"]
        assert text.startswith("【济源应急】济源钢铁：第") and "橙色预警" in text
        assert len(text) <= SMS_SEGMENT
    texts = {json.loads(raw)["text"] for _, _, raw in gateway.got}
    assert any("12月16日起执行" in t for t in texts)


def test_a_refused_email_is_retried_with_the_same_message_id(
    client: TestClient, auth: Auth, store: Store, clock: Clock, mailbox: Mailbox
) -> None:
    subscribe(client, auth["admin"], channel="email", target="office@jiyuan.example.cn")
    approve(client, auth, clock)
    (warning,) = notifications(store, Notification.event == "warning.opened")
    assert (warning.channel, warning.recipient) == ("email", "city")
    mailbox.fail = 100  # every DATA answered 451
    Dispatcher(store).run_once()
    (retry,) = notifications(store, Notification.id == warning.id)
    assert retry.status == "pending" and retry.last_error and "451" in retry.last_error
    mailbox.fail = 0
    clock.advance(seconds=30)
    Dispatcher(store).run_once()
    (done,) = notifications(store, Notification.id == warning.id)
    assert (done.status, done.attempts) == ("delivered", 2)
    sent = [m for m in mailbox.messages if m["X-Emergency-Delivery"] == warning.message_id]
    assert len(sent) == 1
    assert sent[0]["Subject"].startswith("Jiyuan (test)发布重污染天气预警：橙色预警")


def test_sms_gateway_failures_are_retried_and_recorded(
    client: TestClient, auth: Auth, store: Store, clock: Clock, gateway: Gateway
) -> None:
    approve(client, auth, clock)
    sms = notifications(store, Notification.channel == "sms")
    gateway.answers = [503] * len(sms)
    first = Dispatcher(store).run_once()
    assert first["delivered"] == len(sms)  # the emails
    clock.advance(seconds=30)
    assert Dispatcher(store).run_once()["delivered"] == len(sms)
    done = notifications(store, Notification.channel == "sms")
    assert {(n.status, n.attempts) for n in done} == {("delivered", 2)}
    seen = client.get(f"{API}/orders/{done[0].order_id}/deliveries", headers=auth["planner"])
    view = {d["channel"]: d for d in seen.json()["deliveries"]}
    assert view["sms"]["target"] == MOBILE and view["sms"]["subscription_id"] is None
    assert [h["http_status"] for h in view["sms"]["history"]] == [503, 200]
    assert [h["http_status"] for h in view["email"]["history"]] == [250]
    # per recipient and channel, for the whole response
    rid = done[0].response_id
    whole = client.get(f"{API}/responses/{rid}/deliveries", headers=auth["planner"]).json()
    rows = {(r["recipient"], r["channel"]): r for r in whole["recipients"]}
    assert set(rows) == {("enterprise:JY-P001", "email"), ("enterprise:JY-P001", "sms")}
    sms_row = rows["enterprise:JY-P001", "sms"]
    assert sms_row["name"] == "济源钢铁" and sms_row["delivered"] == len(sms)
    assert sms_row["attempts"] == 2 * len(sms) and sms_row["last_error"] is None
    assert (whole["delivered"], whole["failed"], whole["unreached_orders"]) == (2 * len(sms), 0, [])
    refused = client.get(f"{API}/responses/{rid}/deliveries", headers=auth["enterprise"])
    assert refused.status_code == 403


def test_email_and_sms_subscriptions_are_checked(client: TestClient, auth: Auth) -> None:
    for channel, target in (
        ("email", "not an address"),
        ("email", "a@b.cn\r\nBcc: all@example.cn"),
        ("email", "名字 <a@b.cn>"),
        ("sms", "0391-6600000"),
        ("sms", "1381234567"),
        ("sms", "+1 555 0100"),
    ):
        bad = client.post(
            f"{API}/subscriptions",
            json={"channel": channel, "target": target},
            headers=auth["enterprise"],
        )
        assert bad.status_code == 400, (channel, target, bad.text)
    made = subscribe(client, auth["enterprise"], channel="sms", target="+86 138-1234-0000")
    assert (made["target"], made["secret"], made["enterprise"]) == ("13812340000", None, "JY-P001")


def test_email_and_sms_are_refused_where_the_server_cannot_send(
    data_dir: Path, db_url: str | None, auth_free_store: Store
) -> None:
    app = create_app(Settings(data=data_dir, database_url=db_url), store=auth_free_store)
    with TestClient(app) as client:
        headers = bearer(make_token(auth_free_store, "enterprise", "JY-P001"))
        for channel, target, word in (("email", EMAIL, "电子邮件"), ("sms", MOBILE, "短信")):
            answer = client.post(
                f"{API}/subscriptions", json={"channel": channel, "target": target}, headers=headers
            )
            assert answer.status_code == 400 and word in answer.json()["detail"], answer.text


@pytest.fixture
def auth_free_store(data_dir: Path, db_url: str | None, clock: Clock) -> Iterator[Store]:
    """A store of a server with neither SMTP nor an SMS gateway."""
    opened = open_store(data_dir, db_url, now=clock)
    try:
        yield opened
    finally:
        opened.dispose()


def test_sms_template_escapes_for_its_content_type(gateway: Gateway) -> None:
    form = Settings(
        sms_url=gateway.url + "?to={phone}",
        sms_body="mobile={phone}&content={text}&sign=x",
        sms_content_type="application/x-www-form-urlencoded",
    )
    text = "济源钢铁：停产 & sign=forged"
    assert send_sms(form, MOBILE, text).ok
    path, _headers, raw = gateway.got[-1]
    assert path == f"/sms/send?to={MOBILE}"
    assert parse_qs(raw.decode()) == {"mobile": [MOBILE], "content": [text], "sign": ["x"]}
    get = Settings(sms_url=gateway.url + "?to={phone}&msg={text}", sms_method="GET")
    assert send_sms(get, MOBILE, "a b&c").ok
    assert gateway.got[-1][0] == f"/sms/send?to={MOBILE}&msg=a%20b%26c"


def test_sms_text_fits_one_segment_with_the_essentials_first() -> None:
    order = {
        "id": 12,
        "source": "JY-P001",
        "source_name": "济源市某某钢铁集团有限公司第二炼铁厂",
        "level": "red",
        "start": "2016-12-16",
        "end": "2016-12-19",
        "measure": {"id": "red", "name": "烧结机全部停产；高炉焖炉；" * 6},
    }
    for event in ("order.issued", "order.superseded", "order.lifted", "order.ack_overdue"):
        text = sms_text({"event": event, "order": order}, "【济源市重污染天气应急】")
        assert len(text) <= SMS_SEGMENT, (event, len(text))
        assert text.startswith(
            "【济源市重污染天气应急】济源市某某钢铁集团有限公司第二炼铁厂：第12号指令"
        )
    issued = sms_text({"event": "order.issued", "order": order})
    assert "红色预警，12月16日起执行：烧结机" in issued and issued.endswith("…")
    warning = {"event": "warning.opened", "city_name": "济源市"}
    warning["warning"] = {"level": "orange", "start": "2016-12-16", "end": "2016-12-19"}
    assert (
        sms_text(warning)
        == "济源市发布重污染天气预警：橙色预警，12月16日至12月19日。请减少户外活动。"
    )


def test_an_unacknowledged_order_is_overdue_once(
    client: TestClient, auth: Auth, store: Store, clock: Clock
) -> None:
    with serving(Receiver("city-office-secret-0123456789")) as city:
        subscribe(client, auth["admin"], target=city.url, secret=city.secret)
        approve(client, auth, clock)
        other = bearer(make_token(store, "enterprise", "JY-P002"))  # JY-P001's stay unread
        acked = client.get(f"{API}/orders", headers=other).json()[0]["id"]
        assert client.post(f"{API}/orders/{acked}/ack", headers=other).status_code == 200
        Dispatcher(store).run_once()
        assert not notifications(store, Notification.event == "order.ack_overdue")
        clock.advance(hours=1, minutes=59)  # the small city's deadline is 2 h
        Dispatcher(store).run_once()
        assert not notifications(store, Notification.event == "order.ack_overdue")
        clock.advance(minutes=2)
        Dispatcher(store).run_once()
        Dispatcher(store).run_once()  # a second look writes nothing more
        with store.session() as session:
            overdue = session.scalars(
                select(OrderEvent.order_id).where(OrderEvent.event == "ack_overdue")
            ).all()
        everyone = client.get(f"{API}/orders", headers=auth["planner"]).json()
        waiting = sorted(o["id"] for o in everyone if o["status"] == "issued")
        assert sorted(overdue) == waiting and acked not in overdue and waiting
        told = {
            json.loads(g.body)["order"]["id"] for g in city.got if g.event == "order.ack_overdue"
        }
        assert told == set(waiting)  # the city office hears of each, once
        assert len([g for g in city.got if g.event == "order.ack_overdue"]) == len(waiting)
    # the enterprise's own contact is told too (email and SMS)
    mine = notifications(store, Notification.event == "order.ack_overdue")
    assert {n.channel for n in mine if n.recipient == "enterprise:JY-P001"} == {"email", "sms"}
    history = client.get(f"{API}/orders/{waiting[0]}", headers=auth["planner"]).json()
    assert "ack_overdue" in [e["event"] for e in history["history"]]
