"""The J-LIS links as the lifecycle sees them: no link is no link; no answer is no decision."""

from __future__ import annotations

from typing import Any

import pytest

from idp.bootstrap.trust import JlisLinkAdapter
from idp.jlis import JlisNotFoundError, JlisRefusedError, JlisUnavailableError
from idp.jlis.values import PairLink, PreviousSerials
from idp.jpki.profile import Purpose


class _Jlis:
    """A J-LIS client that raises ``error`` from the link endpoints, or answers links."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def pair_link(self, serial: str, purpose: str) -> PairLink:
        if self.error:
            raise self.error
        return PairLink(serial, "a1")

    def previous_serials(self, serial: str, purpose: str) -> PreviousSerials:
        if self.error:
            raise self.error
        return PreviousSerials(serial, ("0f",))


def _adapter(error: Exception | None = None) -> JlisLinkAdapter:
    jlis: Any = _Jlis(error)
    return JlisLinkAdapter(jlis)


def test_links_j_lis_has_are_answered() -> None:
    assert _adapter().paired_auth("51") == "a1"
    assert _adapter().previous("51", Purpose.SIGN) == ("0f",)


@pytest.mark.parametrize("error", [JlisNotFoundError("no such certificate"),
                                   JlisRefusedError("no consent to serial linking")])
def test_a_link_j_lis_does_not_have_or_may_not_give_is_no_link(error: Exception) -> None:
    assert _adapter(error).paired_auth("51") is None
    assert _adapter(error).previous("51", Purpose.AUTH) == ()


def test_j_lis_not_answering_is_not_taken_for_no_link() -> None:
    with pytest.raises(JlisUnavailableError):
        _adapter(JlisUnavailableError("J-LIS did not answer")).paired_auth("51")
    with pytest.raises(JlisUnavailableError):
        _adapter(JlisUnavailableError("J-LIS did not answer")).previous("51", Purpose.SIGN)
