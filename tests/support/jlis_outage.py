"""J-LIS as the outage matrix stages it: OCSP and CRL answers about people's cards, or the
failure an outage names.

Each card holds a signing certificate of the test PKI (its holder's anchor) and an auth
certificate; a card reported lost has both on hold (certificateHold). J-LIS answers about them
as the real verifier API does (``docs/jlis-api.md``): ``POST /v1/ocsp`` with a
signed OCSP response echoing the nonce, ``GET /v1/crl/by-key/{ski}`` with a signed DER CRL. One
function decides every answer (``JlisScript.answer``); it is served two ways:

- ``install(mock, …)``: through ``responses`` (the unit tier; a timeout is raised as requests
  raises it, so no test waits);
- ``serving(script)``: a real HTTP server on loopback (the app tier), where a slow J-LIS really
  answers after ``jlis.timeout_seconds``.

Before an outage a worker usually holds a CRL index from an earlier refresh: ``cache_crls``
writes it where ``CrlSource`` looks (``trust.crl_cache_dir``).
"""

from __future__ import annotations

import enum
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
import responses
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from idp import db
from idp.accounts import anchors
from idp.accounts.models import PrivateId
from idp.jpki.certificate import parse_certificate
from idp.jpki.profile import Purpose
from idp.jpki.revocation.crl import anchor_key_id, build_index
from idp.jpki.validation import verify_certificate
from idp.passkeys.service import PasskeyService
from idp.passkeys.values import Anchor
from idp.settings import WebauthnSettings
from tests.support import jpki_pki as pki
from tests.support.webauthn_authenticator import SoftAuthenticator


class Outage(enum.StrEnum):
    """What is wrong with J-LIS; everything not named works."""

    OCSP_DOWN = "ocsp_down"  # the OCSP responder answers 503; CRLs are served as usual
    CRL_STALE = "crl_stale"  # the newest CRL J-LIS has is an hour past its nextUpdate
    CRL_MISSING = "crl_missing"  # J-LIS has no CRL of the CA (404) and none is cached
    JLIS_SLOW = "jlis_slow"  # every call outlasts the timeout; the cached CRL is current
    JLIS_SLOW_CRL_EXPIRED = "jlis_slow_crl_expired"  # the same, a day on: the cached CRL expired


DESCRIPTIONS = {
    Outage.OCSP_DOWN: "the OCSP responder answers 503; CRLs are served",
    Outage.CRL_STALE: "J-LIS serves only a CRL an hour past its nextUpdate; OCSP answers",
    Outage.CRL_MISSING: "J-LIS has no CRL (404) and none is cached; OCSP answers",
    Outage.JLIS_SLOW: "every J-LIS call outlasts `jlis.timeout_seconds`; the CRL index of the "
                      "last refresh is within its nextUpdate",
    Outage.JLIS_SLOW_CRL_EXPIRED: "as `jlis_slow`, after the cached CRL's nextUpdate",
}

SLOW = (Outage.JLIS_SLOW, Outage.JLIS_SLOW_CRL_EXPIRED)


@dataclass(frozen=True)
class Card:
    """A card: the signing certificate (its holder's anchor) and the auth certificate."""

    sign: x509.Certificate
    auth: x509.Certificate
    lost: bool = False  # reported lost: both certificates on hold

    @classmethod
    def issued(cls, number: int, *, lost: bool = False) -> Card:
        """Card ``number`` (serials 0x1000 + number, 0x2000 + number), valid around now."""
        now = datetime.now(UTC)
        window = {"not_before": now - timedelta(days=30), "not_after": now + timedelta(days=365)}
        return cls(pki.sign_cert(serial=0x1000 + number, **window),
                   pki.auth_cert(serial=0x2000 + number, **window), lost)

    def certificate(self, purpose: Purpose) -> x509.Certificate:
        return self.sign if purpose is Purpose.SIGN else self.auth


ISSUERS = {Purpose.SIGN: pki.ca(Purpose.SIGN), Purpose.AUTH: pki.ca(Purpose.AUTH)}


