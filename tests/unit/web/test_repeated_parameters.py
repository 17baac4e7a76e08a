"""/introspect and /revoke refuse a parameter sent twice, as /authorize, /par and /token do
(RFC 6749 §3.2; RFC 7662 and RFC 7009 endpoints are token-endpoint-like)."""

from __future__ import annotations

import pytest

from tests.unit.oidc.conftest import Rp


@pytest.mark.parametrize("path", ["/introspect", "/revoke"])
def test_a_repeated_token_parameter_is_refused(rp: Rp, path: str) -> None:
    answer = rp.browser.post(path, data="token=a&token=b",
                             content_type="application/x-www-form-urlencoded",
                             auth=(rp.client_id, rp.secret or ""))
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_request"
    assert "more than once" in answer.get_json()["error_description"]
