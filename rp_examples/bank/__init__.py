"""テスト銀行 (Test Bank): the sample relying party that needs the most from the IdP.

Everyday login with any passkey; account opening only on ``verified_claims`` (jp_aml, the
signing certificate as evidence) with an identity checked now (:mod:`.opening`); a transfer
above the limit approved only by the customer's card signature over its text, which the bank
verifies itself (:mod:`.signature`, :mod:`.transfers`); a transfer API inside the bank that
answers RFC 9470 step-up challenges (:mod:`.resource`); a back office that lists the change
events the IdP pushes about its customers (:mod:`.events`, :mod:`.stream`).
"""
