"""The RP's side of OpenID Connect, on Authlib's Flask client.

Authlib does the code flow: discovery, state, nonce, PKCE (S256), the token request (client
secret, or a ``private_key_jwt`` assertion) and the ID token's validation (signature by the
IdP's JWKS, iss, aud, exp, nonce). Added here: pushing the request first (PAR, RFC 9126) for
clients with a key, and the back-channel logout token's validation (Back-Channel Logout 1.0
§2.6), which Authlib's client does not offer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from authlib.integrations.flask_client import OAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from flask import Flask
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import JWKRegistry, KeySet
from joserfc.jws import JWSRegistry

from rp_examples.common.config import RpConfig
from rp_examples.common.profile import Ask, Login

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Claims about the login rather than the person: shown apart, never listed as "claims".
PROTOCOL_CLAIMS = frozenset({"iss", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "c_hash",
                             "auth_time", "acr", "amr", "sid", "azp", "sub", "jti"})
CLIENT_NAME = "idp"
_TIMEOUT = 10


class IdpRefusedError(RuntimeError):
    """The IdP refused a request the RP made on its own (the pushed authorization request)."""


class LogoutTokenError(ValueError):
    """A logout token this RP must refuse (§2.6); the message says which check failed."""


def key_alg(jwk: Mapping[str, Any]) -> str:
    """The JWS algorithm of a private key: ES256 for P-256, else RS256."""
    return "ES256" if jwk.get("kty") == "EC" else "RS256"


def register_client(app: Flask, config: RpConfig, scope: str) -> Any:
    """The Authlib client of this RP (server metadata from the IdP's discovery)."""
    oauth = OAuth(app)
    kwargs: dict[str, Any] = {"scope": scope, "code_challenge_method": "S256"}
    secret: Any = config.client_secret
    if config.auth_method == "none":
        kwargs["token_endpoint_auth_method"] = "none"  # noqa: S105  (a method, not a secret)
    if config.private_jwk is not None:
        secret = JWKRegistry.import_key(dict(config.private_jwk))
        kwargs["token_endpoint_auth_method"] = PrivateKeyJWT(
            headers={"kid": config.private_jwk["kid"]}, alg=key_alg(config.private_jwk))
    return oauth.register(
        CLIENT_NAME, client_id=config.client_id, client_secret=secret,
        server_metadata_url=f"{config.issuer}/.well-known/openid-configuration",
        client_kwargs=kwargs)


def request_params(scope: str, ask: Ask, *, prompt: str | None, lang: str) -> dict[str, str]:
    """The authorization request's parameters beyond the ones Authlib adds."""
    params: dict[str, str] = {"scope": ask.scope or scope, "ui_locales": lang}
    if ask.acr_values:
        params["acr_values"] = ask.acr_values
    if ask.claims:
        params["claims"] = json.dumps(ask.claims, ensure_ascii=False, separators=(",", ":"))
    if prompt or ask.prompt:
        params["prompt"] = str(prompt or ask.prompt)
    if ask.max_age is not None:
        params["max_age"] = str(ask.max_age)
    params.update(ask.extra)
    return params


def authorization_url(client: Any, config: RpConfig, params: Mapping[str, str]) -> \
        dict[str, Any]:
    """Authlib's authorization URL data (url, state, nonce, code_verifier); with PAR, the url
    is the short one naming the pushed request (RFC 9126 §4)."""
    data: dict[str, Any] = client.create_authorization_url(config.url("/callback"), **params)
    if config.par:
        data["url"] = _pushed(client, config, data["url"])
    return data


def _pushed(client: Any, config: RpConfig, url: str) -> str:
    metadata = client.load_server_metadata()
    endpoint = metadata["pushed_authorization_request_endpoint"]
    form = dict(parse_qsl(urlsplit(url).query))
    auth = None
    if config.private_jwk is not None:
        form.update(client_assertion_type=ASSERTION_TYPE, client_assertion=private_key_jwt_sign(
            JWKRegistry.import_key(dict(config.private_jwk)), client_id=config.client_id,
            token_endpoint=endpoint, alg=key_alg(config.private_jwk),
            header={"kid": config.private_jwk["kid"]}))
    elif config.client_secret is not None:
        auth = (config.client_id, config.client_secret)
    answer = requests.post(endpoint, data=form, auth=auth, timeout=_TIMEOUT)
    if answer.status_code != 201:
        raise IdpRefusedError(f"the IdP refused the pushed request: {answer.status_code} "
                           f"{answer.text[:200]}")
    request_uri = answer.json()["request_uri"]
    return str(metadata["authorization_endpoint"]) + "?" + urlencode(
        {"client_id": config.client_id, "request_uri": request_uri})


def login_from_token(client: Any, token: Mapping[str, Any], *, userinfo: bool,
                     action: str | None) -> Login:
    """The :class:`Login` an Authlib token answer (ID token already validated) makes."""
    id_claims = dict(token["userinfo"])
    claims = {k: v for k, v in id_claims.items() if k not in PROTOCOL_CLAIMS}
    if userinfo and token.get("access_token"):
        info = dict(client.userinfo(token=dict(token)))
        if info.get("sub") == id_claims["sub"]:  # OIDC Core §5.3.2: else ignore the answer
            claims.update({k: v for k, v in info.items() if k not in PROTOCOL_CLAIMS})
    amr = id_claims.get("amr") or []
    return Login(sub=str(id_claims["sub"]), sid=id_claims.get("sid"), acr=id_claims.get("acr"),
                 amr=tuple(str(a) for a in amr), claims=claims, id_token=token["id_token"],
                 id_token_claims=id_claims, auth_time=id_claims.get("auth_time"),
                 action=action, tokens={k: v for k, v in token.items() if k != "userinfo"})


def verify_logout_token(client: Any, config: RpConfig, raw: str) -> dict[str, Any]:
    """Back-Channel Logout 1.0 §2.6: the logout token's claims, or LogoutTokenError."""
    metadata = client.load_server_metadata()
    algorithms = metadata.get("id_token_signing_alg_values_supported") or ["ES256", "RS256"]
    registry = JWSRegistry(algorithms=algorithms)
    try:
        try:
            token = jwt.decode(raw, KeySet.import_key_set(client.fetch_jwk_set()),
                               registry=registry)
        except InvalidKeyIdError:  # the IdP may have rotated its keys since we fetched them
            token = jwt.decode(raw, KeySet.import_key_set(client.fetch_jwk_set(force=True)),
                               registry=registry)
        jwt.JWTClaimsRegistry(
            leeway=60, iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": config.client_id},
            iat={"essential": True}, jti={"essential": True}).validate(token.claims)
    except (JoseError, ValueError) as error:
        raise LogoutTokenError(f"the logout token does not verify: {error}") from error
    claims = dict(token.claims)
    typ = token.header.get("typ")
    if typ is not None and typ.lower() not in ("logout+jwt", "application/logout+jwt"):
        # §2.4 recommends explicit typing; this IdP uses it, so another typ (an ID token's
        # "JWT") is refused: one token can never pass for the other.
        raise LogoutTokenError(f"the logout token's typ is {typ!r}")
    events = claims.get("events")
    if not isinstance(events, dict) or BACKCHANNEL_EVENT not in events:
        raise LogoutTokenError("the logout token lacks the back-channel logout event")
    if "nonce" in claims:
        raise LogoutTokenError("a logout token must not carry a nonce")
    if not (isinstance(claims.get("sid"), str) or isinstance(claims.get("sub"), str)):
        raise LogoutTokenError("the logout token names neither sid nor sub")
    return claims
