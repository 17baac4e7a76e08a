"""The terms step before onboarding: ``/interaction/{uid}/terms`` (action ``agree``).

Before the card is asked to onboard, the person reads the terms of use and what the J-LIS link
means (``idp.accounts.terms``) and agrees explicitly:

- ``GET`` (``Accept: application/json``): ``{"version", "title", "text", "jlis_link", "agreed"}``
  in the person's language;
- ``POST`` with ``X-CSRF-Token`` and ``{"agree": true, "version": V}``: records the agreement for
  this interaction in this browser (signed session cookie) and answers
  ``{"terms": {"version", "agreed_at"}}``. The onboarding card request then carries it, and the
  private ID records it when the card has answered (``idp.accounts.people.onboard``).

The ``agree`` action is open at a login prompt until the person has agreed; it carries the
``version`` it asks for. ``onboard`` without an agreement is refused (403 ``terms_not_agreed``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, jsonify, session
from flask.typing import ResponseReturnValue

from idp import i18n
from idp.accounts import terms
from idp.accounts.terms import TERMS_VERSION, Agreement
from idp.oidc.flow import Provider
from idp.web import request as web
from idp.web.actions import Action
from idp.web.interaction import checked_body
from idp.web.request import BadBodyError, Call

_SESSION_KEY = "terms_agreed"  # {uid: [version, agreed_at ISO]} of this browser's interactions
_KEEP = 8  # interactions remembered per browser (older agreements are asked again)


def agreement(uid: str, call: Call | None = None) -> Agreement | None:
    """What this browser agreed to in interaction ``uid``, if anything."""
    found = (session if call is None else call.session).get(_SESSION_KEY, {}).get(uid)
    if not isinstance(found, list) or len(found) != 2:
        return None
    return Agreement(str(found[0]), datetime.fromisoformat(str(found[1])))


def required_agreement(uid: str) -> Agreement:
    """The agreement an onboarding request carries; refused without one to the current terms."""
    return terms.required(agreement(uid))


def actions(uid: str, call: Call) -> dict[str, Action]:
    """``agree`` (with the version it asks for) until this interaction's terms are agreed."""
    if agreement(uid, call) is not None:
        return {}
    return {"agree": {"method": "POST", "href": call.url("terms.agree", uid=uid),
                      "version": TERMS_VERSION}}


def blueprint(interactions: Provider) -> Blueprint:
    bp = Blueprint("terms", __name__)

    @bp.get("/interaction/<uid>/terms")
    def show(uid: str) -> ResponseReturnValue:
        interactions.state(uid, None)  # the interaction exists and is open
        lang = web.language()
        return jsonify({"version": TERMS_VERSION,
                        "title": i18n.translate(lang, "terms.title"),
                        "text": i18n.translate(lang, "terms.text"),
                        "jlis_link": i18n.translate(lang, "terms.jlis_link"),
                        "agreed": agreement(uid) is not None})

    @bp.post("/interaction/<uid>/terms")
    def agree(uid: str) -> ResponseReturnValue:
        body = checked_body(interactions, uid)
        interactions.state(uid, None)
        if body.get("agree") is not True or not isinstance(body.get("version"), str):
            raise BadBodyError('send {"agree": true, "version": "<the version shown>"}')
        agreed = terms.required(Agreement(body["version"], datetime.now(UTC)))
        _remember(uid, agreed)
        return jsonify({"terms": {"version": agreed.version,
                                  "agreed_at": agreed.agreed_at.isoformat()}})

    return bp


def _remember(uid: str, agreed: Agreement) -> None:
    kept = dict(list(session.get(_SESSION_KEY, {}).items())[-(_KEEP - 1):])
    kept[uid] = [agreed.version, agreed.agreed_at.isoformat()]
    session[_SESSION_KEY] = kept
