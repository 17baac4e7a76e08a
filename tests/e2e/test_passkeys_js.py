"""idp/static/js/passkeys.js in Chromium with the DevTools virtual authenticator, against the
server-side ceremonies: the browser half and the server half of a passkey agree."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from idp.passkeys import ceremonies
from idp.passkeys.values import Anchor, StoredKey
from tests.support.browser import VirtualAuthenticator, browser

pytestmark = pytest.mark.browser

SCRIPT = (Path(__file__).parents[2] / "idp" / "static" / "js" / "passkeys.js").read_bytes()
PAGE = b"""<!doctype html><meta charset=utf-8><input autocomplete="username webauthn">
<script type=module>import * as passkeys from "/static/js/passkeys.js";
window.passkeys = passkeys;</script>"""
HANDLE = b"\x07" * 32
NOW = datetime.now(UTC)
MINUTES = timedelta(minutes=5)


class _Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body, kind = (SCRIPT, "text/javascript") if self.path.endswith(".js") else (PAGE,
                                                                                   "text/html")
        self.send_response(200)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def page(origin: str) -> Iterator[Any]:
    with browser() as chromium:
        page = chromium.new_page()
        page.goto(origin + "/")
        page.wait_for_function("window.passkeys !== undefined")
        yield page


def test_base64url_round_trips_every_byte_value(page: Any) -> None:
    assert page.evaluate("""() => {
      const bytes = new Uint8Array(256).map((_, i) => i);
      const text = passkeys.toBase64url(bytes.buffer);
      const back = new Uint8Array(passkeys.fromBase64url(text));
      return !/[+/=]/.test(text) && back.every((b, i) => b === i) && back.length === 256;
    }""")


# Older browsers lack the JSON helpers of WebAuthn L3; the module then converts by itself.
WITHOUT_JSON_HELPERS = """() => {
  delete PublicKeyCredential.parseCreationOptionsFromJSON;
  delete PublicKeyCredential.parseRequestOptionsFromJSON;
  delete PublicKeyCredential.prototype.toJSON;
  return typeof PublicKeyCredential.parseCreationOptionsFromJSON;
}"""


@pytest.mark.parametrize("helpers", ["native", "fallback"])
def test_a_passkey_made_and_used_through_the_module_verifies_on_the_server(
    page: Any, origin: str, helpers: str
) -> None:
    if helpers == "fallback":
        assert page.evaluate(WITHOUT_JSON_HELPERS) == "undefined"
    else:
        assert page.evaluate("typeof PublicKeyCredential.prototype.toJSON") == "function"
    authenticator = VirtualAuthenticator.attach(page)
    options, pending = ceremonies.registration_options(
        "pid_taro", HANDLE, "太郎", (), rp_id="localhost", rp_name="JPKI IdP",
        anchor=Anchor("CN=sim", "01"), now=NOW, timeout=MINUTES)
    response = page.evaluate("options => passkeys.register(options)", options)
    passkey = ceremonies.verify_registration(
        response, expected_challenge=pending.challenge, expected_origin=origin,
        expected_rp_id="localhost")
    assert passkey.user_verified
    assert [c["isResidentCredential"] for c in authenticator.credentials()] == [True]

    options, pending = ceremonies.authentication_options(rp_id="localhost", now=NOW,
                                                         timeout=MINUTES)
    assertion_json = page.evaluate("options => passkeys.signIn(options)", options)
    stored = StoredKey(passkey.credential_id, passkey.public_key, passkey.sign_count,
                       passkey.backup_eligible, HANDLE)
    assertion = ceremonies.verify_authentication(
        assertion_json, stored_passkey=stored, expected_challenge=pending.challenge,
        expected_origin=origin, expected_rp_id="localhost")
    assert assertion.credential_id == passkey.credential_id
    assert assertion.user_verified


def test_conditional_mediation_is_detected_as_a_boolean(page: Any) -> None:
    assert page.evaluate("passkeys.conditionalMediationAvailable()") in (True, False)
