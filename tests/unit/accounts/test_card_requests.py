"""Card requests are answered once, expire, and bind their signed text to purpose and IdP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from idp import db
from idp.accounts import card_requests
from idp.accounts.errors import CardRequestExpiredError, CardRequestUsedError

Factory = sa.orm.sessionmaker[sa.orm.Session]


@pytest.fixture
def factory(database_url: str) -> Iterator[Factory]:
    engine = db.make_engine(database_url)
    yield db.make_sessionmaker(engine)
    engine.dispose()


def test_a_request_is_claimed_once_then_refused_as_used(factory: Factory) -> None:
    with db.transaction(factory) as session:
        row = card_requests.create(session, uid="u1", browser="b", purpose="login")
        request_id = row.id
    now = datetime.now(UTC)
    with db.transaction(factory) as session:
        card_requests.claim(session, request_id, now)
    with db.transaction(factory) as session, pytest.raises(CardRequestUsedError):
        card_requests.claim(session, request_id, now)


def test_an_expired_request_cannot_be_claimed(factory: Factory) -> None:
    with db.transaction(factory) as session:
        row = card_requests.create(session, uid="u2", browser="b", purpose="onboard")
        request_id = row.id
    later = datetime.now(UTC) + card_requests.LIFETIME + timedelta(seconds=1)
    with db.transaction(factory) as session, pytest.raises(CardRequestExpiredError):
        card_requests.claim(session, request_id, later)


def test_the_signed_text_names_issuer_purpose_request_and_consent_hash(
        factory: Factory) -> None:
    with db.transaction(factory) as session:
        row = card_requests.create(session, uid="u3", browser="b", purpose="consent",
                                   consent_text="I agree")
        lines = card_requests.to_be_signed(row, "https://idp.example").decode().split("\n")
        assert lines[:4] == ["jpki-idp/1", "https://idp.example", "consent", row.id]
        assert len(lines) == 6
        assert row.certificate_purpose == "sign"


def test_only_the_creating_browser_finds_its_request(factory: Factory) -> None:
    with db.transaction(factory) as session:
        card_requests.create(session, uid="u4", browser="mine", purpose="login")
    with factory() as session:
        assert card_requests.latest_for(session, "u4", "mine") is not None
        assert card_requests.latest_for(session, "u4", "theirs") is None
