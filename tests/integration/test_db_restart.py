"""PostgreSQL restarted under load: while a few relying parties run authorize → token →
userinfo → interaction rounds against one app, the server is restarted (``pg_ctl restart``).
Requests caught by it are answered 503 "try again" with Retry-After, never 500; the same app,
not restarted, serves again on its own; and every token a client received stays stored."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from werkzeug.test import TestResponse

from idp import db
from idp.app import create_app, services_of
from idp.settings import Settings
from tests.support.postgres import Cluster
from tests.unit.oidc.conftest import ISSUER, REDIRECT, Rp, pkce, query, register

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

THREADS = 4
RESTART_AFTER = 1.0  # seconds of load before the restart
ROUNDS_AFTER = 3  # full rounds each relying party must complete after it
DEADLINE = 20.0


@dataclass
class Answer:
    what: str
    status: int
    retry_after: str | None
    body: Any
    after_restart: bool


@dataclass
class Load:
    """The answers of every thread, and the tokens clients received (200 from /token)."""

    restarted: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    answers: list[Answer] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)  # access token jtis
    rounds_after: list[int] = field(default_factory=lambda: [0] * THREADS)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, what: str, response: TestResponse) -> bool:
        # A browser sent to /authorize gets the refusal as the error page, others as JSON.
        body = response.get_json(silent=True) or {
            "error": "temporarily_unavailable" if "<code>temporarily_unavailable</code>"
            in response.get_data(as_text=True) else None,
            "error_description": response.get_data(as_text=True)}
        with self.lock:
            self.answers.append(Answer(what, response.status_code,
                                       response.headers.get("Retry-After"), body,
                                       self.restarted.is_set()))
        return response.status_code < 400 or (what == "missing" and response.status_code == 404)


@dataclass
class Party:
    """A relying party and its browser; codes not yet exchanged, the last access token."""

    rp: Rp
    codes: list[tuple[str, str]] = field(default_factory=list)  # (code, PKCE verifier)
    access: str | None = None


def _round(party: Party, load: Load) -> bool:
    """authorize (consenting if asked), exchange the oldest pending code, userinfo with the
    newest token, an unknown interaction: four requests that do not depend on each other, so
    the restart meets each endpoint. True when all four were answered as without a restart."""
    results = [_authorize(party, load), _exchange(party, load)]
    if party.access is not None:
        info = party.rp.browser.get("/userinfo",
                                    headers={"Authorization": f"Bearer {party.access}"})
        results.append(load.record("userinfo", info))
    missing = party.rp.browser.get("/interaction/unknown", headers={"Accept": "application/json"})
    results.append(load.record("missing", missing))
    return all(results)


def _authorize(party: Party, load: Load) -> bool:
    rp, (verifier, challenge) = party.rp, pkce()
    answer = rp.browser.get("/authorize", query_string={
        "client_id": rp.client_id, "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "openid profile", "state": "s", "nonce": "n", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    if not load.record("authorize", answer):
        return False
    location = answer.headers["Location"]
    if "/interaction/" in location:
        shown = rp.browser.get(urlsplit(location).path, headers={"Accept": "application/json"})
        if not load.record("interaction", shown):
            return False
        consented = rp.act(shown.get_json(), "consent", {
            "approve": True, "claims": shown.get_json()["requested"]["claims"]})
        if not load.record("consent", consented):
            return False
        location = consented.get_json()["redirect_to"]
    party.codes.append((query(location)["code"], verifier))
    return True


def _exchange(party: Party, load: Load) -> bool:
    """The oldest pending code; one answered 503 stays pending (nothing was saved)."""
    if not party.codes:
        return False
    token = party.rp.exchange(*party.codes[0])
    if token.status_code != 503:
        party.codes.pop(0)
    if not load.record("token", token):
        return False
    party.access = token.get_json()["access_token"]
    with load.lock:
        load.issued.append(_jti(party.access))
    return True


def _jti(jwt: str) -> str:
    payload = jwt.split(".")[1]
    jti: str = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]
    return jti


def _drive(party: Party, number: int, load: Load) -> None:
    try:
        while not load.stop.is_set():
            after = load.restarted.is_set()
            if _round(party, load) and after:
                load.rounds_after[number] += 1
                if load.rounds_after[number] >= ROUNDS_AFTER:
                    return
    except BaseException as error:  # reported by the test, not lost in a thread
        load.errors.append(error)


@pytest.fixture
def app(pg_cluster: Cluster, tmp_path: Path) -> Any:
    url = pg_cluster.create_database()
    db.upgrade(url)
    settings = Settings(var_dir=tmp_path / "var", database_url=url)
    application = create_app(settings.model_copy(update={"oidc": settings.oidc.model_copy(
        update={"issuer": ISSUER})}))
    yield application
    services_of(application).engine.dispose()


def test_a_restart_under_load_answers_503_never_500_heals_and_loses_nothing(
        app: Flask, pg_cluster: Cluster) -> None:
    client_id, secret = register(app)
    parties = [Party(Rp(app, app.test_client(), client_id, secret)) for _ in range(THREADS)]
    for party in parties:
        party.rp.login()
        party.codes.append(party.rp.code())  # consent given before the load starts
    load = Load()
    threads = [threading.Thread(target=_drive, args=(party, n, load))
               for n, party in enumerate(parties)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(RESTART_AFTER)
        pg_cluster.restart()
        load.restarted.set()
        for thread in threads:
            thread.join(DEADLINE)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(5)
    assert not load.errors, load.errors

    failures = [a for a in load.answers if a.status >= 500 and a.status != 503]
    assert not failures, failures
    unavailable = [a for a in load.answers if a.status == 503]
    assert unavailable, "the restart was not felt: no request met a dropped connection"
    for answer in unavailable:
        assert answer.retry_after == "1", answer
        assert answer.body["error"] == "temporarily_unavailable", answer
        assert answer.body["error_description"], answer
    assert load.rounds_after == [ROUNDS_AFTER] * THREADS  # the same app serves again

    engine = create_engine(services_of(app).settings.database_url)
    try:
        with engine.connect() as connection:
            stored = set(connection.execute(text(
                "SELECT key FROM oidc_tokens WHERE kind = 'access'")).scalars())
    finally:
        engine.dispose()
    assert {"jti:" + jti for jti in load.issued} <= stored
    print(f"{len(load.issued)} tokens issued; answers:",
          dict(Counter((a.what, a.status) for a in load.answers)))
