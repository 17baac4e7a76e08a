"""The shapes of what the administration takes and answers, as pydantic models.

The service layer takes and answers these; the JSON API validates request bodies with them and
generates ``/admin/api/openapi.json`` from them (``idp.web.admin_api``), so the document cannot
drift from the code.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from idp.trustpolicy.document import TrustPolicy

Text = Field(min_length=1, max_length=500)
VERSION_MAX = 2**31 - 1  # a trust policy version number: what every database's INTEGER holds
Uri = Field(min_length=1, max_length=500)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(_Model):
    """Every refusal: a stable code and a sentence a person can act on."""

    error: str
    error_description: str


# -- administrators and sessions ----------------------------------------------------------------
class AdminAdd(_Model):
    name: str = Field(min_length=1, max_length=100)
    role: Literal["admin", "auditor", "support"]


class AdminAdded(_Model):
    admin_id: str
    enroll_url: str


class AdminOut(_Model):
    admin_id: str
    name: str
    role: str
    enrolled: bool
    created_at: int
    created_by: str


class AdminList(_Model):
    admins: list[AdminOut]


class PasskeyOptions(_Model):
    """Options for navigator.credentials.create()/get(), and the handle to answer with."""

    options: dict[str, Any]
    handle: str


class PasskeyAnswer(_Model):
    handle: str = Field(min_length=1, max_length=200)
    credential: dict[str, Any]  # the browser's PublicKeyCredential, as JSON


class Me(_Model):
    admin_id: str
    name: str
    role: str
    via: str
    permissions: list[str]
    csrf_token: str | None = None
    expires_at: int | None = None
    confirmed_until: int | None = None


class SignedOut(_Model):
    signed_out: bool


class Confirmed(_Model):
    confirmed_until: int


# -- relying parties ----------------------------------------------------------------------------
AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


class _ClientFields(_Model):
    name: str = Field(min_length=1, max_length=200)
    redirect_uris: list[str] = Field(min_length=1, max_length=20)
    auth_method: AuthMethod = "client_secret_basic"
    post_logout_redirect_uris: list[str] = Field(default_factory=list, max_length=20)
    backchannel_logout_uri: str | None = Field(None, max_length=500)
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = Field(None, max_length=500)
    subject_type: Literal["pairwise", "public"] = "pairwise"
    sector_identifier: str | None = Field(None, max_length=255)
    default_acr: str | None = Field(None, max_length=128)
    allowed_scopes: list[str] | None = Field(None, max_length=50)
    allowed_claims: list[str] | None = Field(None, max_length=100)
    allowed_acrs: list[str] | None = Field(None, max_length=50)
    access_token_format: Literal["jwt", "opaque"] | None = None
    id_token_alg: Literal["ES256", "RS256", "PS256"] | None = None


class ClientCreate(_ClientFields):
    """A new relying party (OIDC Dynamic Client Registration metadata names)."""


class ClientPatch(_Model):
    """What to change; fields left out stay as they are (the sector cannot change: every
    person's pairwise ``sub`` depends on it)."""

    name: str | None = Field(None, min_length=1, max_length=200)
    redirect_uris: list[str] | None = Field(None, min_length=1, max_length=20)
    auth_method: AuthMethod | None = None
    post_logout_redirect_uris: list[str] | None = Field(None, max_length=20)
    backchannel_logout_uri: str | None = Field(None, max_length=500)
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = Field(None, max_length=500)
    default_acr: str | None = Field(None, max_length=128)
    allowed_scopes: list[str] | None = Field(None, max_length=50)
    allowed_claims: list[str] | None = Field(None, max_length=100)
    allowed_acrs: list[str] | None = Field(None, max_length=50)
    access_token_format: Literal["jwt", "opaque"] | None = None
    id_token_alg: Literal["ES256", "RS256", "PS256"] | None = None


class ClientOut(_Model):
    client_id: str
    name: str
    redirect_uris: list[str]
    auth_method: str
    post_logout_redirect_uris: list[str]
    backchannel_logout_uri: str | None
    jwks: dict[str, Any] | None
    jwks_uri: str | None
    subject_type: str
    sector_identifier: str
    default_acr: str | None
    allowed_scopes: list[str] | None
    allowed_claims: list[str] | None
    allowed_acrs: list[str] | None
    access_token_format: str
    id_token_alg: str
    disabled: bool
    disabled_reason: str | None
    event_stream: dict[str, Any] | None  # its Shared Signals stream, when it has one


class ClientList(_Model):
    clients: list[ClientOut]


class ClientCreated(_Model):
    client: ClientOut
    client_secret: str | None


class SecretRotated(_Model):
    client_id: str
    client_secret: str


class Reason(_Model):
    reason: str = Text


# -- accounts -----------------------------------------------------------------------------------
class AccountQuery(_Model):
    private_id: str | None = Field(None, max_length=64)
    client_id: str | None = Field(None, max_length=64)
    sub: str | None = Field(None, max_length=255)
    name: str | None = Field(None, max_length=200)
    reason: str | None = Field(None, max_length=500)


class AccountSummary(_Model):
    private_id: str
    state: str
    locked: bool
    created_at: str


class AccountList(_Model):
    accounts: list[AccountSummary]


class AccountDetail(_Model):
    private_id: str
    state: str
    created_at: str
    lock: dict[str, Any] | None
    anchors: list[dict[str, Any]]
    passkeys: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    sign_ins: list[dict[str, Any]]
    four_info: dict[str, Any] | None  # only after reveal, with a reason
    four_info_hidden: bool


class FourInfo(_Model):
    private_id: str
    four_info: dict[str, Any]


class LockState(_Model):
    private_id: str
    locked: bool
    state: str


# -- the platform's health ------------------------------------------------------------------------
class Health(_Model):
    jlis: dict[str, Any]
    crl: list[dict[str, Any]]
    signing_keys: list[dict[str, Any]]
    backlogs: dict[str, int]


# -- the trust policy (idp.trustpolicy) -----------------------------------------------------------
class PolicyVersionOut(_Model):
    """One version of the trust policy: who made it, when, why, what changed (``diff``: one
    ``{"path", "from", "to"}`` per field) and, for the current one, the whole policy
    (docs/trust-core.md, "The trust policy")."""

    version: int
    created_at: str
    actor: str
    reason: str
    diff: list[dict[str, Any]]
    rollback_of: int | None
    policy: TrustPolicy | None = None


class PolicyVersions(_Model):
    versions: list[PolicyVersionOut]


class PolicyReplace(_Model):
    """A whole new policy (as ``GET`` answers it), for a reason; ``expected_version``: refuse
    (409) if the policy changed since it was read."""

    policy: TrustPolicy
    reason: str = Text
    expected_version: int | None = Field(None, ge=1, le=VERSION_MAX)


class PolicyKeySet(_Model):
    """One field by its dotted key (``revocation.sign.method``, ``media.smartphone.max_ial``)."""

    key: str = Field(min_length=1, max_length=200)
    value: Any = None
    reason: str = Text
    expected_version: int | None = Field(None, ge=1, le=VERSION_MAX)


class PolicyRollback(_Model):
    version: int = Field(ge=1, le=VERSION_MAX)
    reason: str = Text


class AnchorSelector(_Model):
    """A CA generation: by fingerprint (or a unique prefix), or by purpose, medium and
    generation."""

    fingerprint: str | None = Field(None, max_length=64, pattern=r"^[0-9a-fA-F:]+$")
    purpose: Literal["sign", "auth"] | None = None
    medium: Literal["card", "smartphone"] | None = None
    generation: str | None = Field(None, max_length=32)
    reason: str = Text


class AnchorAdd(_Model):
    """A CA certificate (PEM) to trust for ``purpose``."""

    pem: str = Field(min_length=1, max_length=20_000)
    purpose: Literal["sign", "auth"]
    medium: Literal["card", "smartphone"] | None = None
    generation: str | None = Field(None, max_length=32)
    reason: str = Text


# -- the audit log (idp.audit) and metering (idp.metering) ----------------------------------------
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"  # no control characters (PostgreSQL refuses NUL)


class AuditQuery(_Model):
    """Which entries: from a seq number or an RFC 3339 time (``since``, inclusive) up to one
    (``until``: a seq inclusive, a time exclusive), by one actor (``admin:alice``), about one
    target (``person:<private ID>``, a client_id), by action (exactly, or a prefix ending in
    ".": ``admin.``), by outcome (``refused``), newest first, at most ``limit``."""

    since: str | None = Field(None, max_length=40, pattern=_PRINTABLE)
    until: str | None = Field(None, max_length=40, pattern=_PRINTABLE)
    actor: str | None = Field(None, max_length=200, pattern=_PRINTABLE)
    target: str | None = Field(None, max_length=200, pattern=_PRINTABLE)
    action: str | None = Field(None, max_length=100, pattern=_PRINTABLE)
    outcome: str | None = Field(None, max_length=40, pattern=_PRINTABLE)
    limit: int = Field(100, ge=1, le=1000)


class AuditEntryOut(_Model):
    """One entry as the log holds it (docs/operations.md, "Audit log"); ``hash`` covers every
    other field and ``prev_hash`` chains it to the entry before."""

    seq: int
    time: str
    actor: str
    action: str
    target: str | None
    outcome: str
    request_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditEntries(_Model):
    entries: list[AuditEntryOut]
    head_seq: int  # the log's last entry, whatever the filter
    head_hash: str


class MeteringQuery(_Model):
    month: str | None = Field(None, max_length=20)  # YYYY-MM; this month (Japan time) if left out


class MeteringRowOut(_Model):
    month: str
    client_id: str
    kind: str
    method: str
    checks: int
    charged: int
    unit_yen: int
    yen: int


class MeteringTotal(_Model):
    checks: int
    charged: int
    yen: int


class MeteringOut(_Model):
    """One month's validity checks per relying party, kind and method, and their price
    (docs/operations.md, "Metering")."""

    month: str
    currency: Literal["JPY"]
    rows: list[MeteringRowOut]
    total: MeteringTotal
