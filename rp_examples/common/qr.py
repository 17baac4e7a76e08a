"""QR codes as SVG data URIs, for pages that show a link to a phone (the TV screen)."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathImage


def qr_data_uri(text: str) -> str:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4,
                         box_size=10, image_factory=SvgPathImage)
    code.add_data(text)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()