def write_anchors(trust_dir: Path) -> None:
    """The test PKI's CAs as the IdP's trust anchors (``{var_dir}/trust/{sign,auth}``)."""
    for purpose, generation in ISSUERS.items():
        folder = trust_dir / purpose.value
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ca.pem").write_bytes(
            generation.certificate.public_bytes(serialization.Encoding.PEM))


# --- the people -----------------------------------------------------------------------

ORIGIN = "http://localhost:8000"  # WebauthnSettings' default origin


@dataclass
class Person:
    """A private ID anchored to ``card``'s signing certificate, the card's auth certificate
    linked by an earlier card login, and a passkey."""

    private_id: str
    card: Card
    authenticator: SoftAuthenticator


@dataclass
class People:
    """Three people of one IdP database, and what J-LIS knows of their cards."""

    sessions: sessionmaker[Session]
    holder: Person  # a card in order
    newly_lost: Person  # a card reported lost since the last check: the private ID still active
    loser: Person  # a card reported lost, the private ID suspended by the last `idp recheck`

    @classmethod
    def onboarded(cls, sessions: sessionmaker[Session]) -> People:
        return cls(sessions, onboarded(sessions, Card.issued(1)),
                   onboarded(sessions, Card.issued(3, lost=True)),
                   onboarded(sessions, Card.issued(2, lost=True)))

    @property
    def cards(self) -> tuple[Card, ...]:
        return (self.holder.card, self.newly_lost.card, self.loser.card)

    def as_before_the_outage(self) -> None:
        """The private IDs as the last ``idp recheck`` before the outage left them: the loser
        suspended, the others active (a cell's checks may have changed them)."""
        now = datetime.now(UTC)
        with db.transaction(self.sessions) as session:
            for person, state, reason in ((self.holder, "active", "sign_good"),
                                          (self.newly_lost, "active", "sign_good"),
                                          (self.loser, "suspended",
                                           "card_revoked:certificate_hold")):
                anchor = anchors.live_anchor(session, person.private_id)
                assert anchor is not None
                anchors.set_checked(session, anchor.id,
                                    "current" if state == "active" else state, reason, now)
                session.execute(update(PrivateId).where(PrivateId.id == person.private_id)
                                .values(state=state))


def onboarded(sessions: sessionmaker[Session], card: Card) -> Person:
    """What onboarding and a card login leave in the database, and a passkey registered through
    the real ceremony."""
    trusted = pki.anchors(*ISSUERS.values())
    with db.transaction(sessions) as session:
        private_id = anchors.new_person(session).id
        anchors.add_anchor(session, private_id, verify_certificate(
            parse_certificate(pki.der(card.sign)), expected_purpose=Purpose.SIGN,
            anchors=trusted, at=datetime.now(UTC)))
        auth = parse_certificate(pki.der(card.auth))
        anchors.link_auth(session, private_id, auth.serial_hex, via="card_login",
                          certificate=auth)
    service, authenticator = PasskeyService(sessions, WebauthnSettings()), SoftAuthenticator()
    started = service.begin_registration(private_id=private_id, display_name="matrix",
                                         anchor=Anchor(issuer="CN=matrix", serial="1"))
    service.finish_registration(handle=started.handle, response_json=authenticator.create(
        started.options_json, origin=ORIGIN))
    return Person(private_id, card, authenticator)


# --- J-LIS ----------------------------------------------------------------------------

