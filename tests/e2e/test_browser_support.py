"""The browser tier itself: system Chromium starts headless and offers a virtual authenticator."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.browser import VirtualAuthenticator, browser

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><meta charset=utf-8><p id=greeting>ようこそ</p><script>
async function register() {
  const credential = await navigator.credentials.create({publicKey: {
    challenge: new Uint8Array(32), rp: {id: "localhost", name: "test"},
    user: {id: new Uint8Array(16), name: "taro", displayName: "太郎"},
    pubKeyCredParams: [{type: "public-key", alg: -7}],
    authenticatorSelection: {residentKey: "required", userVerification: "required"}}});
  return credential.type;
}
</script>""".encode()


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_system_chromium_renders_japanese_and_registers_a_passkey_on_the_virtual_authenticator(
    page_url: str,
) -> None:
    with browser() as chromium:
        page = chromium.new_page()
        page.goto(page_url)
        assert page.inner_text("#greeting") == "ようこそ"
        authenticator = VirtualAuthenticator.attach(page)
        assert authenticator.credentials() == []
        assert page.evaluate("register()") == "public-key"
        [credential] = authenticator.credentials()
        assert credential["isResidentCredential"] is True
        assert credential["rpId"] == "localhost"
