"""Change detection reaches relying parties (issue 13, 変更確認), end to end over HTTP.

The IdP serves over HTTP with its push delivery thread, next to a J-LIS simulator whose CRLs
last 2 seconds; the trust policy reads CRLs, so ``idp recheck`` takes the batch path. The bank,
which the person uses, and a stranger, which they never used, each keep a push stream to a real
receiver on loopback that checks every Security Event Token with the IdP's published JWKS. The
bank's receiver fails at first. A move in the simulator, found by ``idp recheck``, reaches the
bank about the subject it knows (the revoked certificate, the lower level); the re-issue that
follows tells it of the new certificate, the level back, and the new address; the stranger
hears nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from werkzeug.serving import make_server

from idp import db
from idp.app import create_app, services_of, with_events_worker
from idp.cli.recheck import recheck
from idp.events.vocabulary import (
    ASSURANCE_LEVEL_CHANGE,
    CREDENTIAL_CHANGE,
    TOKEN_CLAIMS_CHANGE,
    VERIFICATION,
)
from idp.oidc import clients
from idp.settings import Settings
from tests.integration.card_login.conftest import REDIRECT, Idp, person
from tests.integration.card_login.test_lifecycle_json import _answer, _card_login, _onboard
from tests.support.sim import RunningSim, free_port, running_sim
from tests.support.ssf_receiver import OK, Receiver, ssf_receiver
from tests.support.ssf_receiver import verify as checked_set

CRL_SECONDS = 2
PUSH = "urn:ietf:rfc:8935"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSim]:
    with running_sim(tmp_path_factory.mktemp("sim") / "var",
                     crl_period_seconds=CRL_SECONDS) as running:
        yield running


@dataclass
class World:
    idp: Idp
    stranger: tuple[str, str | None]  # client_id, secret


@pytest.fixture(scope="module")
def world(sim: RunningSim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    var_dir = tmp_path_factory.mktemp("idp") / "var"
    var_dir.mkdir()
    assert sim.run("ca", "export", str(var_dir / "trust")).returncode == 0
    url = f"http://127.0.0.1:{free_port()}"
    database_url = f"sqlite:///{var_dir / 'idp.sqlite3'}"
    db.upgrade(database_url)
    crl = {"method": "crl"}
    settings = Settings(var_dir=var_dir, database_url=database_url, oidc={"issuer": url},
                        jlis={"url": sim.url, "api_key": sim.api_key},
                        trust={"sign": crl, "auth": crl},
                        events={"allow_http_loopback": True, "push_retry_seconds": 0.2,
                                "worker_interval_seconds": 0.2, "push_timeout_seconds": 2})
    app = with_events_worker(create_app(settings))
    with db.transaction(services_of(app).sessions) as session:
        bank = clients.register(session, name="Test Bank", redirect_uris=[REDIRECT])
        stranger = clients.register(session, name="Stranger", redirect_uris=[REDIRECT])
    server = make_server("127.0.0.1", int(url.rsplit(":", 1)[1]), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield World(Idp(url, bank[0], bank[1], sim, app, settings), stranger)
    finally:
        app.extensions["idp.events_worker"].stop()
        server.shutdown()
        thread.join()
        services_of(app).engine.dispose()


def _stream(idp: Idp, client: tuple[str, str | None], receiver: Receiver) -> tuple[str, str]:
    """The relying party's ssf token, and the push stream it creates with it."""
    token = requests.post(f"{idp.url}/token", data={"grant_type": "client_credentials",
                                                    "scope": "ssf"},
                          auth=(client[0], client[1] or ""), timeout=10).json()["access_token"]
    created = requests.post(f"{idp.url}/ssf/stream", headers={"Authorization": f"Bearer {token}"},
                            json={"delivery": {"method": PUSH, "endpoint_url": receiver.url}},
                            timeout=10)
    assert created.status_code == 201, created.text
    return token, created.json()["stream_id"]


def _events(idp: Idp, receiver: Receiver, audience: str, count: int) -> list[dict[str, Any]]:
    pushed = receiver.wait_for(count, seconds=20)
    assert len(pushed) == count, [p.status for p in receiver.pushes]
    jwks = requests.get(f"{idp.url}/jwks", timeout=10).json()
    return [checked_set(push.token, jwks, issuer=idp.url, audience=audience) for push in pushed]


def _only(claims: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    [(event_type, body)] = claims["events"].items()
    return event_type, body


def test_a_move_found_by_recheck_and_the_reissue_reach_the_relying_party_the_person_uses(
        world: World, tmp_path: Path) -> None:
    idp = world.idp
    with ssf_receiver((503, b"", 0.0), (503, b"", 0.0), OK) as bank_rp, \
            ssf_receiver() as stranger_rp:
        token, stream_id = _stream(idp, (idp.client_id, idp.secret), bank_rp)
        _stream(idp, world.stranger, stranger_rp)
        assert requests.post(f"{idp.url}/ssf/verify", timeout=10, json={
            "stream_id": stream_id, "state": "bank-check"},
            headers={"Authorization": f"Bearer {token}"}).status_code == 204
        [verification] = _events(idp, bank_rp, idp.client_id, 1)  # after two failures
        assert verification["events"] == {VERIFICATION: {"state": "bank-check"}}
        assert [p.status for p in bank_rp.pushes] == [503, 503, 202]

        goro = person(idp.sim, tmp_path, "井上　五郎")
        sub = _onboard(idp, goro["card_file"]).tokens()["id_token"]["sub"]
        _card_login(idp, goro["card_file"])
        moved = idp.sim.cli("person", "move", goro["person_id"], "--address",
                            "宮城県仙台市青葉区1-1")
        time.sleep(CRL_SECONDS + 0.5)  # the IdP's CRL index is due for a refresh
        result = CliRunner().invoke(recheck, ["--all", "--json"],
                                    obj={"settings": idp.settings})
        assert result.exit_code == 0, result.output
        assert '"to": "needs_reissue"' in result.output

        revoked, lowered = _events(idp, bank_rp, idp.client_id, 3)[1:]
        assert revoked["sub_id"] == {"format": "iss_sub", "iss": idp.url, "sub": sub}
        assert revoked["txn"] == lowered["txn"]
        event, body = _only(revoked)
        assert (event, body["change_type"], body["x509_serial"]) == (
            CREDENTIAL_CHANGE, "revoke", goro["sign_serial"])
        assert "JPKI-SIM" in body["x509_issuer"]
        assert _only(lowered) == (ASSURANCE_LEVEL_CHANGE, {
            **_only(lowered)[1], "current_level": "nist-ial1", "previous_level": "nist-ial2",
            "change_direction": "decrease", "namespace": "NIST-IAL"})

        browser = _card_login(idp, goro["card_file"])
        assert browser.state["prompt"] == "reissue", browser.state
        _answer(browser, "reissue", goro["card_file"], "ABCD1234")
        assert browser.continue_after_card()["prompt"] == "returned"
        created, raised, claims = _events(idp, bank_rp, idp.client_id, 6)[3:]
        assert {c["sub_id"]["sub"] for c in (created, raised, claims)} == {sub}
        assert _only(created)[1]["change_type"] == "create"
        assert _only(created)[1]["x509_serial"] == moved["sign_serial"]
        assert _only(raised)[1]["change_direction"] == "increase"
        assert _only(claims) == (TOKEN_CLAIMS_CHANGE, {**_only(claims)[1], "claims": {
            "address": {"formatted": "宮城県仙台市青葉区1-1", "country": "JP"}}})
        time.sleep(0.5)  # a round of the delivery thread more: still nothing for the stranger
        assert stranger_rp.pushes == []
