"""Our IdP's side of the benchmarks: a fresh instance with one client and one login session.

The login session is written the way the test suite does it (``tests/support/login.py``): the
benchmarks measure the OIDC endpoints, not a person at a card reader.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

IDP = str(Path(sys.executable).parent / "idp")


def prepare_instance(env: dict[str, str], redirect_uri: str) -> tuple[str, str, tuple[str, str]]:
    """(client_id, client_secret, (cookie name, value)) for a new instance described by env."""
    subprocess.run([IDP, "db", "upgrade"], env=env, check=True, capture_output=True)
    added = subprocess.run(
        [IDP, "clients", "add", "--name", "bench", "--redirect-uri", redirect_uri,
         "--access-token-format", "opaque", "--id-token-alg", "ES256", "--json"],
        env=env, check=True, capture_output=True, text=True)
    client = json.loads(added.stdout)
    return client["client_id"], client["client_secret"], _login_cookie(env)


def _login_cookie(env: dict[str, str]) -> tuple[str, str]:
    from idp.accounts.sessions import COOKIE_NAME
    from idp.app import create_app
    from idp.settings import Settings
    from tests.support.login import login_session

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        app = create_app(Settings())
    finally:
        os.environ.clear()
        os.environ.update(saved)
    _, cookie = login_session(app)
    return COOKIE_NAME, cookie
