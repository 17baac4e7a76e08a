"""The JPKI application of the My Number Card, spoken in APDUs.

Pure layers (``apdu``, ``status``, ``jpki``, ``request``) work over the :class:`CardConnection`
protocol; ``pcsc`` is the one module that imports pyscard. The virtual card under ``trust/vcard``
implements the same protocol in-process and plugs in through the ``idp.card_backends`` entry point.
"""

