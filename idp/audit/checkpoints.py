"""Signed checkpoints of the hash chain: {origin, seq, hash, time}, signed by the IdP's key.

A checkpoint commits to the whole log up to ``seq``: the entry at ``seq`` has hash ``hash``, and
that hash covers every entry before it through ``prev_hash``. Whoever keeps a checkpoint can
later take an export from that seq (``idp audit export --since SEQ``) and check, with the IdP's
published keys (JWKS), that the export starts at the same entry and chains on from it; a
rewritten history fails at ``seq`` however well its hashes were recomputed. Why a signed chain
rather than an RFC 9162 Merkle tree: docs/adr/0003-audit-log.md.

A checkpoint is a compact JWS (``typ`` ``audit-checkpoint+jwt``) whose claims are ``{"iss":
origin, "seq", "hash", "time", "iat"}``; the JSON a person is handed adds the same fields
unsigned for reading. A prune checkpoint (``idp.audit.retention``) adds ``"prune": true`` and
``"before"``: the entries up to ``seq`` (those older than ``before``) may be deleted, and the
log is verified from ``seq + 1`` on, anchored to it. Before signing, the entries since the
previous checkpoint are verified to extend it: the log never signs two checkpoints that disagree
(C2SP tlog-checkpoint).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp import db as dbm
from idp.audit.entries import GENESIS, Entry, timestamp
from idp.audit.errors import BadCheckpointError, BrokenChainError
from idp.audit.log import AuditLog
from idp.audit.models import CheckpointRow, PruneRow
from idp.audit.verify import VerifiedChain, verify_chain
from idp.errors import IdpError

TYP = "audit-checkpoint+jwt"


class Signer(Protocol):
    """The IdP's signing keys (``idp.oidc.keys.KeyStore``)."""

    def sign(self, claims: dict[str, Any], alg: str = "ES256", typ: str = "JWT") -> str: ...

    def verify(self, token: str, *, typ: str | None = None) -> dict[str, Any]: ...


class PublishedKeys:
    """A ``Signer`` that only verifies, with the IdP's published keys (a saved ``/jwks``): how
    someone without the instance checks a checkpoint."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        try:
            self._keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        except Exception as error:  # joserfc raises many types; all mean "not a JWKS"
            raise BadCheckpointError("the keys given are not a JWK set") from error

    def sign(self, claims: dict[str, Any], alg: str = "ES256", typ: str = "JWT") -> str:
        raise BadCheckpointError("published keys cannot sign")

    def verify(self, token: str, *, typ: str | None = None) -> dict[str, Any]:
        try:
            decoded = jwt.decode(token, self._keys, algorithms=["ES256", "RS256", "PS256"])
        except Exception as error:  # as KeyStore.verify: any failure means "not signed so"
            raise BadCheckpointError("the checkpoint is not signed by these keys") from error
        if typ is not None and decoded.header.get("typ") != typ:
            raise BadCheckpointError(f"the token is not of type {typ}")
        return dict(decoded.claims)


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    seq: int
    hash: str
    time: str
    jws: str
    prune_before: str | None = None  # a prune checkpoint: entries before this time deleted

    def to_json(self) -> dict[str, Any]:
        found = {"origin": self.origin, "seq": self.seq, "hash": self.hash, "time": self.time,
                 "jws": self.jws}
        if self.prune_before is not None:
            found |= {"prune": True, "before": self.prune_before}
        return found


def create(log: AuditLog, signer: Signer) -> Checkpoint:
    """Signs the current head, after checking the log extends the last checkpoint; stored."""
    last = latest(log, signer)
    floor = prune_floor(log, signer)
    if floor is not None and (last is None or last.seq < floor.seq):
        last = floor  # the entries before it are gone: the log extends it
    after = (last.seq, last.hash) if last else (0, GENESIS)
    chain = verify_chain(log.scan(since=after[0] + 1), after=after)
    if last is not None and chain.size == last.seq:
        return last
    stamp = timestamp()
    jws = signer.sign({"iss": log.origin, "seq": chain.size, "hash": chain.head, "time": stamp,
                       "iat": int(time.time())}, typ=TYP)
    try:
        with dbm.transaction(log.sessions) as db:
            db.add(CheckpointRow(seq=chain.size, hash=chain.head, time=stamp, jws=jws))
    except IntegrityError:  # another process signed this very head a moment ago
        return stored(log, signer)[-1]
    return Checkpoint(log.origin, chain.size, chain.head, stamp, jws)


def stored(log: AuditLog, signer: Signer) -> list[Checkpoint]:
    """Every stored checkpoint, oldest first, each checked against its signature."""
    with log.sessions() as db:
        rows = list(db.scalars(select(CheckpointRow).order_by(CheckpointRow.seq)))
    return [read(row.jws, signer, origin=log.origin) for row in rows]


def latest(log: AuditLog, signer: Signer) -> Checkpoint | None:
    found = stored(log, signer)
    return found[-1] if found else None


def read(jws: str, signer: Signer, *, origin: str | None = None) -> Checkpoint:
    """The checkpoint in ``jws``, once its signature is this IdP's (raises otherwise)."""
    try:
        claims = signer.verify(jws, typ=TYP)
    except IdpError as error:
        raise BadCheckpointError("the checkpoint is not signed by this IdP's keys") from error
    try:
        checkpoint = Checkpoint(str(claims["iss"]), int(claims["seq"]), str(claims["hash"]),
                                str(claims["time"]), jws)
    except (KeyError, TypeError, ValueError) as error:
        raise BadCheckpointError("the checkpoint lacks seq, hash or time") from error
    if origin is not None and checkpoint.origin != origin:
        raise BadCheckpointError(f"the checkpoint is of another log ({checkpoint.origin})")
    if claims.get("prune") is True:
        return replace(checkpoint, prune_before=str(claims.get("before")))
    return checkpoint


