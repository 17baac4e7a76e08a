"""Sample relying parties: small, real Flask apps that log in with this IdP over HTTP only.

Each is runnable alone (``python -m rp_examples.NAME``, configured from ``RP_*`` environment
variables, see :mod:`rp_examples.common.config`) and started by ``idp demo`` from the one list
in :mod:`rp_examples.catalogue`. They never import ``idp`` or ``trust``: what they know of the
IdP comes from its discovery document, its JWKS and the tokens it issues, as for any RP.
"""
