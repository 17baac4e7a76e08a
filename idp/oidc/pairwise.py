"""Subject identifiers (OIDC Core §8): pairwise per sector by default, public on request.

A pairwise ``sub`` is SHA-256(sector ‖ private ID ‖ salt) (OIDC Core §8.1's example), so two
relying parties in different sectors cannot correlate a person, and the salt (a secret of this
instance) keeps anyone from recomputing it from a known private ID.
"""

from __future__ import annotations

import base64
import hashlib

from idp.oidc.clients import ClientInfo


def subject(client: ClientInfo, private_id: str, salt: str) -> str:
    return subject_for(client.subject_type, client.sector_identifier, private_id, salt)


def subject_for(subject_type: str, sector_identifier: str, private_id: str, salt: str) -> str:
    """The ``sub`` of ``private_id`` for clients of that subject type and sector (events name
    the person by it for many relying parties at once, from their stored columns)."""
    if subject_type == "public":
        return private_id
    digest = hashlib.sha256(f"{sector_identifier}\x00{private_id}\x00{salt}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
