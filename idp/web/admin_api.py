"""The admin JSON API (/admin/api/...): one route table that registers the Flask routes and
writes the OpenAPI document served at /admin/api/openapi.json, so the two cannot drift.

Each :class:`Route` names its method and path, the pydantic models of its query, body and
answer, whether it needs an administrator, and the service call it makes. Credentials: an
``Authorization: Bearer`` token from ``idp admin token``, or the administrator's browser
session (cookie ``idp_admin``) with its CSRF token as ``X-CSRF-Token`` on every POST, PUT,
PATCH and DELETE. No credentials: 401; a role without the right: 403 (``idp.admin.roles``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ValidationError

from idp.admin import AdminService
from idp.admin import schemas as s
from idp.admin.errors import (
    AdminLoginRequiredError,
    AdminPasskeyRefusedError,
    EnrolmentInvalidError,
    InvalidAdminInputError,
)
from idp.admin.roles import PERMISSIONS, Actor
from idp.errors import IdpError
from idp.throttle import TooManyAttemptsError
from idp.web import admin_errors
from idp.web import request as web

PREFIX = "/admin/api"
COOKIE = "idp_admin"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# What the sign-in throttle counts: a passkey answer refused (unknown, replayed, expired) and an
# enrolment URL unknown, used or expired (a guess).
COUNTED = (AdminPasskeyRefusedError, EnrolmentInvalidError)
T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """What a route's handler gets: who, what they sent, and the path's values."""

    actor: Actor | None
    body: Any
    query: Any
    path: dict[str, str]
    session_token: str | None


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # OpenAPI style, under PREFIX: /clients/{client_id}
    name: str  # operationId
    summary: str
    answer: type[BaseModel]
    handler: Callable[[AdminService, Call], Any]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    public: bool = False  # no administrator needed (sign-in, enrolment)
    tag: str = "admin"
    extra: dict[str, Any] = field(default_factory=dict)
    throttled: str | None = None  # the action whose refusals the sign-in throttle counts


def admin_cookie() -> str | None:
    return request.cookies.get(COOKIE) or None


def csrf_token(session_token: str) -> str:
    return web.session_bound_token("admin", session_token)


def authenticate(service: AdminService) -> tuple[Actor, str | None] | None:
    """The administrator making this request (a bearer token first), and their session."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return service.identity.token_actor(header[7:].strip()), None
    token = admin_cookie()
    found = service.identity.session_actor(token)
    return (found[0], token) if found else None


def throttled(service: AdminService, action: str, run: Callable[[], T]) -> T:
    """``run()`` under the admin sign-in throttle of this client address: while the address is
    locked (``throttle.admin_sign_in`` refusals in the window) it is refused with 429 and
    Retry-After, and the refusal recorded (``admin.<action>``, why ``too_many_attempts``); a
    refused passkey or enrolment URL in ``run`` counts one failure."""
    address = request.remote_addr or ""
    try:
        with service.sign_in_throttle.attempt(address, counts=COUNTED):
            return run()
    except TooManyAttemptsError as error:  # (raised before ``run``: the address is locked)
        service.record(None, action, None, None, "refused", {
            "why": "too_many_attempts", "address": address,
            "retry_after": int(error.retry_after)})
        raise


def me(service: AdminService, actor: Actor, session_token: str | None,
       expires_at: int | None = None) -> s.Me:
    confirmed = None
    if actor.confirmed_at is not None:
        confirmed = actor.confirmed_at + service.identity.window
    return s.Me(admin_id=actor.admin_id, name=actor.name, role=actor.role.value, via=actor.via,
                permissions=sorted(p.value for p in PERMISSIONS[actor.role]),
                csrf_token=csrf_token(session_token) if session_token else None,
                expires_at=expires_at, confirmed_until=confirmed)


# -- handlers ------------------------------------------------------------------------------------
def _me(service: AdminService, call: Call) -> s.Me:
    assert call.actor is not None  # noqa: S101 (an authenticated route)
    return me(service, call.actor, call.session_token)


def _sign_in_options(service: AdminService, call: Call) -> s.PasskeyOptions:
    started = service.identity.sign_in_options()
    return s.PasskeyOptions(options=started.options, handle=started.handle)


