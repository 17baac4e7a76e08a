"""The trust side's audit entries: each card answer with the certificate verified and the source
of its status, refusals with their reason, and every J-LIS call with its outcome and latency."""

from __future__ import annotations

import pytest
import responses
from sqlalchemy.orm import Session, sessionmaker

from idp.accounts.card_answers import CardAnswers, default_steps
from idp.audit.log import AuditLog
from idp.jlis import HttpJlisClient, JlisUnavailableError
from idp.jpki.profile import Purpose
from idp.request_context import bind_request_id
from tests.support import jpki_pki as pki
from tests.unit.accounts.test_card_answers import Jlis, Trust, World
from tests.unit.audit.support import ORIGIN

URL = "https://jlis.example"


def test_card_answers_are_audited_with_the_certificate_and_its_status_source(
        sessions: sessionmaker[Session]) -> None:
    log = AuditLog(sessions, origin=ORIGIN)
    jlis = Jlis(sessions.kw["bind"])
    trust = Trust(jlis)
    world = World(sessions, jlis, CardAnswers(sessions, trust, default_steps(trust), audit=log))
    jlis.pairs["1001"] = "2001"
    bind_request_id("req-card")
    private_id = world.answer("onboard", pki.sign_cert(serial=0x1001))["private_id"]
    jlis.down = True
    with pytest.raises(JlisUnavailableError):
        world.answer("onboard", pki.sign_cert(serial=0x1005))

    accepted, refused = log.entries(action="card.")
    assert (accepted.actor, accepted.outcome, accepted.request_id) == (
        f"person:{private_id}", "ok", "req-card")
    assert accepted.details["certificate"]["serial"] == "1001"
    assert accepted.details["certificate"]["purpose"] == Purpose.SIGN.value
    assert accepted.details["certificate"]["issuer"]
    assert (accepted.details["status"], accepted.details["revocation_source"]) == ("good",
                                                                                    "ocsp")
    assert (refused.actor, refused.outcome, refused.details["reason"]) == (
        "anonymous", "refused", "jlis_unavailable")
    assert refused.details["certificate"]["serial"] == "1005"


@responses.activate
def test_every_j_lis_call_is_audited_with_its_outcome_and_latency(
        sessions: sessionmaker[Session]) -> None:
    log = AuditLog(sessions, origin=ORIGIN)
    client = HttpJlisClient(URL, "the-api-key", audit=log)
    responses.add(responses.GET, f"{URL}/v1/crl/sign-ca", body=b"crl")
    responses.add(responses.GET, f"{URL}/v1/crl/auth-ca", status=503)
    assert client.fetch_crl("sign-ca") == b"crl"
    with pytest.raises(JlisUnavailableError):
        client.fetch_crl("auth-ca")

    ok, failed = log.entries(action="jlis.call")
    assert (ok.actor, ok.target, ok.outcome) == ("system", "/v1/crl/sign-ca", "ok")
    assert (ok.details["service"], ok.details["method"]) == ("/v1/crl", "GET")
    assert isinstance(ok.details["latency_ms"], int)
    assert (failed.target, failed.outcome) == ("/v1/crl/auth-ca", "503")
    assert all("the-api-key" not in str(e.to_json()) for e in (ok, failed))