def prune_floor(log: AuditLog, signer: Signer) -> Checkpoint | None:
    """The latest prune checkpoint (``idp.audit.retention``): entries up to its seq may be gone.
    Its signature, its prune mark and its row must agree: a plain checkpoint put in the prune
    table does not make a floor."""
    with log.sessions() as db:
        row = db.scalars(select(PruneRow).order_by(PruneRow.seq.desc()).limit(1)).first()
    if row is None:
        return None
    found = read(row.jws, signer, origin=log.origin)
    if found.prune_before is None or (found.seq, found.hash) != (row.seq, row.hash):
        raise BadCheckpointError(f"the prune record at seq {row.seq} is not a signed prune "
                                 "checkpoint of that entry")
    return found


def prove_extends(checkpoint: Checkpoint, entries: Iterable[Entry]) -> VerifiedChain:
    """Checks ``entries`` (an export from ``checkpoint.seq`` or earlier, in seq order) contain the
    checkpoint's entry unchanged and chain on from it; raises BadCheckpointError otherwise."""
    seen = iter(entries)
    first = next(seen, None)
    if checkpoint.seq == 0:
        after: tuple[int, str] = (0, GENESIS)
        rest = [first] if first else []
    elif first is not None and first.seq == checkpoint.seq + 1:
        after = (checkpoint.seq, checkpoint.hash)  # starts right after it (a pruned log)
        rest = [first]
    else:
        if first is None or first.seq > checkpoint.seq:
            raise BadCheckpointError(f"the entries do not reach back to seq {checkpoint.seq}")
        after = (first.seq - 1, first.prev_hash)
        rest = [first]
    try:
        chain = verify_chain(_chained(rest, seen), after=after,
                             anchors={checkpoint.seq: checkpoint.hash})
    except BrokenChainError as error:
        raise BadCheckpointError(f"the log does not extend the checkpoint at seq "
                                 f"{checkpoint.seq}: {error.description}") from error
    if chain.size < checkpoint.seq:
        raise BadCheckpointError(f"the entries end at seq {chain.size}, before the checkpoint "
                                 f"at seq {checkpoint.seq}")
    return chain


def _chained(first: list[Entry], rest: Iterable[Entry]) -> Iterable[Entry]:
    yield from first
    yield from rest


def verify_log(log: AuditLog, signer: Signer,
               checkpoint: Checkpoint | None = None) -> VerifiedChain:
    """The whole stored log: one chain from seq 1 (or, once pruned, from the entry after the
    latest prune checkpoint, anchored to it), ending at the head row, agreeing with every stored
    checkpoint (and with ``checkpoint``, one handed out earlier, when given)."""
    # Checkpoints, then the head, then the entries up to the head: entries appended meanwhile
    # by a running IdP are after the head read, and are left for the next run.
    floor = prune_floor(log, signer)
    after = (floor.seq, floor.hash) if floor else (0, GENESIS)
    anchors = {c.seq: c.hash for c in stored(log, signer) if c.seq >= after[0]}
    head_seq, head_hash = log.head()
    extra = [checkpoint] if checkpoint else []
    for held in extra:
        if held.seq < after[0]:
            raise BadCheckpointError(
                f"the checkpoint names seq {held.seq}, pruned (the log starts after seq "
                f"{after[0]}): check it against the export archived before the prune "
                "(--export)")
        if anchors.get(held.seq, held.hash) != held.hash:
            raise BadCheckpointError(f"the stored checkpoint at seq {held.seq} differs from the "
                                     "one given")
        anchors[held.seq] = held.hash
    if anchors.get(after[0], after[1]) != after[1]:
        raise BadCheckpointError(f"the checkpoint at seq {after[0]} differs from the prune "
                                 "checkpoint there")
    chain = verify_chain(log.scan(since=after[0] + 1, until=head_seq), after=after,
                         anchors=anchors)
    if chain.size < head_seq:
        raise BrokenChainError(chain.size + 1, f"missing: the log ends at seq {chain.size} but "
                               f"its head names seq {head_seq} (entries removed from the end)")
    if chain.head != head_hash:
        raise BrokenChainError(head_seq, "differs from the head row's hash (the last entry was "
                               "rewritten)")
    beyond = [seq for seq in anchors if seq > chain.size]
    if beyond:
        raise BrokenChainError(chain.size + 1, f"a signed checkpoint names seq {max(beyond)}: "
                               "entries were removed from the end")
    return chain
