"""QR codes of card request URLs, as SVG, so a phone's card app can open the request.

Drawn by the ``qrcode`` package (ISO/IEC 18004) as one SVG path; error correction M survives a
photographed screen.
"""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathImage


def qr_svg(text: str) -> bytes:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4,
                         box_size=10, image_factory=SvgPathImage)
    code.add_data(text)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)
    return out.getvalue()
