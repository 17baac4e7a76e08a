"""Relying parties, as administrators see them: register, edit, rotate a secret, disable.

Registration goes through ``idp.oidc.clients.register`` (the one set of metadata rules, which
``idp clients add`` uses too); on top of it the console holds every URI to be exact (no
wildcard, no fragment) and, in production mode, https. A disabled client neither authenticates
nor starts a login (``idp.oidc.clients.ClientCache`` refuses it); the change reaches this
process at once and the other workers within the client cache's lifetime (30 s).
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from idp.admin.errors import AdminError, AdminNotFoundError, InvalidAdminInputError
from idp.admin.identity import Identity
from idp.admin.record import Recorder
from idp.admin.roles import Actor, Permission
from idp.admin.schemas import ClientCreate, ClientOut, ClientPatch
from idp.assurance import levels
from idp.db import transaction
from idp.errors import IdpError
from idp.events.models import Stream
from idp.oidc import clients as registry
from idp.oidc.client_keys import InlineKeys, check_jwks_uri
from idp.oidc.clients import ClientCache, hash_secret
from idp.oidc.models import Client
from idp.settings import Settings


class ClientAdmin:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings, cache: ClientCache,
                 identity: Identity, record: Recorder) -> None:
        self._sessions = sessions
        self._record = record
        self._settings = settings
        self._cache = cache
        self._identity = identity

    @property
    def production(self) -> bool:
        found = self._settings.admin.production
        return found if found is not None else self._settings.oidc.issuer.startswith("https:")

    # -- reads ---------------------------------------------------------------------------------
    def all(self, actor: Actor) -> list[ClientOut]:
        self._record.authorise(actor, Permission.READ_CLIENTS, "client.list", None)
        with self._sessions() as db:
            streams = {s.client_id: s for s in db.scalars(select(Stream))}
            return [_out(row, streams.get(row.client_id))
                    for row in db.scalars(select(Client).order_by(Client.name))]

    def get(self, actor: Actor, client_id: str) -> ClientOut:
        self._record.authorise(actor, Permission.READ_CLIENTS, "client.view", client_id)
        with self._sessions() as db:
            row = _row(db, client_id)
            return _out(row, db.scalar(select(Stream).where(Stream.client_id == client_id)))

    # -- changes -------------------------------------------------------------------------------
    def register(self, actor: Actor, draft: ClientCreate) -> tuple[ClientOut, str | None]:
        """A new relying party and its secret (shown once; None for keyless methods)."""
        self._record.authorise(actor, Permission.CHANGE_CLIENTS, "client.register", None)
        try:  # a refusal (a non-https URI in production mode...) is recorded once
            self._check_uris(draft.redirect_uris, draft.post_logout_redirect_uris,
                             draft.backchannel_logout_uri, draft.jwks_uri)
            _check_allowed_lists(draft.allowed_acrs, draft.default_acr)
        except IdpError as error:
            self._refused(actor, "client.register", None, error)
        fields = draft.model_dump(exclude={"name", "redirect_uris", "auth_method",
                                           "allowed_scopes", "allowed_claims", "allowed_acrs"})
        fields["access_token_format"] = (draft.access_token_format
                                         or self._settings.oidc.access_token_format)
        fields["id_token_alg"] = draft.id_token_alg or self._settings.oidc.id_token_alg
        try:
            with transaction(self._sessions) as db:
                client_id, secret = registry.register(
                    db, name=draft.name, redirect_uris=list(draft.redirect_uris),
                    auth_method=draft.auth_method, **fields)
                row = _row(db, client_id)
                row.allowed_scopes, row.allowed_claims = draft.allowed_scopes, \
                    draft.allowed_claims
                row.allowed_acrs = draft.allowed_acrs
                out = _out(row, None)
                db.flush()
                self._record(actor, "client.register", client_id, None, "done",
                             {"name": draft.name}, db=db)
        except IdpError as error:
            self._refused(actor, "client.register", None, error)
        return out, secret

    def update(self, actor: Actor, client_id: str, patch: ClientPatch) -> ClientOut:
        self._record.authorise(actor, Permission.CHANGE_CLIENTS, "client.update", client_id)
        changes = patch.model_dump(exclude_unset=True)
        try:
            with transaction(self._sessions) as db:
                row = _row(db, client_id)
                # A sector given at registration, not the redirect URIs' one host: OIDC Core
                # §8.1 lets such a client's redirect URIs be on several hosts.
                explicit_sector = _hosts(row.redirect_uris) != {row.sector_identifier}
                for name, value in changes.items():
                    setattr(row, name, value if value is not None or name in _NULLABLE
                            else getattr(row, name))
                self._check_row(row, explicit_sector=explicit_sector)
                out = _out(row, db.scalar(select(Stream).where(Stream.client_id == client_id)))
                db.flush()
                self._record(actor, "client.update", client_id, None, "done",
                             {"changed": sorted(changes)}, db=db)
        except IdpError as error:
            self._refused(actor, "client.update", client_id, error)
        self._cache.forget(client_id)
        return out

    def rotate_secret(self, actor: Actor, client_id: str) -> str:
        """A new client secret; the old one stops working at once."""
        self._record.authorise(actor, Permission.ROTATE_SECRETS, "client.rotate_secret", client_id)
        self._identity.require_confirmed(actor, "client.rotate_secret", client_id)
        with transaction(self._sessions) as db:
            row = _row(db, client_id)
            if not row.auth_method.startswith("client_secret"):
                raise InvalidAdminInputError(f"{client_id} authenticates by {row.auth_method}: it "
                                        "has no secret to rotate")
            secret = secrets.token_urlsafe(32)
            row.secret_hash = hash_secret(secret)
            db.flush()
            # The new secret is never recorded, not even hashed: only that it was rotated.
            self._record(actor, "client.rotate_secret", client_id, None, "done", db=db)
        self._cache.forget(client_id)
        return secret

    def set_disabled(self, actor: Actor, client_id: str, *, disabled: bool,
                     reason: str) -> ClientOut:
        """Disable (high-risk) or enable a relying party, with a reason."""
        action = "client.disable" if disabled else "client.enable"
        self._record.authorise(actor, Permission.DISABLE_CLIENTS, action, client_id)
        if disabled:
            self._identity.require_confirmed(actor, action, client_id)
        with transaction(self._sessions) as db:
            row = _row(db, client_id)
            row.disabled_at = int(time.time()) if disabled else None
            row.disabled_reason = reason if disabled else None
            out = _out(row, None)
            db.flush()
            self._record(actor, action, client_id, reason, "done", db=db)
        self._cache.forget(client_id)
        return out

    # -- rules ---------------------------------------------------------------------------------

    def _refused(self, actor: Actor, action: str, target: str | None, error: IdpError) -> Any:
        self._record(actor, action, target, None, "refused", {"why": error.description})
        if isinstance(error, AdminError):
            raise error
        raise InvalidAdminInputError(error.description) from error

    def _check_row(self, row: Client, *, explicit_sector: bool) -> None:
        self._check_uris(row.redirect_uris, row.post_logout_redirect_uris,
                         row.backchannel_logout_uri, row.jwks_uri)
        if row.auth_method not in registry.AUTH_METHODS:
            raise InvalidAdminInputError(f"unknown auth method {row.auth_method!r}")
        if row.jwks and row.jwks_uri:
            raise InvalidAdminInputError("give the client's keys either inline (jwks) or by "
                                    "jwks_uri, not both")
        if row.jwks:
            InlineKeys.of(row.jwks).key_set()
        if row.auth_method == "private_key_jwt" and not (row.jwks or row.jwks_uri):
            raise InvalidAdminInputError("private_key_jwt needs the client's public keys (jwks or "
                                    "jwks_uri)")
        if not row.auth_method.startswith("client_secret"):
            row.secret_hash = None  # a keyless method: a secret left behind would still work
        if not explicit_sector and _hosts(row.redirect_uris) != {row.sector_identifier}:
            raise InvalidAdminInputError("these redirect URIs are not all on the client's sector "
                                    f"{row.sector_identifier!r}: every person's pairwise sub "
                                    "depends on it, so register a new client instead")
        _check_allowed_lists(row.allowed_acrs, row.default_acr)

    def _check_uris(self, redirect_uris: list[str], post_logout: list[str],
                    backchannel: str | None, jwks_uri: str | None) -> None:
        for label, uri in ([("redirect URI", u) for u in redirect_uris]
                           + [("post-logout redirect URI", u) for u in post_logout]
                           + [("back-channel logout URI", backchannel),
                              ("jwks_uri", jwks_uri)]):
            if uri is None:
                continue
            parts = urlsplit(uri)
            if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment \
                    or "*" in uri:
                raise InvalidAdminInputError(f"{label} {uri!r} must be an exact absolute http(s) "
                                        "URL (no wildcard, no fragment)")
            if self.production and parts.scheme != "https":
                raise InvalidAdminInputError(f"{label} {uri!r} must be https in production mode")
        if jwks_uri is not None:
            try:
                check_jwks_uri(jwks_uri)
            except IdpError as error:
                raise InvalidAdminInputError(error.description) from error


_NULLABLE = frozenset({"backchannel_logout_uri", "jwks", "jwks_uri", "default_acr",
                       "allowed_scopes", "allowed_claims", "allowed_acrs"})


def _check_allowed_lists(allowed_acrs: list[str] | None, default_acr: str | None) -> None:
    for value in allowed_acrs or ():
        if levels.lookup(value) is None:
            raise InvalidAdminInputError(f"unknown acr value {value!r}; one of "
                                    + ", ".join(levels.supported_values()))
    if default_acr is not None and levels.lookup(default_acr) is None:
        raise InvalidAdminInputError(f"unknown default acr {default_acr!r}")


def _hosts(uris: list[str]) -> set[str | None]:
    return {urlsplit(uri).hostname for uri in uris}


def _row(db: Session, client_id: str) -> Client:
    row = db.get(Client, client_id)
    if row is None:
        raise AdminNotFoundError(f"no relying party is registered as {client_id!r}")
    return row


def _out(row: Client, stream: Stream | None) -> ClientOut:
    return ClientOut(
        client_id=row.client_id, name=row.name, redirect_uris=list(row.redirect_uris),
        auth_method=row.auth_method,
        post_logout_redirect_uris=list(row.post_logout_redirect_uris or []),
        backchannel_logout_uri=row.backchannel_logout_uri, jwks=row.jwks,
        jwks_uri=row.jwks_uri, subject_type=row.subject_type,
        sector_identifier=row.sector_identifier, default_acr=row.default_acr,
        allowed_scopes=row.allowed_scopes, allowed_claims=row.allowed_claims,
        allowed_acrs=row.allowed_acrs, access_token_format=row.access_token_format,
        id_token_alg=row.id_token_alg, disabled=row.disabled_at is not None,
        disabled_reason=row.disabled_reason,
        event_stream=None if stream is None else {
            "stream_id": stream.stream_id, "status": stream.status,
            "method": stream.method, "endpoint_url": stream.endpoint_url,
            "events_delivered": list(stream.events_delivered)})
