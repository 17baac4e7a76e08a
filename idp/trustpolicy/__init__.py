"""The trust policy as data: whom the IdP trusts and how it checks, versioned in the database.

What one version holds (``document.TrustPolicy``, validated by pydantic; JSON as stored and as
the admin API shows it)::

    {"anchors": [{"fingerprint": "<sha256 hex>", "purpose": "sign"|"auth",
                  "medium": "card"|"smartphone", "generation": "2023", "enabled": true,
                  "subject": "C=JP,...", "not_before": "...", "not_after": "...",
                  "source": "trust/jpki_ca/sign/sign_ca_2023.pem"}, ...],
     "revocation": {"sign": {"method": "ocsp"|"crl"|"ocsp_then_crl",
                             "max_ocsp_age_seconds": 300, "max_crl_staleness_seconds": 0,
                             "fail_closed": true},
                    "auth": {...}},
     "reasons": {"reading": "cps", "card_revocation": {"certificateHold": "suspended", ...,
                 "affiliationChanged": "closed"},
                 "reissue_reasons": ["affiliationChanged", "superseded", "unspecified"]},
     "media": {"card": {"max_ial": 2}, "smartphone": {"max_ial": 2}}}

The service (``service.TrustPolicyService(sessions, settings)``; ``Services.trust_policy``)::

    current() -> PolicyVersion                 # seeds version 1 from the settings if none
    current_version() -> int                   # one indexed read: the hot path's check
    version(n) -> PolicyVersion
    history() -> list[PolicyVersion]           # newest first
    replace(policy | dict, *, actor, reason, expected_version=None) -> PolicyVersion
    set(key, value, *, actor, reason="", expected_version=None) -> PolicyVersion
    add_anchor(data: bytes, *, purpose, actor, reason="", medium=None, generation=None,
               source="", enabled=True) -> PolicyVersion
    retire(*, actor, reason="", fingerprint=None, purpose=None, medium=None,
           generation=None) -> PolicyVersion
    enable(... same as retire) -> PolicyVersion
    rollback(version, *, actor, reason="") -> PolicyVersion
    certificate_der(fingerprint) -> bytes | None
    on_change(listener: Callable[[int], None])  # told of versions this process commits

``PolicyVersion``: ``version``, ``created_at``, ``actor`` (``"settings"`` for the seed,
``"cli:<user>"``, ``"admin:<id>"``), ``reason``, ``policy``, ``diff`` (``[{"path", "from",
"to"}]``), ``rollback_of``; ``as_json(with_policy=True)``. Every refusal is a
``TrustPolicyError`` (400, ``invalid_trust_policy``), ``TrustPolicyConflictError`` (409,
``trust_policy_conflict``: ``expected_version`` is not current) or
``TrustPolicyVersionNotFoundError`` (404, ``not_found``: ``version``/``rollback`` of a version
that does not exist), all in ``document``, and nothing is changed. The document's JSON Schema
(for the admin API's OpenAPI): ``document.TrustPolicy.model_json_schema()``. A PUT body is the
``policy`` object alone (unknown fields are refused).

The trust services (``idp.bootstrap.trust.LazyTrust``) check ``current_version()`` at most once
a second (``trust.policy_check_seconds``) and rebuild anchors and revocation rules when it moved,
so a change made in one process, worker or node holds at every other's next login.
"""