def _sign_in(service: AdminService, call: Call) -> Response:
    signed = service.identity.sign_in(call.body.handle, _credential(call.body))
    response = jsonify(me(service, signed.actor, signed.session_token,
                          signed.expires_at).model_dump(mode="json"))
    response.set_cookie(COOKIE, signed.session_token, httponly=True, samesite="Strict",
                        secure=request.is_secure, path="/admin",
                        max_age=service.identity.session_lifetime)
    return response


def _sign_out(service: AdminService, call: Call) -> Response:
    assert call.actor is not None  # noqa: S101
    if call.session_token:
        service.identity.sign_out(call.actor, call.session_token)
    response = jsonify({"signed_out": True})
    response.delete_cookie(COOKIE, path="/admin")
    return response


def _confirm_options(service: AdminService, call: Call) -> s.PasskeyOptions:
    assert call.actor is not None  # noqa: S101
    started = service.identity.sign_in_options(call.actor.admin_id)
    return s.PasskeyOptions(options=started.options, handle=started.handle)


def _confirm(service: AdminService, call: Call) -> s.Confirmed:
    assert call.actor is not None  # noqa: S101
    if call.session_token is None:
        raise InvalidAdminInputError("an API token needs no passkey confirmation")
    until = service.identity.confirm(call.actor, call.session_token, call.body.handle,
                                     _credential(call.body))
    return s.Confirmed(confirmed_until=until)


def _enrolment(service: AdminService, call: Call) -> s.AdminOut:
    admin = service.identity.enrolment(call.path["token"])
    return s.AdminOut(admin_id=admin.id, name=admin.name, role=admin.role, enrolled=False,
                      created_at=admin.created_at, created_by=admin.created_by)


def _enrol_options(service: AdminService, call: Call) -> s.PasskeyOptions:
    started = service.identity.enrolment_options(call.path["token"])
    return s.PasskeyOptions(options=started.options, handle=started.handle)


def _enrol(service: AdminService, call: Call) -> s.AdminOut:
    view = service.identity.enrol(call.path["token"], call.body.handle, _credential(call.body))
    return s.AdminOut(admin_id=view.admin_id, name=view.name, role=view.role, enrolled=True,
                      created_at=view.created_at, created_by=view.created_by)


def _admins(service: AdminService, call: Call) -> s.AdminList:
    assert call.actor is not None  # noqa: S101
    return s.AdminList(admins=[s.AdminOut(
        admin_id=a.admin_id, name=a.name, role=a.role, enrolled=a.enrolled,
        created_at=a.created_at, created_by=a.created_by)
        for a in service.identity.all(call.actor)])


def _add_admin(service: AdminService, call: Call) -> s.AdminAdded:
    assert call.actor is not None  # noqa: S101
    admin_id, secret = service.identity.add(call.actor, call.body.name, call.body.role)
    return s.AdminAdded(admin_id=admin_id, enroll_url=service.identity.enrol_url(secret))


def _health(service: AdminService, call: Call) -> s.Health:
    assert call.actor is not None  # noqa: S101
    return service.health.report(call.actor)


def _clients(service: AdminService, call: Call) -> s.ClientList:
    assert call.actor is not None  # noqa: S101
    return s.ClientList(clients=service.clients.all(call.actor))


def _register(service: AdminService, call: Call) -> s.ClientCreated:
    assert call.actor is not None  # noqa: S101
    client, secret = service.clients.register(call.actor, call.body)
    return s.ClientCreated(client=client, client_secret=secret)


def _client(service: AdminService, call: Call) -> s.ClientOut:
    assert call.actor is not None  # noqa: S101
    return service.clients.get(call.actor, call.path["client_id"])


def _update(service: AdminService, call: Call) -> s.ClientOut:
    assert call.actor is not None  # noqa: S101
    return service.clients.update(call.actor, call.path["client_id"], call.body)


def _rotate(service: AdminService, call: Call) -> s.SecretRotated:
    assert call.actor is not None  # noqa: S101
    client_id = call.path["client_id"]
    return s.SecretRotated(client_id=client_id,
                           client_secret=service.clients.rotate_secret(call.actor, client_id))


