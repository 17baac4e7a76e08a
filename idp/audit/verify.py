"""Proving a run of entries is one unbroken chain (``idp audit verify``).

Each entry must carry the next seq, name the hash of the entry before it, and hash to what it
says: an edited row no longer hashes to its ``hash``, a removed one leaves a gap in seq, a
reordered one names the wrong ``prev_hash``. The first entry that fails is reported.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from idp.audit.entries import GENESIS, Entry
from idp.audit.errors import BrokenChainError


@dataclass(frozen=True)
class VerifiedChain:
    first: int  # seq of the first entry checked (0: none)
    size: int  # seq of the last entry checked (0: an empty log)
    head: str  # its hash


def verify_chain(entries: Iterable[Entry], *, after: tuple[int, str] = (0, GENESIS),
                 anchors: dict[int, str] | None = None) -> VerifiedChain:
    """Checks ``entries`` (in the order given) follow the entry ``after`` = (seq, hash), and
    that each entry whose seq is in ``anchors`` (signed checkpoints) has the hash it names."""
    seq, head = after
    first = 0
    for entry in entries:
        if entry.seq != seq + 1:
            raise BrokenChainError(seq + 1, f"missing or out of order (found seq {entry.seq})")
        if entry.prev_hash != head:
            raise BrokenChainError(entry.seq, "does not name the hash of the entry before it")
        if entry.computed_hash() != entry.hash:
            raise BrokenChainError(entry.seq, "edited: its content no longer has its hash")
        if anchors and anchors.get(entry.seq, entry.hash) != entry.hash:
            raise BrokenChainError(entry.seq, "differs from the signed checkpoint at this seq")
        first = first or entry.seq
        seq, head = entry.seq, entry.hash
    return VerifiedChain(first, seq, head)
