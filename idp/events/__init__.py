"""Shared Signals transmitter: streams, Security Event Tokens, and their delivery (issue 13).

A person's life events reach the relying parties they consented to (変更確認): accounts describe
what changed (``idp.accounts.changes``); :class:`~idp.events.emitter.Emitter` turns each change
into CAEP and RISC events for every consenting relying party with a stream, in the transaction
of the change; push (RFC 8935) and poll (RFC 8936) deliver them. No Flask here (``idp.web.ssf``).
"""
