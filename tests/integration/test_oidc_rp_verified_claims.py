"""verified_claims and the age claims read by relying-party libraries nobody here wrote (`oic`
and Authlib's client) from a running IdP (the fixtures of test_oidc_rp_libraries)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from idp.accounts.sessions import COOKIE_NAME
from tests.integration import test_oidc_rp_libraries as libraries
from tests.integration.test_oidc_rp_libraries import (
    REDIRECT,
    Idp,
    _authlib_id_token,
    _metadata,
    _oic_client,
    authlib_warning,
)
from tests.support.anchor import CA, anchor
from tests.support.login import login_session

pytestmark = pytest.mark.slow
idp, insecure_transport = libraries.idp, libraries.insecure_transport  # the fixtures
VERIFIED = {"verification": {"trust_framework": {"value": "jp_aml"}, "time": {"max_age": 3600},
                             "evidence": [{"type": {"value": "electronic_signature"}}]},
            "claims": {"name": None, "birthdate": None, "gender": None, "address": None}}
CLAIMS = {"id_token": {"verified_claims": VERIFIED, "age_over_20": None},
          "userinfo": {"verified_claims": VERIFIED}}


def _anchored_browser(idp: Idp, **basic4: str) -> requests.Session:
    private_id, cookie = login_session(idp.app)
    anchor(idp.app, private_id, **basic4)
    browser = requests.Session()
    browser.cookies.set(COOKIE_NAME, cookie, domain="127.0.0.1")
    return browser


def _check_verified(verified: dict[str, Any]) -> None:
    assert verified["verification"]["trust_framework"] == "jp_aml"
    assert verified["verification"]["evidence"][0]["issuer"] == CA
    assert verified["verification"]["evidence"][0]["serial_number"] == "0a1b2c3d"
    assert verified["claims"]["name"] == "山田\u3000太郎"
    assert verified["claims"]["birthdate"] == "1980-04-01"


def test_oic_reads_verified_claims_and_age(idp: Idp) -> None:
    from oic import rndstr
    from oic.oic.message import (
        AccessTokenResponse,
        AuthorizationResponse,
        ClaimsRequest,
        OpenIDSchema,
    )

    client = _oic_client(idp, idp.register())
    assert client.provider_info["trust_frameworks_supported"] == ["jp_aml"]
    assert "age" in client.provider_info["scopes_supported"]
    pkce, verifier = client.add_code_challenge()
    request = client.construct_AuthorizationRequest(request_args={
        "client_id": client.client_id, "response_type": "code", "scope": ["openid"],
        "nonce": rndstr(), "redirect_uri": REDIRECT, "state": "s-vc",
        "claims": ClaimsRequest(**CLAIMS), **pkce})
    back = idp.follow(_anchored_browser(idp), request.request(client.authorization_endpoint))
    response = client.parse_response(AuthorizationResponse, info=urlsplit(back).query,
                                     sformat="urlencoded")
    tokens = client.do_access_token_request(
        state="s-vc", request_args={"code": response["code"], "code_verifier": verifier},
        authn_method="client_secret_basic")
    assert isinstance(tokens, AccessTokenResponse), tokens
    _check_verified(tokens["id_token"]["verified_claims"])
    assert tokens["id_token"]["age_over_20"] is True
    info = client.do_user_info_request(state="s-vc")
    assert isinstance(info, OpenIDSchema)
    _check_verified(info["verified_claims"])
    assert "name" not in info  # only inside verified_claims, as asked


@authlib_warning
@pytest.mark.usefixtures("insecure_transport")
def test_authlib_reads_age_only(idp: Idp) -> None:
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    meta, credentials = _metadata(idp), idp.register()
    assert meta["claims_in_verified_claims_supported"][:2] == ["name", "family_name"]
    assert "verified_claims_supported" not in meta
    session = OAuth2Session(credentials["client_id"], credentials["client_secret"],
                            scope="openid age", redirect_uri=REDIRECT,
                            code_challenge_method="S256")
    verifier, nonce = generate_token(48), generate_token(16)
    url, _state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce,
        claims=json.dumps({"id_token": {"age_over_18": None}}))
    back = idp.follow(_anchored_browser(idp, birth_date="2010-01-01"), url)
    token = session.fetch_token(meta["token_endpoint"], authorization_response=back,
                                code_verifier=verifier)
    id_claims = _authlib_id_token(idp, token["id_token"], credentials["client_id"], nonce)
    assert id_claims["age_over_18"] is False
    info = session.get(meta["userinfo_endpoint"]).json()
    assert set(info) == {"sub", "age_over_18", "age_over_20", "age_over_65"}
    assert not any(info[k] for k in ("age_over_18", "age_over_20", "age_over_65"))
    introspected = session.introspect_token(meta["introspection_endpoint"],
                                            token=token["access_token"]).json()
    received = json.dumps([token, id_claims, info, introspected], ensure_ascii=False)
    for leak in ("山田", "2010", "東京", "birthdate", "address", "0a1b2c3d"):
        assert leak not in received, leak


@authlib_warning
@pytest.mark.usefixtures("insecure_transport")
def test_authlib_reads_verified_claims(idp: Idp) -> None:
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    meta, credentials = _metadata(idp), idp.register()
    session = OAuth2Session(credentials["client_id"], credentials["client_secret"],
                            scope="openid", redirect_uri=REDIRECT, code_challenge_method="S256")
    verifier, nonce = generate_token(48), generate_token(16)
    url, _state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce,
        claims=json.dumps(CLAIMS))
    back = idp.follow(_anchored_browser(idp), url)
    token = session.fetch_token(meta["token_endpoint"], authorization_response=back,
                                code_verifier=verifier)
    id_claims = _authlib_id_token(idp, token["id_token"], credentials["client_id"], nonce)
    _check_verified(id_claims["verified_claims"])
    _check_verified(session.get(meta["userinfo_endpoint"]).json()["verified_claims"])
