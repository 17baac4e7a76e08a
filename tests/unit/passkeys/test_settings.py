"""The webauthn settings refuse origins a browser would never run a ceremony on for the RP ID."""

from __future__ import annotations

import pytest

from idp.settings import Settings, WebauthnSettings


def test_defaults_serve_the_demo_on_localhost() -> None:
    settings = WebauthnSettings()
    assert settings.rp_id == "localhost"
    assert settings.origins == ("http://localhost:8000",)
    assert settings.rp_name == "JPKI IdP"


def test_origins_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDP_WEBAUTHN__RP_ID", "idp.example.jp")
    monkeypatch.setenv(
        "IDP_WEBAUTHN__ORIGINS", '["https://idp.example.jp", "https://login.idp.example.jp:8443"]'
    )
    assert Settings().webauthn.origins == (
        "https://idp.example.jp", "https://login.idp.example.jp:8443"
    )


@pytest.mark.parametrize(
    ("rp_id", "origin", "reason"),
    [
        ("localhost", "http://127.0.0.1:8000", "not on rp_id"),
        ("idp.example.jp", "https://example.jp", "not on rp_id"),
        ("idp.example.jp", "https://evilidp.example.jp", "not on rp_id"),
        ("idp.example.jp", "http://idp.example.jp", "must be https"),
    ],
)
def test_an_origin_off_the_rp_id_or_without_https_is_refused(
    rp_id: str, origin: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        WebauthnSettings(rp_id=rp_id, origins=(origin,))
