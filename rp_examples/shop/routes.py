"""The shop's own route: buying (the ``buy`` or ``pay_later`` action of its gating table)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from rp_examples.common import current_login, decide, language, render, state_of


def add_routes(app: Any) -> None:
    flask_app: Flask = app

    @flask_app.post("/buy")
    def buy() -> Response:
        profile = state_of(flask_app).profile
        action = profile.action(request.form.get("how", "buy")) or profile.actions[0]
        product = request.form.get("product", "")
        decision = decide(action, current_login(), language())
        return render("shop.html", 200 if decision.allowed else 403, bought=product,
                      bought_with=action.name, decision=decision)
