"""The JPKI trust core, pure (no Flask, no SQLAlchemy): certificates, paths, signatures,
revocation."""