def _disable(service: AdminService, call: Call) -> s.ClientOut:
    assert call.actor is not None  # noqa: S101
    return service.clients.set_disabled(call.actor, call.path["client_id"], disabled=True,
                                        reason=call.body.reason)


def _enable(service: AdminService, call: Call) -> s.ClientOut:
    assert call.actor is not None  # noqa: S101
    return service.clients.set_disabled(call.actor, call.path["client_id"], disabled=False,
                                        reason=call.body.reason)


def _find(service: AdminService, call: Call) -> s.AccountList:
    assert call.actor is not None  # noqa: S101
    return s.AccountList(accounts=service.accounts.find(call.actor, call.query))


def _account(service: AdminService, call: Call) -> s.AccountDetail:
    assert call.actor is not None  # noqa: S101
    return service.accounts.detail(call.actor, call.path["private_id"])


def _reveal(service: AdminService, call: Call) -> s.FourInfo:
    assert call.actor is not None  # noqa: S101
    return service.accounts.reveal(call.actor, call.path["private_id"], call.body.reason)


def _lock(service: AdminService, call: Call) -> s.LockState:
    assert call.actor is not None  # noqa: S101
    return service.accounts.lock(call.actor, call.path["private_id"], call.body.reason)


def _unlock(service: AdminService, call: Call) -> s.LockState:
    assert call.actor is not None  # noqa: S101
    return service.accounts.unlock(call.actor, call.path["private_id"], call.body.reason)


def _policy(service: AdminService, call: Call) -> s.PolicyVersionOut:
    assert call.actor is not None  # noqa: S101
    return service.trust.current(call.actor)


def _replace_policy(service: AdminService, call: Call) -> s.PolicyVersionOut:
    assert call.actor is not None  # noqa: S101
    return service.trust.replace(call.actor, call.body)


def _set_policy(service: AdminService, call: Call) -> s.PolicyVersionOut:
    assert call.actor is not None  # noqa: S101
    return service.trust.set(call.actor, call.body)


def _versions(service: AdminService, call: Call) -> s.PolicyVersions:
    assert call.actor is not None  # noqa: S101
    return service.trust.versions(call.actor)


def _version(service: AdminService, call: Call) -> s.PolicyVersionOut:
    assert call.actor is not None  # noqa: S101
    number = call.path["version"]
    if not (number.isascii() and number.isdigit()) or len(number) > 9:  # not "²" or "٣"
        raise InvalidAdminInputError("a trust policy version is a number")
    return service.trust.version(call.actor, int(number))


def _rollback(service: AdminService, call: Call) -> s.PolicyVersionOut:
    assert call.actor is not None  # noqa: S101
    return service.trust.rollback(call.actor, call.body)


def _retire(service: AdminService, call: Call) -> s.PolicyVersionOut:
    assert call.actor is not None  # noqa: S101
    return service.trust.set_enabled(call.actor, call.body, enabled=False)


def _enable_anchor(service: AdminService, call: Call) -> s.PolicyVersionOut:
    assert call.actor is not None  # noqa: S101
    return service.trust.set_enabled(call.actor, call.body, enabled=True)


def _add_anchor(service: AdminService, call: Call) -> s.PolicyVersionOut:
    assert call.actor is not None  # noqa: S101
    return service.trust.add_anchor(call.actor, call.body)


def _audit(service: AdminService, call: Call) -> s.AuditEntries:
    assert call.actor is not None  # noqa: S101
    return service.audit.entries(call.actor, call.query)


def _metering(service: AdminService, call: Call) -> s.MeteringOut:
    assert call.actor is not None  # noqa: S101
    return service.metering.month(call.actor, call.query)


def _credential(answer: s.PasskeyAnswer) -> str:
    """The browser's credential as py_webauthn parses it: JSON text."""
    return json.dumps(answer.credential)


