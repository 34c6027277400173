"""The one place where quantities become the integers CP-SAT needs.

CP-SAT accepts only integer coefficients. Our data are decimals written in files: kg/day
and yuan/day (usually whole numbers) and loads, shares or fractions with a few decimals,
so a cut ``(1 − load) × emission`` has at most a handful of decimals. Each row is
multiplied by the smallest power of ten that makes every coefficient and bound an integer
(exactly, up to float noise of 1e-7 relative), then divided by the gcd of its
coefficients; a lower bound is rounded up and an upper bound down, which is exact because
the left side is an integer. The objective keeps its scale so the cost read back is exact
in yuan. A value that needs more than ``10**MAX_EXP`` is rounded at that precision.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

MAX_EXP = 6
_TOL = 1e-7
UNBOUNDED = 2**62


def _is_int(x: float) -> bool:
    return abs(x - round(x)) <= _TOL * max(1.0, abs(x))


def decimal_scale(values: Iterable[float], max_exp: int = MAX_EXP) -> int:
    """Smallest ``10**k`` (k ≤ max_exp) making all ``values`` integral (else ``10**max_exp``)."""
    need = 0
    for v in values:
        while need < max_exp and not _is_int(v * 10**need):
            need += 1
        if need == max_exp:
            break
    return int(10**need)


def decimals(value: float, max_exp: int = MAX_EXP) -> int:
    """The fewest decimals that make ``value`` whole (at most ``max_exp``): the ``k`` of
    :func:`decimal_scale` for it alone. For many values ``10**`` the largest of theirs is
    :func:`decimal_scale`'s answer, except where a value within 1e-7 of zero (whole at
    no decimals, within the tolerance) follows others with decimals: there that function
    goes on to ``10**max_exp``. Both scales price such a list exactly as decimals."""
    need = 0
    while need < max_exp and not _is_int(value * 10**need):
        need += 1
    return need


BOUND_TOL = 1e-9
"""Of a bound in its row's units, the relative distance from a whole number that counts as
float noise. Tighter than :data:`_TOL` (which picks a row's scale): a target of
50,000.0023 kg is 5,000,000.23 hundredths, within 1e-7 of whole but 2.3 g above
50,000.00, which the checker (1 g allowed) does not count as met."""


def round_up(x: float) -> int:
    """Ceiling that ignores float noise (18400.000000000004 → 18400), but not a fraction of
    a unit (5000000.23 → 5000001)."""
    r = round(x)
    return r if abs(x - r) <= BOUND_TOL * max(1.0, abs(x)) else math.ceil(x)


def round_down(x: float) -> int:
    """Floor that ignores float noise, but not a fraction of a unit."""
    r = round(x)
    return r if abs(x - r) <= BOUND_TOL * max(1.0, abs(x)) else math.floor(x)


def scale_row(coefs: list[float], lo: float, hi: float) -> tuple[list[int], int, int]:
    """Integer form of ``lo ≤ Σ coefs·x ≤ hi`` for integer x (±UNBOUNDED for no bound)."""
    finite = [abs(v) for v in (lo, hi) if math.isfinite(v)]
    scale = decimal_scale([abs(c) for c in coefs] + finite)
    ints = [round(c * scale) for c in coefs]
    lo_i = round_up(lo * scale) if math.isfinite(lo) else -UNBOUNDED
    hi_i = round_down(hi * scale) if math.isfinite(hi) else UNBOUNDED
    divisor = 0
    for c in ints:
        divisor = math.gcd(divisor, c)
    if divisor > 1:
        ints = [c // divisor for c in ints]
        lo_i = lo_i if lo_i == -UNBOUNDED else -((-lo_i) // divisor)
        hi_i = hi_i if hi_i == UNBOUNDED else hi_i // divisor
    return ints, lo_i, hi_i
