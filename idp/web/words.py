"""Codes as words on the person's pages: states, check results, levels, issuers and claims.

The JSON faces keep the codes (``active``, ``sign_good``, ``urn:jpki-idp:acr:ial2-aal2-phr``);
templates get a :class:`Words` for the page's language (``web.request.page_texts``) and never
print a code alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from idp import i18n
from idp.assurance import levels
from idp.i18n.states import result_words, state_words


@dataclass(frozen=True)
class Words:
    language: str

    def t(self, key: str, **values: str) -> str:
        return i18n.translate(self.language, key, **values)

    def state(self, kind: str, code: str) -> str:
        """A private ID's (``private_id``) or an anchor's (``anchor``) state."""
        return state_words(self.language, kind, code)

    def result(self, code: str | None) -> str:
        """The outcome of the last check of an anchor."""
        return result_words(self.language, code)

    def level(self, acr: str) -> str:
        """What a sign-in's level means: identity proven or not, J-LIS asked during it."""
        found = levels.lookup(acr)
        if found is None:
            return self.t("state.other", code=acr)
        words = self.t("level.identity" if found.ial >= 2 else "level.no_identity")
        return words + (self.t("level.checked_now") if found.checked_now else "")

    def claim(self, name: str) -> str:
        """A claim a relying party receives, as the consent page names it."""
        key = f"claim.{name}"
        found = self.t(key)
        return name if found == key else found

    def claims(self, names: list[str]) -> str:
        return self.t("list.separator").join(self.claim(n) for n in names)


def issuer_words(dn: str) -> str:
    """The certification authority of ``dn`` (RFC 4514) as people name it: its organizational
    units (``JPKI for digital signature / Japan Agency for Local Authority Information
    Systems``), else its common name, else the DN as it is."""
    try:
        name = x509.Name.from_rfc4514_string(dn)
    except ValueError:
        return dn
    units = [str(a.value) for a in name.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
    common = [str(a.value) for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return " / ".join(units or common) or dn
