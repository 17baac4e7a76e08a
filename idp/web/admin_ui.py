"""/admin: the administrators' pages (Japanese by default, English with ?lang=en).

The pages are thin over the admin service: they render what it answers, and every change is
made by ``idp/static/js/admin.js`` through the JSON API (``idp.web.admin_api``) with the
session's CSRF token, so the UI, the API and the CLI take the same path. A high-risk action
answered ``confirmation_required`` asks for the passkey again and is retried once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, redirect, render_template, request
from pydantic import ValidationError

from idp.admin import AdminService
from idp.admin.errors import AdminError, InvalidAdminInputError
from idp.admin.roles import PERMISSIONS, Actor, Permission
from idp.admin.schemas import AccountQuery, AuditQuery, MeteringQuery
from idp.errors import IdpError
from idp.metering import BadMonthError
from idp.web import admin_errors
from idp.web import metering as metering_fragment
from idp.web import request as web
from idp.web.admin_api import admin_cookie, csrf_token, throttled


def blueprint(service: AdminService) -> Blueprint:
    bp = Blueprint("admin_ui", __name__, url_prefix="/admin")
    pages = Pages(service)
    bp.register_error_handler(IdpError, admin_errors.handler(pages.actor, pages=True))
    bp.add_url_rule("/", "home", pages.signed_in(pages.home))
    bp.add_url_rule("/login", "login", pages.login)
    bp.add_url_rule("/enrol/<token>", "enrol", pages.enrol)
    bp.add_url_rule("/clients", "clients", pages.signed_in(pages.clients))
    bp.add_url_rule("/clients/new", "client_new", pages.signed_in(pages.client_new))
    bp.add_url_rule("/clients/<client_id>", "client", pages.signed_in(pages.client))
    bp.add_url_rule("/accounts", "accounts", pages.signed_in(pages.accounts))
    bp.add_url_rule("/accounts/<private_id>", "account", pages.signed_in(pages.account))
    bp.add_url_rule("/admins", "admins", pages.signed_in(pages.admins))
    bp.add_url_rule("/trust", "trust", pages.signed_in(pages.trust))
    bp.add_url_rule("/audit", "audit", pages.signed_in(pages.audit))
    bp.add_url_rule("/metering", "metering", pages.signed_in(pages.metering))
    return bp


class Pages:
    def __init__(self, service: AdminService) -> None:
        self.service = service

    def render(self, template: str, actor: Actor | None = None, **values: Any) -> str:
        lang = web.language()
        token = admin_cookie()
        return render_template(
            f"admin/{template}", lang=lang, t=web.translator(lang), clock=web.clock(lang),
            actor=actor, explain=admin_errors.explain(lang),
            can=(lambda p: Permission(p) in PERMISSIONS[actor.role]) if actor else
            (lambda p: False), csrf=csrf_token(token) if actor and token else "", **values)

    def actor(self) -> Actor | None:
        """Who is signed in to the console in this browser (None: nobody)."""
        found = self.service.identity.session_actor(admin_cookie())
        return found[0] if found else None

    def signed_in(self, page: Callable[..., Any]) -> Callable[..., Any]:
        def view(**path: str) -> Any:
            found = self.service.identity.session_actor(admin_cookie())
            if found is None:
                return redirect("/admin/login")
            return page(found[0], **path)  # a refusal: in admin words (idp.web.admin_errors)
        view.__name__ = page.__name__
        return view

    # -- without a session ---------------------------------------------------------------------
    def login(self) -> Any:
        return self.render("login.html")

    def enrol(self, token: str) -> Any:
        """The enrolment page; an expired, used or unknown URL is refused (error page)."""
        admin = throttled(self.service, "admin.enrol",
                          lambda: self.service.identity.enrolment(token))
        return self.render("enrol.html", admin=admin, token=token)

    # -- signed in -----------------------------------------------------------------------------
    def home(self, actor: Actor) -> Any:
        health = self.service.health.report(actor)  # recorded: the head below includes it
        trust = (self.service.trust.current(actor) if Permission.READ_TRUST in
                 PERMISSIONS[actor.role] else None)
        audit_head = (self.service.audit.head() if Permission.READ_AUDIT in
                      PERMISSIONS[actor.role] else None)
        checkpoint = self.service.audit.last_checkpoint() if audit_head else None
        return self.render("home.html", actor, health=health, trust=trust,
                           audit_head=audit_head, checkpoint=checkpoint)

    def clients(self, actor: Actor) -> Any:
        return self.render("clients.html", actor, clients=self.service.clients.all(actor))

    def client_new(self, actor: Actor) -> Any:
        return self.render("client_form.html", actor, client=None)

    def client(self, actor: Actor, client_id: str) -> Any:
        return self.render("client_form.html", actor,
                           client=self.service.clients.get(actor, client_id))

    def accounts(self, actor: Actor) -> Any:
        fields = {k: v for k, v in request.args.items()
                  if k in AccountQuery.model_fields and v}
        found: list[Any] | None = None
        error: AdminError | None = None
        if fields:
            try:
                query = AccountQuery.model_validate(fields)
                found = self.service.accounts.find(actor, query)
            except ValidationError:
                error = InvalidAdminInputError("a search field is too long")
            except AdminError as refused:
                error = refused
        return self.render("accounts.html", actor, query=fields, found=found, error=error)

    def account(self, actor: Actor, private_id: str) -> Any:
        return self.render("account.html", actor,
                           account=self.service.accounts.detail(actor, private_id))

    def admins(self, actor: Actor) -> Any:
        return self.render("admins.html", actor, admins=self.service.identity.all(actor))

    def trust(self, actor: Actor) -> Any:
        current = self.service.trust.current(actor)
        policy = current.policy.as_json() if current.policy else {}
        return self.render("trust.html", actor, current=current, policy=policy,
                           policy_json=json.dumps(policy, ensure_ascii=False, indent=2),
                           versions=self.service.trust.versions(actor).versions,
                           settable=self.service.trust.settable)

    def audit(self, actor: Actor) -> Any:
        """The audit log, newest first, filtered by the form (since, until, actor, target,
        action, outcome, limit)."""
        fields = {k: v for k, v in request.args.items() if k in AuditQuery.model_fields and v}
        error: AdminError | None = None
        found = None
        try:
            query = AuditQuery.model_validate(fields)
        except ValidationError:
            error, query = InvalidAdminInputError("a filter is too long or the limit is not "
                                                  "a number from 1 to 1000"), AuditQuery()
        try:
            found = self.service.audit.entries(actor, query)
        except InvalidAdminInputError as refused:
            error = refused
            found = self.service.audit.entries(actor, AuditQuery(
                actor=query.actor, target=query.target, action=query.action,
                outcome=query.outcome, limit=query.limit))
        return self.render("audit.html", actor, query=fields, found=found, error=error)

    def metering(self, actor: Actor) -> Any:
        """The month's checks per relying party: the bar chart and the table."""
        asked = request.args.get("month") or None
        error: BadMonthError | None = None
        try:
            report = self.service.metering.month(actor, MeteringQuery(month=asked))
        except (BadMonthError, ValidationError):
            error = BadMonthError()
            report = self.service.metering.month(actor, MeteringQuery())
        fragment = metering_fragment.fragment(self.service.metering.report, report.month,
                                              web.language())
        return self.render("metering.html", actor, month=report.month, fragment=fragment,
                           error=error, asked=asked or report.month)