ROUTES: list[Route] = [
    Route("POST", "/session/options", "signInOptions", "Start a passkey sign-in",
          s.PasskeyOptions, _sign_in_options, public=True, tag="session"),
    Route("POST", "/session", "signIn", "Sign in with the passkey's answer (sets the session "
          "cookie; answers the CSRF token)", s.Me, _sign_in, body=s.PasskeyAnswer, public=True,
          tag="session", throttled="admin.sign_in"),
    Route("GET", "/session", "me", "Who is signed in, with which permissions", s.Me, _me,
          tag="session"),
    Route("POST", "/session/logout", "signOut", "End this browser session", s.SignedOut,
          _sign_out, tag="session"),
    Route("POST", "/session/confirm/options", "confirmOptions", "Start a passkey "
          "confirmation (before a high-risk action)", s.PasskeyOptions, _confirm_options,
          tag="session"),
    Route("POST", "/session/confirm", "confirm", "Confirm with the passkey again",
          s.Confirmed, _confirm, body=s.PasskeyAnswer, tag="session",
          throttled="admin.confirm"),
    Route("GET", "/enrol/{token}", "enrolment", "The administrator a live enrolment URL is for",
          s.AdminOut, _enrolment, public=True, tag="session", throttled="admin.enrol"),
    Route("POST", "/enrol/{token}/options", "enrolOptions", "Start registering the passkey",
          s.PasskeyOptions, _enrol_options, public=True, tag="session",
          throttled="admin.enrol"),
    Route("POST", "/enrol/{token}", "enrol", "Register the passkey (the URL is spent)",
          s.AdminOut, _enrol, body=s.PasskeyAnswer, public=True, tag="session",
          throttled="admin.enrol"),
    Route("GET", "/admins", "listAdmins", "The administrators", s.AdminList, _admins),
    Route("POST", "/admins", "addAdmin", "A new administrator and their enrolment URL",
          s.AdminAdded, _add_admin, body=s.AdminAdd, status=201),
    Route("GET", "/health", "health", "The platform's health", s.Health, _health, tag="health"),
    Route("GET", "/clients", "listClients", "The relying parties", s.ClientList, _clients,
          tag="clients"),
    Route("POST", "/clients", "registerClient", "Register a relying party (its secret is "
          "shown once)", s.ClientCreated, _register, body=s.ClientCreate, status=201,
          tag="clients"),
    Route("GET", "/clients/{client_id}", "getClient", "One relying party", s.ClientOut,
          _client, tag="clients"),
    Route("PATCH", "/clients/{client_id}", "updateClient", "Change a relying party",
          s.ClientOut, _update, body=s.ClientPatch, tag="clients"),
    Route("POST", "/clients/{client_id}/rotate-secret", "rotateSecret", "A new client secret "
          "(high-risk)", s.SecretRotated, _rotate, tag="clients"),
    Route("POST", "/clients/{client_id}/disable", "disableClient", "Disable a relying party "
          "(high-risk)", s.ClientOut, _disable, body=s.Reason, tag="clients"),
    Route("POST", "/clients/{client_id}/enable", "enableClient", "Enable a relying party again",
          s.ClientOut, _enable, body=s.Reason, tag="clients"),
    Route("GET", "/accounts", "findAccounts", "Find accounts by private ID, by a relying "
          "party's sub, or by name (with a reason)", s.AccountList, _find, query=s.AccountQuery,
          tag="accounts"),
    Route("GET", "/accounts/{private_id}", "getAccount", "One account (4 info hidden)",
          s.AccountDetail, _account, tag="accounts"),
    Route("POST", "/accounts/{private_id}/reveal", "revealFourInfo", "The 4 info, for a reason "
          "(recorded; high-risk)", s.FourInfo, _reveal, body=s.Reason, tag="accounts"),
    Route("POST", "/accounts/{private_id}/lock", "lockAccount", "Lock an account (the person "
          "is told at their next sign-in; relying parties hear account-disabled)", s.LockState,
          _lock, body=s.Reason, tag="accounts"),
    Route("POST", "/accounts/{private_id}/unlock", "unlockAccount", "Unlock an account",
          s.LockState, _unlock, body=s.Reason, tag="accounts"),
    Route("GET", "/trust/policy", "getTrustPolicy", "The current trust policy version",
          s.PolicyVersionOut, _policy, tag="trust"),
    Route("PUT", "/trust/policy", "replaceTrustPolicy", "A whole new policy, as a new version "
          "(high-risk)", s.PolicyVersionOut, _replace_policy, body=s.PolicyReplace, tag="trust"),
    Route("POST", "/trust/policy/set", "setTrustPolicyKey", "Change one field, as a new "
          "version (high-risk)", s.PolicyVersionOut, _set_policy, body=s.PolicyKeySet,
          tag="trust"),
    Route("GET", "/trust/policy/versions", "trustPolicyVersions", "Every version: who, when, "
          "why, what changed", s.PolicyVersions, _versions, tag="trust"),
    Route("GET", "/trust/policy/versions/{version}", "trustPolicyVersion", "One version, "
          "whole", s.PolicyVersionOut, _version, tag="trust"),
    Route("POST", "/trust/policy/rollback", "rollbackTrustPolicy", "Make an earlier version "
          "current again, as a new version (high-risk)", s.PolicyVersionOut, _rollback,
          body=s.PolicyRollback, tag="trust"),
    Route("POST", "/trust/anchors/retire", "retireCaGeneration", "Stop trusting a CA "
          "generation: its certificates are refused at the next login (high-risk)",
          s.PolicyVersionOut, _retire, body=s.AnchorSelector, tag="trust"),
    Route("POST", "/trust/anchors/enable", "enableCaGeneration", "Trust a retired CA "
          "generation again (high-risk)", s.PolicyVersionOut, _enable_anchor,
          body=s.AnchorSelector, tag="trust"),
    Route("POST", "/trust/anchors", "addCaCertificate", "Trust a CA certificate (PEM) for a "
          "purpose (high-risk)", s.PolicyVersionOut, _add_anchor, body=s.AnchorAdd,
          tag="trust", status=201),
    Route("GET", "/audit", "auditEntries", "Audit log entries, newest first: since and until "
          "a seq number or a time, by actor, target, action (a prefix ending in '.') and "
          "outcome", s.AuditEntries,
          _audit, query=s.AuditQuery, tag="audit"),
    Route("GET", "/metering", "metering", "One month's validity checks per relying party, "
          "priced (month=YYYY-MM; this month if left out)", s.MeteringOut, _metering,
          query=s.MeteringQuery, tag="metering"),
]


