"""Every route of every sample RP answers odd input with a clear 4xx (or its page), never a
500: unknown state, errors without a login, forged logout tokens, unknown kiosk tickets."""

from __future__ import annotations

import pytest

from rp_examples.age_gate import PROFILE as AGE_GATE
from rp_examples.common import Profile, RpConfig, make_app
from rp_examples.portal import PROFILE as PORTAL
from rp_examples.portal_mail import PROFILE as PORTAL_MAIL
from rp_examples.shop import PROFILE as SHOP
from rp_examples.tv import PROFILE as TV
from tests.support.sim import free_port

REQUESTS = [
    ("GET", "/?lang=xx", None), ("GET", "/?lang=en", None), ("GET", "/whoami?lang=%00", None),
    ("GET", "/callback", None), ("GET", "/callback?state=nope&code=x", None),
    ("GET", "/callback?error=access_denied", None),
    ("GET", "/callback?state=%ff%fe&error=%00", None),
    ("GET", "/logout", None), ("POST", "/logout", {}),
    ("POST", "/backchannel-logout", {}), ("POST", "/backchannel-logout", {"logout_token": "x"}),
    ("POST", "/backchannel-logout", {"logout_token": "a.b.c" * 1000}),
    ("GET", "/theme.css", None), ("GET", "/static/rp.css", None), ("GET", "/nowhere", None),
    ("POST", "/buy", {"product": "<script>", "how": "nothing"}),
    ("GET", "/kiosk?ticket=unknown", None), ("GET", "/kiosk/unknown", None),
    ("GET", "/kiosk/done", None),
    ("GET", "/screen", None), ("GET", "/screen/status", None),
    ("GET", "/login?action=health_record", None), ("GET", "/login?action=%00", None),
]


@pytest.mark.parametrize("profile", [SHOP, AGE_GATE, PORTAL, PORTAL_MAIL, TV],
                         ids=lambda p: p.name)
def test_no_request_makes_a_500(profile: Profile) -> None:
    config = RpConfig(issuer=f"http://127.0.0.1:{free_port()}", client_id="rp_1",
                      base_url="http://localhost:8003", client_secret="s")
    client = make_app(profile, config).test_client()
    for method, path, form in REQUESTS:
        with client.open(path, method=method, data=form) as answer:
            assert answer.status_code < 500 or answer.status_code == 502, \
                (path, answer.status_code)
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
