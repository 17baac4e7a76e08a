"""A running IdP for the browser tests: the app on a loopback server, a relying party's redirect
URI (``/rp/cb``, a plain page) on the same server, and an anchor checker that answers "current"
for tests whose subject is not the card side (whose checker is tested on its own).

``serving(make_settings)`` builds the app from the settings made for the server's base URL
(``http://localhost:PORT``: WebAuthn allows http on localhost only), serves it on a thread and
disposes of it afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import Select
from werkzeug.serving import make_server

from idp.accounts.anchor_check import AnchorCheck, Asked
from idp.accounts.anchor_policy import AnchorState
from idp.app import create_app, services_of
from idp.settings import Settings

RP_CALLBACK = "/rp/cb"


class CurrentAnchors:
    """The anchor re-check answers "current" (the card side's checker is tested on its own)."""

    def check(self, private_id: str) -> AnchorCheck:
        return AnchorCheck(private_id, AnchorState.CURRENT, "sign_good", None, datetime.now(UTC))

    @staticmethod
    def along(statement: Select[Any], _: Any) -> Select[Any]:  # it reads no inputs
        return statement

    @contextmanager
    def asking(self, private_id: str, *, inputs: Any = None) -> Iterator[Asked]:
        yield Asked(self.check(private_id))


class RpSite:
    """The IdP, plus the relying party's redirect URI (a plain page) on the same server."""

    def __init__(self) -> None:
        self.app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == RP_CALLBACK:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"relying party"]
        assert self.app is not None
        return self.app(environ, start_response)


def at_origin(settings: Settings, base: str) -> Settings:
    """``settings`` with the issuer and the WebAuthn origin at ``base``."""
    return settings.model_copy(update={
        "oidc": settings.oidc.model_copy(update={"issuer": base}),
        "webauthn": settings.webauthn.model_copy(update={"origins": (base,)})})


@contextmanager
def serving(make_settings: Callable[[str], Settings], **create: Any
            ) -> Iterator[tuple[Flask, str]]:
    """(app, base URL) of an IdP served on loopback; ``create`` goes to ``create_app`` (e.g.
    ``anchors=CurrentAnchors()``)."""
    site = RpSite()
    server = make_server("127.0.0.1", 0, site, threaded=True)
    base = f"http://localhost:{server.server_port}"
    site.app = create_app(make_settings(base), **create)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site.app, base
    finally:
        server.shutdown()
        thread.join()
        services_of(site.app).engine.dispose()
