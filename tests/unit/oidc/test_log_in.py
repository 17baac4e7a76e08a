"""Provider.log_in: a sign-in's session and, when nothing is left to ask, the code — at once."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import update

from idp import db
from idp.accounts.models import PrivateId
from idp.app import services_of
from idp.oidc.flow import Provider
from idp.oidc.models import Interaction
from tests.unit.oidc.conftest import REDIRECT, Rp, query

ACR = "urn:jpki-idp:acr:ial2-aal2"


def _consented_person(rp: Rp) -> str:
    """A person who already consented to the client (then signed out of this browser)."""
    private_id = rp.login()
    rp.code()
    rp.browser.delete_cookie("idp_session", domain="localhost")
    return private_id


def _uid(location: str) -> str:
    return urlsplit(location).path.rsplit("/", 1)[-1]


def _provider(rp: Rp) -> Provider:
    return Provider(services_of(rp.app).oidc)


def test_with_nothing_left_to_ask_the_code_comes_with_the_session_and_the_interaction_ends(
        rp: Rp) -> None:
    private_id = _consented_person(rp)
    location, verifier = rp.authorize()
    session, redirect_to = _provider(rp).log_in(
        _uid(location), private_id=private_id, acr=ACR, amr=["hwk", "user", "mfa"],
        continue_if_done=True)
    assert session.private_id == private_id
    assert redirect_to is not None
    assert redirect_to.startswith(REDIRECT)
    assert query(redirect_to)["state"] == "st-1"
    assert rp.exchange(query(redirect_to)["code"], verifier).status_code == 200
    with services_of(rp.app).sessions() as dbs:
        assert dbs.get_one(Interaction, _uid(location)).done


def test_consent_still_to_ask_gives_no_code(rp: Rp) -> None:
    private_id = rp.login()
    rp.browser.delete_cookie("idp_session", domain="localhost")
    location, _ = rp.authorize()
    _, redirect_to = _provider(rp).log_in(
        _uid(location), private_id=private_id, acr=ACR, amr=["hwk"], continue_if_done=True)
    assert redirect_to is None


def test_without_continue_if_done_only_the_session_starts(rp: Rp) -> None:
    private_id = _consented_person(rp)
    location, _ = rp.authorize()
    session, redirect_to = _provider(rp).log_in(
        _uid(location), private_id=private_id, acr=ACR, amr=["hwk"], continue_if_done=False)
    assert redirect_to is None
    assert session.acr == ACR


def test_no_code_is_issued_for_a_private_id_that_is_not_active(rp: Rp) -> None:
    private_id = _consented_person(rp)
    with db.transaction(services_of(rp.app).sessions) as dbs:
        dbs.execute(update(PrivateId).where(PrivateId.id == private_id)
                    .values(state="suspended"))
    location, _ = rp.authorize()
    _, redirect_to = _provider(rp).log_in(
        _uid(location), private_id=private_id, acr=ACR, amr=["hwk"], continue_if_done=True)
    assert redirect_to is None
