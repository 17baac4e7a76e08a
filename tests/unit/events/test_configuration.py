"""The transmitter configuration (SSF §7.1) lists what the CAEP interoperability profile asks
for, at the issuer's endpoints."""

from __future__ import annotations

from flask import Flask

from tests.unit.oidc.conftest import ISSUER


def test_the_ssf_configuration_names_every_endpoint_both_deliveries_and_oauth(
        app: Flask) -> None:
    response = app.test_client().get("/.well-known/ssf-configuration")
    assert response.status_code == 200
    assert response.get_json() == {
        "spec_version": "1_0", "issuer": ISSUER, "jwks_uri": f"{ISSUER}/jwks",
        "delivery_methods_supported": ["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"],
        "configuration_endpoint": f"{ISSUER}/ssf/stream",
        "status_endpoint": f"{ISSUER}/ssf/status",
        "add_subject_endpoint": f"{ISSUER}/ssf/subjects:add",
        "remove_subject_endpoint": f"{ISSUER}/ssf/subjects:remove",
        "verification_endpoint": f"{ISSUER}/ssf/verify",
        "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6749"}],
        "default_subjects": "ALL"}
