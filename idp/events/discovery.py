"""The transmitter configuration metadata (SSF §7.1), at ``/.well-known/ssf-configuration``."""

from __future__ import annotations

from typing import Any

from idp.events.context import POLL, PUSH


def metadata(issuer: str) -> dict[str, Any]:
    """Every member SSF §7.1 and the CAEP interoperability profile ask for; events are signed
    (RS256) with the keys at ``jwks_uri``; every consenting person is in a new stream
    (``default_subjects``: ALL); stream management takes an OAuth 2.0 access token (client
    credentials, scope ``ssf``)."""
    return {
        "spec_version": "1_0",
        "issuer": issuer,
        "jwks_uri": f"{issuer}/jwks",
        "delivery_methods_supported": [PUSH, POLL],
        "configuration_endpoint": f"{issuer}/ssf/stream",
        "status_endpoint": f"{issuer}/ssf/status",
        "add_subject_endpoint": f"{issuer}/ssf/subjects:add",
        "remove_subject_endpoint": f"{issuer}/ssf/subjects:remove",
        "verification_endpoint": f"{issuer}/ssf/verify",
        "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6749"}],
        "default_subjects": "ALL",
    }
