"""Refusals on /admin in the administrators' words.

The person's wording ("go back to the service you were using") helps nobody running the
platform. A refusal raised in the console or the admin API (``admin_ui``, ``admin_api``: each
blueprint registers :func:`handler`) keeps the status, headers and stable ``error`` code of the
one error renderer (``idp.web.errors.refusal``), with a description that says, in the
administrator's language, what was refused and what to do next:

- ``admin.error.<code>`` in the catalogue (``idp/i18n/admin.*.json``) for an administration
  refusal raised with its default text; ``admin.error.<code>.detail`` around any other text
  (one naming the exact field or value, kept as raised: ``{detail}``); the person's catalogue
  text otherwise;
- a role beyond its rights is told which role it has, what the action needs and which roles
  may do it; a throttled sign-in how long to wait.

A page (the console's GET pages) renders ``admin/error.html`` in the console's frame, with the
way on (sign in again, the console's home); everything else answers JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, make_response, render_template, request

from idp.admin.errors import AdminError, NotPermittedError
from idp.admin.roles import PERMISSIONS, Actor
from idp.errors import IdpError
from idp.i18n import catalogue, translate
from idp.i18n.errors import default_description, localised_error
from idp.throttle import TooManyAttemptsError
from idp.web import request as web
from idp.web.errors import refusal


def description(error: IdpError, language: str) -> str:
    """What the administrator is told of ``error``, in ``language``."""
    plain = f"admin.error.{error.code}"
    # An administration refusal in its own default words gets the catalogue's; any other text
    # (one naming a field, or another part's own sentence: "give the month as YYYY-MM") is kept
    # as the detail of the code's sentence.
    own = isinstance(error, AdminError) and error.description == default_description(error)
    for key in (plain,) if own else (plain + ".detail", plain):
        if key not in catalogue("ja"):
            continue
        try:
            return translate(language, key, detail=error.description.rstrip("。. "),
                             **_values(error, language))
        except KeyError:  # raised without what the text names (a role): the next one
            continue
    return localised_error(error, language)["error_description"]


def _values(error: IdpError, language: str) -> dict[str, str]:
    if isinstance(error, NotPermittedError) and error.role is not None:
        allowed = [role for role, granted in PERMISSIONS.items()
                   if error.permission is not None and error.permission in granted]
        return {"role": translate(language, f"admin.role.{error.role}"),
                "action": translate(language, f"admin.permission.{error.permission}"),
                "allowed": "、".join(translate(language, f"admin.role.{r}") for r in allowed)
                if language == "ja" else ", ".join(translate(language, f"admin.role.{r}")
                                                   for r in allowed)}
    if isinstance(error, TooManyAttemptsError):
        return {"retry": error.retry_after}
    return {}


def handler(actor_of: Callable[[], Actor | None] | None = None,
            *, pages: bool = False) -> Callable[[IdpError], Response]:
    """The error handler of an admin blueprint: ``pages`` for the console (a GET that asks for
    HTML gets the page; ``actor_of`` names who is signed in, for the page's menu), JSON
    otherwise."""

    def respond(error: IdpError) -> Response:
        language = web.language()
        answer = refusal(error, language)  # the status and headers every refusal has
        body = {"error": error.code, "error_description": description(error, language)}
        if pages and _wants_page():
            actor = actor_of() if actor_of is not None else None
            response = make_response(render_template(
                "admin/error.html", lang=language, t=web.translator(language), actor=actor,
                can=_can(actor), csrf="", error={**body, "status": answer.status}),
                answer.status)
        else:
            response = make_response(jsonify(body), answer.status)
        for name, value in answer.headers:
            response.headers[name] = value
        return response

    return respond


def _wants_page() -> bool:
    if "application/json" in request.headers.get("Accept", ""):
        return False
    return request.method == "GET" and request.accept_mimetypes.best == "text/html"


def _can(actor: Actor | None) -> Callable[[str], bool]:
    def can(permission: str) -> bool:
        return actor is not None and any(p.value == permission for p in PERMISSIONS[actor.role])
    return can


def explain(language: str) -> Callable[[Any], str]:
    """For the console's templates: an inline refusal (a search, a filter) described as
    :func:`description` does."""
    return lambda error: description(error, language)
