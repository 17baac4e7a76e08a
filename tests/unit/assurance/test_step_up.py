"""RFC 9470 step-up: the resource server's decision and challenge, the client's reading."""

from __future__ import annotations

import json

import pytest

from idp.assurance import levels
from idp.assurance.step_up import (
    Requirement,
    StepUpChallenge,
    TokenAuth,
    authorization_params,
    challenge,
    parse_challenge,
    unmet,
)

NOW = 1_800_000_000
CARD_NOW = levels.IAL2_AAL2_CARD_NOW.value
PHR = levels.IAL2_AAL2_PHR.value
IAL2 = levels.IAL2_AAL2.value
IAL2_NOW = levels.IAL2_AAL2_NOW.value
CARD = levels.IAL2_AAL2_CARD.value


@pytest.mark.parametrize(("claims", "expected"), [
    ({"acr": CARD, "auth_time": NOW}, TokenAuth(CARD, NOW)),
    ({"acr": 3, "auth_time": "now"}, TokenAuth(None, None)),
    ({"auth_time": True}, TokenAuth(None, None)),
    ({}, TokenAuth(None, None)),
])
def test_token_auth_reads_acr_and_auth_time(claims: dict[str, object],
                                            expected: TokenAuth) -> None:
    assert TokenAuth.from_claims(claims) == expected


@pytest.mark.parametrize(("acr", "auth_time", "required", "missing"), [
    (CARD_NOW, NOW - 10, Requirement((IAL2_NOW,), 300), None),  # implied through the order
    (PHR, NOW - 10, Requirement((CARD,)), Requirement((CARD,))),  # a passkey is not the card
    (IAL2, NOW - 10, Requirement((IAL2_NOW,)), Requirement((IAL2_NOW,))),  # CRL is not "now"
    (PHR, NOW - 10, Requirement((CARD, "phr")), None),  # one of them suffices
    (CARD, NOW - 301, Requirement((CARD,), 300), Requirement((), 300)),  # too old only
    (CARD, NOW - 300, Requirement((CARD,), 300), None),
    (PHR, None, Requirement((), 300), Requirement((), 300)),  # no auth_time: cannot tell
    (None, NOW, Requirement((IAL2,)), Requirement((IAL2,))),
    ("urn:other:acr", NOW, Requirement(("urn:other:acr",)), None),  # foreign values: equality
    ("urn:other:acr", NOW, Requirement((IAL2,)), Requirement((IAL2,))),
    (PHR, NOW, Requirement(), None),
])
def test_unmet_names_what_the_token_lacks(acr: str | None, auth_time: int | None,
                                          required: Requirement,
                                          missing: Requirement | None) -> None:
    assert unmet(TokenAuth(acr, auth_time), required, NOW) == missing


def test_the_challenge_has_the_rfc_9470_shape() -> None:
    header = challenge(Requirement((CARD, IAL2_NOW), 300), "Use your My Number Card",
                       realm="bank")
    assert header == (f'Bearer realm="bank", error="insufficient_user_authentication", '
                      f'error_description="Use your My Number Card", '
                      f'acr_values="{CARD} {IAL2_NOW}", max_age="300"')


def test_a_description_a_quoted_string_cannot_carry_is_refused() -> None:
    with pytest.raises(ValueError, match="not allowed"):
        challenge(Requirement((CARD,)), 'say "hi"')
    with pytest.raises(ValueError, match="not allowed"):
        challenge(Requirement((CARD,)), "カード")


@pytest.mark.parametrize("required", [
    Requirement((CARD,)), Requirement((), 0), Requirement((CARD, "phr"), 60)])
def test_the_client_reads_back_what_the_resource_server_wrote(required: Requirement) -> None:
    read = parse_challenge(challenge(required))
    assert read == StepUpChallenge("insufficient_user_authentication",
                                   "A stronger or more recent authentication is required",
                                   required)


@pytest.mark.parametrize(("header", "required"), [
    ('Basic realm="x", Bearer error="insufficient_user_authentication", acr_values="phr"',
     Requirement(("phr",))),
    ('bearer error=insufficient_user_authentication, max_age=5, Basic realm="a"',
     Requirement((), 5)),
    ('Bearer error="insufficient_user_authentication", error_description="a \\"b\\""',
     Requirement()),
])
def test_the_client_finds_the_bearer_challenge_among_others(header: str,
                                                            required: Requirement) -> None:
    read = parse_challenge(header)
    assert read is not None
    assert read.required == required


@pytest.mark.parametrize("header", [
    'Bearer error="invalid_token"',
    'Basic realm="x"',
    'Bearer error="insufficient_user_authentication", max_age="soon"',
    'Bearer error="insufficient_user_authentication", max_age="-1"',
    "",
])
def test_anything_else_is_not_a_step_up(header: str) -> None:
    assert parse_challenge(header) is None


def test_the_challenge_becomes_authorization_request_parameters() -> None:
    required = Requirement((CARD, IAL2_NOW), 300)
    assert authorization_params(required) == {"acr_values": f"{CARD} {IAL2_NOW}",
                                              "max_age": "300"}
    essential = authorization_params(required, essential=True)
    assert json.loads(essential["claims"]) == {
        "id_token": {"acr": {"essential": True, "values": [CARD, IAL2_NOW]}}}
    assert authorization_params(Requirement()) == {}
