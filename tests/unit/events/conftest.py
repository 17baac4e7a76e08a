"""An IdP app whose relying parties keep Shared Signals streams, and people who used them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp import db
from idp.accounts.changes import Change, ChangeSink
from idp.app import create_app, services_of
from idp.settings import Settings
from tests.unit.oidc.conftest import ISSUER, Rp, register

EVENTS = {"allow_http_loopback": True, "push_timeout_seconds": 0.5, "push_max_attempts": 3,
          "push_retry_seconds": 0.01, "min_verification_interval_seconds": 0,
          "poll_redelivery_seconds": 1}


def make_app(settings: Settings, **events: Any) -> Flask:
    """The app of ``settings``, with test-sized delivery settings (and ``events``)."""
    oidc = settings.oidc.model_copy(update={"issuer": ISSUER})
    return create_app(settings.model_copy(update={
        "oidc": oidc, "events": settings.events.model_copy(update={**EVENTS, **events})}))


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The app on the parametrised database."""
    application = make_app(settings)
    yield application
    services_of(application).engine.dispose()


@dataclass
class Receiver:
    """A relying party as a Shared Signals receiver: its OIDC client and its stream calls."""

    rp: Rp
    token: str

    @property
    def client_id(self) -> str:
        return self.rp.client_id

    @property
    def http(self) -> FlaskClient:
        return self.rp.browser

    def call(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        return self.http.open(path, method=method, json=body, query_string=query,
                              headers={"Authorization": f"Bearer {self.token}"})

    def create(self, **config: Any) -> dict[str, Any]:
        response = self.call("POST", "/ssf/stream", config)
        assert response.status_code == 201, response.get_data(as_text=True)
        created: dict[str, Any] = response.get_json()
        return created

    def consented_person(self, claims: list[str] | None = None, **login: Any) -> str:
        """A person logs in to this relying party and consents (to ``claims``, default all
        asked: the profile); their private ID."""
        private_id = self.rp.login(**login)
        location, _ = self.rp.authorize(scope="openid profile address")
        state = self.rp.interaction(location)
        self.rp.act(state, "consent", {"approve": True, "claims": state["requested"]["claims"]
                                       if claims is None else claims})
        return private_id


def receiver_of(app: Flask, name: str = "Bank") -> Receiver:
    client_id, secret = register(app, name=name)
    rp = Rp(app, app.test_client(), client_id, secret)
    response = rp.token(grant_type="client_credentials", scope="ssf")
    assert response.status_code == 200, response.get_data(as_text=True)
    return Receiver(rp, response.get_json()["access_token"])


@pytest.fixture
def bank(app: Flask) -> Receiver:
    return receiver_of(app, "Bank")


def record(app: Flask, *changes: Change) -> None:
    """Changes as accounts hand them over: in a transaction, to the app's sink."""
    sink: ChangeSink = services_of(app).changes
    with db.transaction(services_of(app).sessions) as session:
        sink.record(session, changes)


def jwks(app: Flask) -> dict[str, Any]:
    found: dict[str, Any] = app.test_client().get("/jwks").get_json()
    return found
