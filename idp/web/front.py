"""``/``: the IdP's front page (HTML, Japanese by default; JSON with Accept).

It says what the product is: an OpenID Connect provider that anchors a private ID and its
passkeys to the signing certificate of the person's My Number Card, checks that certificate
with J-LIS again at every login, and tells each relying party what it may rely on. On a demo
instance (``idp demo`` wrote ``demo_file``, see :mod:`idp.demo_info`) it is also the demo's
front door: the running relying parties and what each shows, the demo residents with their
card files and PINs, the command that answers a card request, the life events to try with the
simulator, and where the account and administration pages are.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, jsonify, render_template

from idp.demo_info import Demo, DemoFile, Resident
from idp.web import request as web

# The life events a visitor can try on a demo resident (trust/jlis_sim/cli_person.py), each
# with the options it needs; the page explains each from the catalogue (front.event.*).
LIFE_EVENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("move", ("--address", "東京都港区芝公園4-2-8")),
    ("rename", ("--name", "鈴木 太郎")),
    ("renew", ()),
    ("lose-card", ()),
    ("found-card", ()),
)


@dataclass(frozen=True)
class Command:
    name: str
    line: str


def sign_command(resident: Resident, pin: str | None) -> str:
    """The card client answering a card request as ``resident`` (URL left for the person)."""
    parts = ["idp", "card", "sign", "URL", "--card-file", resident.card_file]
    if pin:
        parts += ["--pin", pin]
    return shlex.join(parts).replace("URL", "'<URL>'", 1)


def life_event_commands(resident: Resident) -> tuple[Command, ...]:
    return tuple(Command(event, shlex.join(["idp", "sim", "person", event, resident.person_id,
                                            *options]))
                 for event, options in LIFE_EVENTS)


def try_resident(demo: Demo) -> Resident | None:
    """The resident to try life events on: the first with a signing certificate (15 or over)."""
    return next((r for r in demo.residents if r.sign_pin), None)


class FrontPage:
    def __init__(self, demo_file: DemoFile, var_dir: Path) -> None:
        self.demo_file = demo_file
        self.var_dir = var_dir

    def as_json(self, demo: Demo | None) -> dict[str, Any]:
        return {"issuer": web.context().issuer,
                "links": {"account": web.issuer_url("account.show"),
                          "openid_configuration": web.issuer_url("oidc.configuration")},
                "demo": demo.as_json() if demo else None}

    def show(self) -> Any:
        demo = self.demo_file.current()
        if web.wants_json():
            return jsonify(self.as_json(demo))
        language = web.language()
        resident = try_resident(demo) if demo else None
        return render_template(
            "front/index.html", demo=demo, links=self.as_json(demo)["links"],
            resident=resident, events=life_event_commands(resident) if resident else (),
            sign_command=sign_command, var_dir=str(self.var_dir.resolve()),
            **web.page_texts(language))


def blueprint(demo_file: DemoFile, var_dir: Path) -> Blueprint:
    page = FrontPage(demo_file, var_dir)
    bp = Blueprint("front", __name__)
    bp.add_url_rule("/", "show", page.show, methods=["GET"])
    return bp
