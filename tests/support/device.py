"""A TV and the person's phone driving the device authorization grant (RFC 8628) against an
IdP app through Flask's test client: the TV's backend asks for codes and polls, the phone types
the code on /device and goes through the interaction's JSON face."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from idp import db
from idp.app import services_of
from idp.oidc import clients
from idp.oidc.device_codes import GRANT_TYPE
from idp.oidc.models import DeviceAuthorization


def register_tv(app: Flask, name: str = "Living-room TV", **metadata: Any) -> str:
    with db.transaction(services_of(app).sessions) as session:
        return clients.register_device(session, name=name, **metadata)


@dataclass
class Tv:
    """The TV's backend (its own HTTP client: no cookies shared with the phone)."""

    app: Flask
    client_id: str
    http: FlaskClient

    @classmethod
    def of(cls, app: Flask, client_id: str) -> Tv:
        return cls(app, client_id, app.test_client())

    def authorize(self, **form: str) -> Any:
        form = {"client_id": self.client_id, "scope": "openid profile", **form}
        return self.http.post("/device_authorization", data=form)

    def codes(self, **form: str) -> dict[str, Any]:
        answer = self.authorize(**form)
        assert answer.status_code == 200, answer.get_json()
        found: dict[str, Any] = answer.get_json()
        return found

    def poll(self, device_code: str, client_id: str | None = None) -> Any:
        return self.http.post("/token", data={
            "grant_type": GRANT_TYPE, "device_code": device_code,
            "client_id": client_id or self.client_id})

    def wait(self, device_code: str, seconds: int = 60) -> None:
        """As if the TV had waited ``seconds`` since its last poll (the interval is whole
        seconds; tests do not sleep)."""
        _shift(self.app, device_code, last_polled_at=-seconds)

    def expire(self, device_code: str) -> None:
        _shift(self.app, device_code, expires_at=-10_000)


def _shift(app: Flask, device_code: str, **deltas: int) -> None:
    from idp.oidc.tokens import digest

    row = DeviceAuthorization
    values = {name: getattr(row, name) + delta for name, delta in deltas.items()}
    with db.transaction(services_of(app).sessions) as session:
        session.execute(update(row).where(row.device_code_hash == digest(device_code))
                        .values(**values))


@dataclass
class Phone:
    """The person's browser on /device and the interaction it leads to."""

    http: FlaskClient

    def page(self, **query: str) -> dict[str, Any]:
        answer = self.http.get("/device", query_string=query,
                               headers={"Accept": "application/json"})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        found: dict[str, Any] = answer.get_json()
        return found

    def enter(self, user_code: str) -> Any:
        face = self.page()
        return self.http.post(face["actions"]["user_code"]["href"], json={"user_code": user_code},
                              headers={"X-CSRF-Token": face["csrf_token"]})

    def interaction(self, location: str) -> dict[str, Any]:
        answer = self.http.get(urlsplit(location).path, headers={"Accept": "application/json"})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        found: dict[str, Any] = answer.get_json()
        return found

    def act(self, state: dict[str, Any], action: str, body: dict[str, Any] | None = None) -> Any:
        return self.http.post(state["actions"][action]["href"], json=body or {},
                              headers={"X-CSRF-Token": state["csrf_token"]})