# -- Flask ----------------------------------------------------------------------------------------
def blueprint(service: AdminService, routes: list[Route] | None = None) -> Blueprint:
    """The API's routes (``routes``: the table, extended by other parts such as the trust
    policy) and /admin/api/openapi.json generated from them."""
    table = list(ROUTES if routes is None else routes)
    bp = Blueprint("admin_api", __name__, url_prefix=PREFIX)
    bp.register_error_handler(IdpError, admin_errors.handler())
    for route in table:
        rule = route.path.replace("{", "<").replace("}", ">")
        bp.add_url_rule(rule, route.name, _view(service, route), methods=[route.method])

    @bp.get("/openapi.json")
    def openapi() -> Any:
        from idp.web.admin_openapi import document

        return jsonify(document(table))

    return bp


def _view(service: AdminService, route: Route) -> Callable[..., Any]:
    def view(**path: str) -> Any:
        actor, token = None, None
        if not route.public:
            found = authenticate(service)
            if found is None:
                service.record(None, route.name, request.path, None, "refused",
                                    {"why": "no credentials"})
                raise AdminLoginRequiredError()
            actor, token = found
            if token is not None and route.method in UNSAFE:
                web.require_csrf(csrf_token(token))
        call = Call(actor, _parse(route.body, web.json_object) if route.body else None,
                    _parse(route.query, lambda: request.args.to_dict()) if route.query
                    else None, path, token)
        if route.throttled is None:
            answer = route.handler(service, call)
        else:
            answer = throttled(service, route.throttled, lambda: route.handler(service, call))
        if isinstance(answer, Response):
            return answer
        return jsonify(answer.model_dump(mode="json")), route.status
    view.__name__ = route.name
    return view


def _parse(model: type[BaseModel], read: Callable[[], dict[str, Any]]) -> BaseModel:
    try:
        return model.model_validate(read())
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                             for e in error.errors()[:5])
        raise InvalidAdminInputError(f"invalid request: {problems}") from None
