"""The token endpoint's name for :mod:`idp.prepared`, which moved below the accounts and
passkeys layers when their login statements began to run through it too (issue 18)."""

from idp.prepared import Prepared, Transaction, read_one, transaction, write_one

__all__ = ["Prepared", "Transaction", "read_one", "transaction", "write_one"]
