"""The soak's traffic, as a browser, a relying party and a card app do it over HTTP.

Every request is timed under its kind and checked: an answer a step does not expect is recorded
as a failure (``soak_report.Failure``) and ends the flow (``Unexpected``). Each flow starts in a
new browser (no cookie), and every request says ``Connection: close``, so the round-robin proxy
sends consecutive requests of one login to different nodes.

Flows: onboarding with the card (terms, the onboarding card request answered with the signing
key, the passkey offer taken, consent), a passkey login, a card login (the auth key), a refresh
of the tokens; each ends in the token exchange and userinfo. The card app is the project's own
card client (``idp.card.request.parse_request``) with the virtual card file, in process.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from bench.soak_report import Failure, Tally
from idp.card.backends import open_card
from idp.card.connection import Channel
from idp.card.digest import digest_info_sha256
from idp.card.jpki import KEY_FILES, JpkiCard
from idp.card.request import parse_request
from idp.jpki.profile import Purpose

REDIRECT = "https://rp.example/cb"
SCOPE = "openid profile address"
IAL2 = "urn:jpki-idp:acr:ial2-aal2"
IAL1 = "urn:jpki-idp:acr:ial1-aal2"
TIMEOUT = 30.0  # per request: a request loop never waits longer than this for one answer


class Unexpected(Exception):  # noqa: N818  (a flow's stop, already recorded as a Failure)
    """The step got an answer it does not expect; the failure is recorded."""


@dataclass(frozen=True)
class Target:
    url: str  # where the clients connect: the proxy on 127.0.0.1
    origin: str  # the issuer and WebAuthn origin: http://localhost:<proxy port>
    client_id: str
    secret: str


@dataclass
class Person:
    """A resident of the simulator with a card file, as the IdP comes to know them."""

    name: str
    person_id: str
    card_file: str
    sign_pin: str
    auth_pin: str
    sign_serial: str
    auth_serial: str
    sub: str | None = None  # pairwise subject, fixed at onboarding
    refresh_token: str | None = None  # the newest of its chain
    credential: dict[str, Any] | None = None  # the passkey (private key PEM, ids, sign count)
    authenticator: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_sim(cls, name: str, shown: dict[str, Any]) -> Person:
        return cls(name, shown["person_id"], shown["card_file"], shown["sign_pin"],
                   shown["auth_pin"], shown["sign_serial"], shown["auth_serial"])


@dataclass
class Tokens:
    access_token: str
    refresh_token: str
    id_token: dict[str, Any]


def claims_of(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload)
                                                                                 % 4)))
    return data


class Browser:
    """One browser (its own cookies) of one person, and the relying party it comes from."""

    def __init__(self, target: Target, tally: Tally) -> None:
        self.target, self.tally = target, tally
        self.http = requests.Session()
        self.http.headers["Connection"] = "close"
        self.verifier = secrets.token_urlsafe(48)

    def call(self, kind: str, method: str, url: str, *, expect: tuple[int, ...] = (200,),
             refusal: str | None = None, **kwargs: Any) -> requests.Response:
        """One timed request; ``refusal`` names the error code expected instead of success."""
        if url.startswith(self.target.origin):  # the issuer's name for the proxy's address
            url = url[len(self.target.origin):]
        if url.startswith("/"):
            url = self.target.url + url
        started = time.perf_counter()
        try:
            response = self.http.request(method, url, timeout=TIMEOUT, allow_redirects=False,
                                         **kwargs)
        except requests.RequestException as error:
            self.tally.record(kind, time.perf_counter() - started)
            self.tally.fail(Failure(kind, 0, type(error).__name__), str(error))
            raise Unexpected(kind) from error
        self.tally.record(kind, time.perf_counter() - started)
        code = _error_code(response)
        if refusal is not None and code == refusal and response.status_code >= 400:
            self.tally.refused_as_expected(Failure(kind, response.status_code, code))
            return response
        if response.status_code not in expect or refusal is not None:
            self.tally.fail(Failure(kind, response.status_code, code or "unexpected"),
                            response.text)
            raise Unexpected(kind)
        return response

    def missing(self, kind: str, what: str, seen: Any) -> Unexpected:
        self.tally.fail(Failure(kind, 200, what), json.dumps(seen, ensure_ascii=False)[:300])
        return Unexpected(kind)

    # -- the relying party's side ------------------------------------------------------------
    def authorize(self) -> dict[str, Any]:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest())
        answer = self.call("authorize", "GET", "/authorize", expect=(302, 303), params={
            "client_id": self.target.client_id, "redirect_uri": REDIRECT,
            "response_type": "code", "scope": SCOPE, "state": "s", "nonce": "n",
            "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256"})
        return self.interaction(answer.headers["Location"])

    def interaction(self, location: str) -> dict[str, Any]:
        state: dict[str, Any] = self.call("interaction", "GET", location,
                                          headers={"Accept": "application/json"}).json()
        return state

    def act(self, kind: str, state: dict[str, Any], action: str,
            body: dict[str, Any] | None = None, refusal: str | None = None) -> Any:
        href = state.get("actions", {}).get(action, {}).get("href")
        if href is None:
            raise self.missing(kind, f"no action {action}", state)
        answer = self.call(kind, "POST", href, json=body or {}, refusal=refusal,
                           headers={"X-CSRF-Token": state["csrf_token"]})
        return answer.json()

    def to_code(self, location: str) -> str:
        """Follow the interaction to the relying party's redirect; its code."""
        for _ in range(4):
            if location.startswith(REDIRECT):
                params = parse_qs(urlsplit(location).query)
                if "code" not in params:
                    raise self.missing("interaction", "no code", params)
                return params["code"][0]
            state = self.interaction(location)
            if state.get("prompt") == "done" and "redirect_to" in state:
                location = state["redirect_to"]
            elif state.get("prompt") == "consent":
                location = self.act("consent", state, "consent", {
                    "approve": True, "claims": state["requested"]["claims"]})["redirect_to"]
            else:
                raise self.missing("interaction", f"prompt {state.get('prompt')}", state)
        raise self.missing("interaction", "no end to the redirects", location)

    def tokens(self, code: str) -> Tokens:
        body = self.call("token", "POST", "/token", auth=self.rp, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": self.verifier}).json()
        return self._tokens("token", body)

    def refresh(self, refresh_token: str) -> Tokens:
        body = self.call("token_refresh", "POST", "/token", auth=self.rp, data={
            "grant_type": "refresh_token", "refresh_token": refresh_token}).json()
        return self._tokens("token_refresh", body)

    def userinfo(self, tokens: Tokens) -> dict[str, Any]:
        info: dict[str, Any] = self.call(
            "userinfo", "GET", "/userinfo",
            headers={"Authorization": f"Bearer {tokens.access_token}"}).json()
        return info

    @property
    def rp(self) -> tuple[str, str]:
        return (self.target.client_id, self.target.secret)

    def _tokens(self, kind: str, body: dict[str, Any]) -> Tokens:
        if not {"access_token", "refresh_token", "id_token"} <= set(body):
            raise self.missing(kind, "tokens missing", sorted(body))
        return Tokens(body["access_token"], body["refresh_token"], claims_of(body["id_token"]))

    # -- the card app's side -----------------------------------------------------------------
    def card_request(self, state: dict[str, Any], action: str, person: Person,
                     purpose: Purpose, body: dict[str, Any] | None = None,
                     refusal: str | None = None) -> dict[str, Any]:
        """Ask for a card request, answer it with ``person``'s card as ``idp card sign`` does,
        and follow it as the browser does; the status it ends in."""
        url = self.act("card_request", state, action, body)["request_url"]
        shown = self.call("card_request_get", "GET", url,
                          headers={"Accept": "application/json"}).json()
        request = parse_request(url, shown)
        certificate, signature = sign_with_card(person, purpose, request.to_be_signed)
        self.call("card_answer", "POST", url, refusal=refusal, json={
            "certificate": base64.b64encode(certificate).decode(),
            "signature": base64.b64encode(signature).decode()})
        status: dict[str, Any] = self.call("card_status", "GET",
                                           f"/interaction/{state['uid']}/status").json()
        return status

    def continue_after_card(self, state: dict[str, Any], status: dict[str, Any]) -> str:
        if status.get("status") != "accepted":
            raise self.missing("card_status", f"status {status.get('status')}", status)
        continued = self.act("card_continue", {**state, **status}, "continue")
        return str(continued["redirect_to"])


def _error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def sign_with_card(person: Person, purpose: Purpose, to_be_signed: bytes) -> tuple[bytes, bytes]:
    """The virtual card: PIN, certificate, signature over the DigestInfo (``idp card sign``)."""
    channel = Channel(open_card(card_file=person.card_file, reader=None))
    try:
        card = JpkiCard(channel)
        card.select()
        card.verify_pin(purpose, person.sign_pin if purpose is Purpose.SIGN else person.auth_pin)
        certificate = card.read_certificate(KEY_FILES[purpose].certificate)
        return certificate, card.sign(purpose, digest_info_sha256(to_be_signed))
    finally:
        channel.close()
