"""Email addresses and mainland mobile numbers: how the engine checks a contact."""

from __future__ import annotations

import re

EMAIL_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
"""An address alone: no display name, no spaces, no line breaks (nothing a mail header
could be split on)."""
MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
"""A mainland mobile number: 11 digits from 13…–19…, optionally after +86."""


def email_address(value: str) -> str | None:
    """``value`` stripped when it is an email address, else None."""
    value = value.strip()
    return value if len(value) <= 254 and EMAIL_ADDRESS.match(value) else None


def mobile_number(value: str) -> str | None:
    """The 11 digits of a mainland mobile number (spaces, dashes and +86 dropped), else None."""
    found = MOBILE.match(value.strip().replace(" ", "").replace("-", ""))
    return found.group(1) if found else None
