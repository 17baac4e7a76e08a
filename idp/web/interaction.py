"""``/interaction/{uid}``: one page per step, each with a JSON face (contract.md).

``Accept: application/json`` gets the step's state and the actions open now as links; every
POST needs the state's ``csrf_token`` in ``X-CSRF-Token`` and a JSON body, and answers
``{"redirect_to": URL}``. Login methods (card, passkeys, the terms before onboarding) add their
actions through hooks (``idp.web.actions``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template

from idp import i18n
from idp.assurance.policy import STEP_UP_REASONS
from idp.oidc.flow import Provider
from idp.web import fast
from idp.web import request as web
from idp.web.actions import ActionsHook, FaceHook, collect
from idp.web.request import Answer, BadBodyError, Call, FlaskCall


def checked_body(interactions: Provider, uid: str, call: Call | None = None) -> dict[str, Any]:
    """The JSON body of an interaction POST, once its CSRF token is checked."""
    return web.checked_json(interactions.csrf_token(uid), call)


class Faces:
    """``GET /interaction/{uid}``: the step's face, or where a finished login continues. Its JSON
    face is a shared route (``idp.web.fast``); the page is Flask's."""

    def __init__(self, interactions: Provider, action_hooks: tuple[ActionsHook, ...] = (),
                 face_hooks: tuple[FaceHook, ...] = ()) -> None:
        self.interactions = interactions
        self.action_hooks = action_hooks
        self.face_hooks = face_hooks

    def face(self, call: Call, uid: str) -> tuple[dict[str, Any] | None, str | None]:
        """(the face, None), or (None, the URL a finished login continues at)."""
        session_id = web.session_id(call)
        state = self.interactions.state(uid, session_id)
        # A finished login may still hold an optional step (the passkey offer) open.
        if state["prompt"] == "done" and not collect(self.action_hooks, state, call):
            return None, self.interactions.resume(uid, session_id)
        for hook in self.face_hooks:
            state = {**state, **hook(state, call)}
        return _face(state, call.language(), self.action_hooks, call), None

    def json(self, call: Call, uid: str) -> Answer:
        face, target = self.face(call, uid)
        return Answer(face if target is None else
                      {"uid": uid, "prompt": "done", "redirect_to": target})

    def route(self) -> fast.Route:
        """The JSON face, for a client whose Accept prefers JSON (a page is Flask's)."""
        return fast.Route("GET", "/interaction/<uid>", "login.show", self.json,
                          wants_json=True)


def blueprint(interactions: Provider, action_hooks: tuple[ActionsHook, ...] = (),
              face_hooks: tuple[FaceHook, ...] = (), faces: Faces | None = None) -> Blueprint:
    bp = Blueprint("login", __name__)
    faces = faces or Faces(interactions, action_hooks, face_hooks)
    json_face = fast.flask_view(faces.json)

    @bp.get("/interaction/<uid>")
    def show(uid: str) -> Any:
        if web.wants_json():
            return json_face(uid=uid)
        face, target = faces.face(FlaskCall(), uid)
        if face is None:
            return redirect(target or "/", code=303)
        return render_template("login/interaction.html", face=face,
                               **web.page_texts(web.language()))

    @bp.post("/interaction/<uid>/consent")
    def consent(uid: str) -> Any:
        body = checked_body(interactions, uid)
        approve, claims = body.get("approve"), body.get("claims", [])
        if not isinstance(approve, bool) or not isinstance(claims, list) or not all(
                isinstance(c, str) for c in claims):
            raise BadBodyError('send {"approve": true|false, "claims": ["name", ...]}')
        target = interactions.consent(uid, web.session_id(), approve=approve, claims=claims)
        return jsonify({"redirect_to": target})

    @bp.post("/interaction/<uid>/abort")
    def abort(uid: str) -> Any:
        checked_body(interactions, uid)
        return jsonify({"redirect_to": interactions.abort(uid)})

    return bp


def _face(state: dict[str, Any], language: str, hooks: tuple[ActionsHook, ...], call: Call) -> \
        dict[str, Any]:
    uid, prompt = state["uid"], state["prompt"]
    client_name = state["client"]["name"]
    actions = {"abort": {"method": "POST", "href": call.url("login.abort", uid=uid)}}
    actions.update(collect(hooks, state, call))
    if prompt == "reissue":
        message = i18n.translate(language, "prompt.reissue", client=client_name)
    elif prompt == "consent":
        actions["consent"] = {"method": "POST", "href": call.url("login.consent", uid=uid)}
        message = i18n.translate(language, "prompt.consent", client=client_name)
    elif prompt == "done":
        message = i18n.translate(language, "prompt.done.optional", client=client_name)
    elif prompt == "approve":
        user_code = (state.get("device") or {}).get("user_code")
        message = i18n.translate(language, "prompt.approve_device", client=client_name,
                                 user_code=user_code) if user_code else \
            i18n.translate(language, "prompt.approve_device.typed", client=client_name)
    elif prompt == "sign":
        message = i18n.translate(language, "prompt.sign", client=client_name)
    elif steps := [r for r in state["reasons"] if r in STEP_UP_REASONS]:
        message = " ".join([i18n.translate(language, "prompt.step_up", client=client_name),
                            *(i18n.translate(language, f"prompt.step_up.{r}") for r in steps)])
    else:
        message = i18n.translate(language, "prompt.login", client=client_name)
        if len(actions) == 1:  # only abort: no login method is open
            message += " " + i18n.translate(language, "prompt.login.unavailable")
    face = {key: state[key] for key in ("uid", "prompt", "reasons", "client", "requested",
                                        "csrf_token")}
    for key in ("account", "document", "device", "passkey"):
        if state.get(key):
            face[key] = state[key]
    face["message"] = message
    face["actions"] = actions
    face["claim_labels"] = {c: i18n.translate(language, f"claim.{c}")
                            for c in state["requested"]["claims"]}
    return face
