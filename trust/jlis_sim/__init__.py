"""A faithful simulator of J-LIS as verifiers see it: CAs, residents, life events, verifier API."""
