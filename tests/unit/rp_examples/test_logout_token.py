"""The sample RPs refuse a back-channel logout token unless every check of Back-Channel Logout
1.0 §2.6 passes (signature by the IdP's key, iss, aud, iat, jti, the event, no nonce, sid or
sub, explicit typing)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from rp_examples.common import RpConfig
from rp_examples.common.oidc import BACKCHANNEL_EVENT, LogoutTokenError, verify_logout_token

ISSUER, CLIENT = "https://idp.example", "rp_shop"
KEY = ECKey.generate_key("P-256", parameters={"kid": "idp-1"})
OTHER = ECKey.generate_key("P-256", parameters={"kid": "idp-1"})
CONFIG = RpConfig(issuer=ISSUER, client_id=CLIENT, base_url="http://rp.example",
                  client_secret="s")


class _Client:
    """What the check reads of Authlib's client: the metadata and the IdP's JWKS."""

    def __init__(self) -> None:
        self.fetched = 0

    def load_server_metadata(self) -> dict[str, Any]:
        return {"issuer": ISSUER, "id_token_signing_alg_values_supported": ["ES256"]}

    def fetch_jwk_set(self, force: bool = False) -> dict[str, Any]:
        self.fetched += 1
        return {"keys": [KEY.as_dict(private=False)]}


def _token(key: ECKey = KEY, typ: str | None = "logout+jwt", **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT, "iat": now, "exp": now + 120, "jti": "j1",
              "sub": "s1", "sid": "sid1", "events": {BACKCHANNEL_EVENT: {}}}
    claims.update(changes)
    header = {"alg": "ES256", "kid": "idp-1", **({"typ": typ} if typ else {})}
    return jwt.encode(header, {k: v for k, v in claims.items() if v is not None}, key)


def test_a_good_token_names_the_session() -> None:
    claims = verify_logout_token(_Client(), CONFIG, _token())
    assert (claims["sid"], claims["sub"]) == ("sid1", "s1")


@pytest.mark.parametrize(("token", "why"), [
    (lambda: _token(key=OTHER), "does not verify"),
    (lambda: _token(iss="https://evil.example"), "does not verify"),
    (lambda: _token(aud="rp_other"), "does not verify"),
    (lambda: _token(jti=None), "does not verify"),
    (lambda: _token(iat=None), "does not verify"),
    (lambda: _token(exp=int(time.time()) - 3600), "does not verify"),
    (lambda: _token(events={"http://example/other": {}}), "event"),
    (lambda: _token(nonce="n"), "nonce"),
    (lambda: _token(sid=None, sub=None), "neither sid nor sub"),
    (lambda: _token(typ="JWT"), "typ"),
    (lambda: "not.a.jwt", "does not verify"),
], ids=["key", "iss", "aud", "jti", "iat", "expired", "event", "nonce", "no-subject", "typ",
        "garbage"])
def test_a_bad_token_is_refused(token: Any, why: str) -> None:
    with pytest.raises(LogoutTokenError, match=why):
        verify_logout_token(_Client(), CONFIG, token())