class TooLateError(Exception):
    """The answer comes later than the client waits."""


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class JlisScript:
    cards: tuple[Card, ...]
    outage: Outage | None = None  # None: J-LIS works

    def answer(self, method: str, path: str, body: bytes) -> Answer:
        """J-LIS's answer, or ``TooLateError`` when this J-LIS is slow."""
        if self.outage in SLOW:
            raise TooLateError(path)
        if method == "POST" and path == "/v1/ocsp":
            return self._ocsp(body)
        if method == "GET" and path.startswith("/v1/crl/by-key/"):
            return self._crl(bytes.fromhex(path.rsplit("/", 1)[1]))
        return Answer(404, "application/json", b'{"error": "not_found"}')

    def _ocsp(self, body: bytes) -> Answer:
        if self.outage is Outage.OCSP_DOWN:
            return Answer(503, "application/json", b'{"error": "temporarily_unavailable"}')
        asked = ocsp.load_der_ocsp_request(body)
        nonce = asked.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        card, purpose = next((c, p) for c in self.cards for p in Purpose
                             if c.certificate(p).serial_number == asked.serial_number)
        status = ocsp.OCSPCertStatus.REVOKED if card.lost else ocsp.OCSPCertStatus.GOOD
        der = pki.ocsp_response(ISSUERS[purpose], card.certificate(purpose), nonce,
                                status=status, reason=HOLD if card.lost else None,
                                this_update=datetime.now(UTC) - timedelta(seconds=5))
        return Answer(200, "application/ocsp-response", der)

    def _crl(self, key_id: bytes) -> Answer:
        if self.outage is Outage.CRL_MISSING:
            return Answer(404, "application/json", b'{"error": "not_found"}')
        purpose = next(p for p, g in ISSUERS.items() if anchor_key_id(g.certificate) == key_id)
        return Answer(200, "application/pkix-crl",
                      crl(purpose, self.cards, expired=self.outage is Outage.CRL_STALE))


HOLD = x509.ReasonFlags.certificate_hold


def crl(purpose: Purpose, cards: tuple[Card, ...], *, expired: bool) -> bytes:
    """The CRL of ``purpose``'s CA listing the lost cards' certificates on hold: current
    (nextUpdate in 23 h) or an hour past its nextUpdate."""
    now = datetime.now(UTC)
    held = [pki.Revoked(c.certificate(purpose).serial_number, HOLD, now - timedelta(days=2))
            for c in cards if c.lost]
    if expired:
        return pki.crl(ISSUERS[purpose], held, this_update=now - timedelta(hours=25),
                       next_update=now - timedelta(hours=1))
    return pki.crl(ISSUERS[purpose], held, this_update=now - timedelta(hours=1),
                   next_update=now + timedelta(hours=23))


def cache_crls(cache_dir: Path, cards: tuple[Card, ...], outage: Outage | None) -> None:
    """The CRL indexes the last refresh before the outage left: none unless J-LIS is slow now
    (the other outages start from an empty cache, so the IdP meets them at its first fetch)."""
    if outage not in SLOW:
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    for purpose, generation in ISSUERS.items():
        key_id = anchor_key_id(generation.certificate)
        expired = outage is Outage.JLIS_SLOW_CRL_EXPIRED
        build_index(crl(purpose, cards, expired=expired), generation.certificate,
                    cache_dir / f"{key_id.hex()}.idx", now=datetime.now(UTC))


def install(mock: responses.RequestsMock, url: str, script: JlisScript) -> None:
    """Answer ``url``'s J-LIS calls from ``script`` through ``responses``."""
    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        body: Any = request.body or b""
        path = request.path_url.split("?", 1)[0]
        try:
            answer = script.answer(request.method or "GET", path, bytes(body))
        except TooLateError as slow:
            raise requests.exceptions.ReadTimeout(f"J-LIS is slow: {slow}") from slow
        return answer.status, {"Content-Type": answer.content_type}, answer.body

    for method in (responses.GET, responses.POST):
        mock.add_callback(method, re.compile(f"^{re.escape(url)}/"), callback=callback)


@dataclass
class Served:
    url: str
    calls: list[str]


@contextmanager
def serving(script: JlisScript, *, slow_seconds: float = 1.0) -> Iterator[Served]:
    """``script`` as an HTTP server on loopback; a slow J-LIS answers after ``slow_seconds``."""
    served = Served("", [])

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            served.calls.append(f"{method} {self.path}")
            try:
                answer = script.answer(method, self.path, body)
            except TooLateError:
                time.sleep(slow_seconds)  # the IdP has given up by then
                answer = JlisScript(script.cards).answer(method, self.path, body)
            with suppress(OSError):  # the client may have closed the connection
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        def do_GET(self) -> None:
            self._reply("GET")

        def do_POST(self) -> None:
            self._reply("POST")

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
