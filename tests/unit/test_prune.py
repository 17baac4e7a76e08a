"""`idp db prune` on SQLite and PostgreSQL: rows past expiry (and the margin) go, live rows
stay; batches repeat until nothing expired is left."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from idp import db
from idp.accounts.jpki_models import CardRequestRow
from idp.accounts.models import PrivateId
from idp.cli import cli
from idp.maintenance.prune import prune
from idp.oidc import clients
from idp.oidc.models import (
    AuthorizationCode,
    DeviceAuthorization,
    Grant,
    Interaction,
    PushedRequest,
    Token,
    UsedAssertion,
)
from idp.oidc.outbox_models import DELIVERED, FAILED, PENDING, LogoutDelivery
from idp.passkeys.models import PasskeyChallenge
from idp.settings import Settings
from idp.throttle.models import FailedAttempts

NOW = 1_900_000_000
MODELS: tuple[Any, ...] = (AuthorizationCode, Interaction, PushedRequest, UsedAssertion, Token,
                           PasskeyChallenge, CardRequestRow, FailedAttempts, DeviceAuthorization)


@pytest.fixture
def sessions(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = db.make_engine(settings.effective_database_url)
    yield db.make_sessionmaker(engine)
    engine.dispose()


def _rows(name: str, expires_at: int, client_id: str, grant_id: str) -> list[Any]:
    return [
        AuthorizationCode(code_hash=f"code-{name}", grant_id=grant_id, redirect_uri="https://rp",
                          code_challenge="c", expires_at=expires_at, used=False),
        Interaction(uid=f"ix-{name}", client_id=client_id, params={}, csrf_token="t",
                    started_at=expires_at - 900, expires_at=expires_at, done=False),
        PushedRequest(request_uri_hash=f"par-{name}", client_id=client_id, params={},
                      expires_at=expires_at, used=False),
        UsedAssertion(jti=f"jti-{name}", expires_at=expires_at),
        Token(key=f"access-{name}", kind="access", grant_id=grant_id, expires_at=expires_at,
              issued_at=expires_at - 600, used=False, revoked=False),
        Token(key=f"refresh-{name}", kind="refresh", grant_id=grant_id, expires_at=expires_at,
              issued_at=expires_at - 600, used=True, revoked=True),
        PasskeyChallenge(id=f"ch-{name}", ceremony="login", challenge=b"x" * 32,
                         expires_at=expires_at),
        CardRequestRow(id=f"card-{name}", interaction_uid=f"ix-{name}", browser_hash="b",
                       purpose="login", certificate_purpose="auth", nonce="n",
                       expires_at=datetime.fromtimestamp(expires_at, UTC)),
        FailedAttempts(scope="client_auth", subject=f"rp-{name}", window_start=expires_at - 300,
                       count=1, expires_at=expires_at),
        DeviceAuthorization(id=f"dev-{name}", device_code_hash=f"dc-{name}",
                            user_code_hash=f"uc-{name}", client_id=client_id, scope="openid",
                            acr_values=[], status="redeemed", grant_id=grant_id, interval=5,
                            created_at=expires_at - 600, expires_at=expires_at),
    ]


def _seed(sessions: sessionmaker[Session], **expiries: int) -> None:
    with db.transaction(sessions) as session:
        client_id, _secret = clients.register(session, name="RP", redirect_uris=["https://rp"])
        person = PrivateId()
        session.add(person)
        session.flush()
        grant = Grant(id="grant-1", client_id=client_id, private_id=person.id, scope="openid",
                      claims={}, amr=[], auth_time=NOW - 3600, revoked=False,
                      created_at=NOW - 3600)
        session.add(grant)
        session.flush()
        for name, expires_at in expiries.items():
            session.add_all(_rows(name, expires_at, client_id, grant.id))


def _keys(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in MODELS}


def test_rows_past_expiry_and_margin_go_and_live_rows_stay(
        sessions: sessionmaker[Session]) -> None:
    _seed(sessions, old=NOW - 3600, in_margin=NOW - 60, live=NOW + 60)
    result = prune(sessions, now=NOW, margin_seconds=300)
    # Two tokens per name: the access token and a rotated, revoked refresh token.
    assert result.deleted == {**{m.__tablename__: 1 for m in MODELS}, "oidc_tokens": 2,
                              "oidc_logout_outbox": 0, "ssf_events": 0}
    assert _keys(sessions) == {**{m.__tablename__: 2 for m in MODELS}, "oidc_tokens": 4}
    with sessions() as session:
        assert session.get(AuthorizationCode, "code-old") is None
        assert session.get(AuthorizationCode, "code-live") is not None
        assert session.get(CardRequestRow, "card-in_margin") is not None
        assert session.get(Grant, "grant-1") is not None  # grants are not pruned


def test_batches_repeat_until_every_expired_row_is_gone(
        sessions: sessionmaker[Session]) -> None:
    _seed(sessions, **{f"old{i}": NOW - 1000 - i for i in range(5)}, live=NOW + 60)
    result = prune(sessions, now=NOW, margin_seconds=0, batch_size=2)
    assert result.deleted["oidc_used_jtis"] == 5
    assert result.total == 5 * 10
    assert _keys(sessions)["oidc_used_jtis"] == 1


def test_idp_db_prune_prints_counts_and_json(
        settings: Settings, sessions: sessionmaker[Session],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(sessions, old=int(datetime.now(UTC).timestamp()) - 3600)
    monkeypatch.setenv("IDP_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("IDP_DATABASE_URL", settings.effective_database_url)
    args: list[str] = []
    runner = CliRunner()
    text = runner.invoke(cli, [*args, "db", "prune"])
    assert text.exit_code == 0, text.output
    assert "oidc_codes: 1 deleted" in text.output
    assert "total: 10 deleted" in text.output
    again = runner.invoke(cli, [*args, "db", "prune", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["total"] == 0
    refused = runner.invoke(cli, [*args, "db", "prune", "--batch-size", "0"])
    assert refused.exit_code == 2


def test_delivered_logouts_go_after_the_margin_and_given_up_ones_stay_a_week(
        sessions: sessionmaker[Session]) -> None:
    _seed(sessions)
    week = 7 * 24 * 3600
    finished = {"delivered-old": (DELIVERED, NOW - 3600), "delivered-new": (DELIVERED, NOW - 60),
                "failed-old": (FAILED, NOW - week - 3600), "failed-day": (FAILED, NOW - 86400),
                "pending": (PENDING, None)}
    with db.transaction(sessions) as session:
        client_id = session.scalars(select(Grant.client_id)).one()
        session.add_all(LogoutDelivery(
            id=name, client_id=client_id, uri="https://rp/logout", sub="s", state=state,
            attempts=1, next_attempt_at=NOW - week * 2, created_at=NOW - week * 2,
            finished_at=at) for name, (state, at) in finished.items())
    result = prune(sessions, now=NOW, margin_seconds=300)
    assert result.deleted["oidc_logout_outbox"] == 2
    with sessions() as session:
        assert set(session.scalars(select(LogoutDelivery.id))) == {
            "delivered-new", "failed-day", "pending"}


def test_delivered_and_dropped_change_events_go_and_given_up_ones_stay_a_week(
        sessions: sessionmaker[Session]) -> None:
    from idp.events.models import DROPPED, SecurityEvent, Stream

    _seed(sessions)
    week = 7 * 24 * 3600
    finished = {"delivered-old": (DELIVERED, NOW - 3600), "dropped-old": (DROPPED, NOW - 3600),
                "delivered-new": (DELIVERED, NOW - 60), "failed-day": (FAILED, NOW - 86400),
                "failed-old": (FAILED, NOW - week - 3600), "pending": (PENDING, None)}
    with db.transaction(sessions) as session:
        client_id = session.scalars(select(Grant.client_id)).one()
        session.add(Stream(stream_id="s1", client_id=client_id, events_delivered=[],
                           method="urn:ietf:rfc:8936", status="enabled", failures=0,
                           next_push_at=0.0, created_at=NOW, updated_at=NOW))
        session.flush()
        session.add_all(SecurityEvent(
            stream_id="s1", jti=name, txn=name, event_type="e", body={}, state=state,
            attempts=1, next_attempt_at=0.0, created_at=NOW - week * 2, finished_at=at)
            for name, (state, at) in finished.items())
    result = prune(sessions, now=NOW, margin_seconds=300)
    assert result.deleted["ssf_events"] == 3
    with sessions() as session:
        assert set(session.scalars(select(SecurityEvent.jti))) == {
            "delivered-new", "failed-day", "pending"}
