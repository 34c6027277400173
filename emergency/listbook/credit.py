"""The unified social credit code (统一社会信用代码) of GB 32100-2015 and its check character."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters a code may use (no I, O, S, V, Z), valued 0 to 30."""

WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
"""The weight of each of the first 17 characters (3^i mod 31)."""

LENGTH = 18


def check_character(first17: str) -> str:
    """The 18th character for the first 17: ``31 - (sum of value x weight mod 31)``, 31 → 0.

    >>> check_character("91350100M000100Y4")
    '3'
    """
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why ``code`` is not a valid credit code, or None when it is."""
    if len(code) != LENGTH:
        return f"has {len(code)} characters (expected {LENGTH})"
    bad = sorted({c for c in code if c not in ALPHABET})
    if bad:
        return (
            f"has characters outside GB 32100-2015 ({', '.join(bad)}; I, O, S, V, Z are not used)"
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"wrong check character {code[17]!r} (expected {expected!r})"
    return None
