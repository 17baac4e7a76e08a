"""Headless Debian Chromium driven by Playwright, with the DevTools virtual authenticator.

Never downloads a browser: Playwright launches `/usr/bin/chromium` (installed by
`make system-deps`). The flags keep Chromium off the network it cannot reach here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"


def _screenshots() -> Path:
    """Where the journeys photograph their key pages.

    docs/screenshots/ with ``UPDATE_SCREENSHOTS=1`` (docs/journeys.md); otherwise a temporary
    folder, so that a test run leaves the checkout as it found it.
    """
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        return Path(__file__).parents[2] / "docs" / "screenshots"
    folder = Path(tempfile.gettempdir()) / "idp-screenshots"
    folder.mkdir(exist_ok=True)
    return folder


SCREENSHOTS = _screenshots()
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str:
    return shutil.which("chromium") or CHROMIUM


@contextmanager
def browser() -> Iterator[Any]:
    """A Playwright Browser on the system Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class VirtualAuthenticator:
    """A platform authenticator with user verification, as a phone or laptop would have."""

    cdp: Any
    authenticator_id: str

    @classmethod
    def attach(cls, page: Any, *, user_verified: bool = True) -> VirtualAuthenticator:
        cdp = page.context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        answer = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": user_verified,
            "automaticPresenceSimulation": True,
        }})
        return cls(cdp, answer["authenticatorId"])

    def credentials(self) -> list[dict[str, Any]]:
        answer = self.cdp.send("WebAuthn.getCredentials",
                               {"authenticatorId": self.authenticator_id})
        credentials: list[dict[str, Any]] = answer["credentials"]
        return credentials

    def remove(self) -> None:
        self.cdp.send("WebAuthn.removeVirtualAuthenticator",
                      {"authenticatorId": self.authenticator_id})


def watch_csp(page: Any, into: list[str] | None = None) -> list[str]:
    """Collect the Content-Security-Policy violations ``page`` reports from now on, on every
    document it loads (Chromium logs each on the console: "Refused to ... because it violates
    the following Content Security Policy directive ..."). A page the policy breaks shows up
    here even when no assertion of the journey looks at the broken part."""
    seen = [] if into is None else into

    def keep(message: Any) -> None:
        if "Content Security Policy" in message.text:
            seen.append(f"{page.url}: {message.text}")

    page.on("console", keep)
    return seen
