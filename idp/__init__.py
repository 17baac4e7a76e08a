"""An OpenID Connect provider that anchors private IDs to Japan's national PKI (JPKI)."""

__version__ = "0.1.0"
