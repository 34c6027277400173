"""Chinese number plates (机动车号牌, GA 36): checked and written one way.

A plate is a province's one-character abbreviation, the issuing office's letter and:

- five letters or digits (ordinary plates: ``豫U12345``, ``豫UA1234``);
- six for new-energy vehicles (``豫UD12345`` small, ``豫U12345D`` large: D electric, F
  other new energy);
- four and a closing character for trailers, coaches, police and Hong Kong / Macao
  vehicles (``豫U1234挂``, ``豫U1234学``, ``豫U1234警``, ``粤Z1234港``).

Letters ``I`` and ``O`` are not used (mistaken for 1 and 0). Spaces, the middle dot of
``豫U·12345`` and lower case are forgiven and dropped: :func:`normal_plate` writes every
plate one way, so that a resent record is recognised.
"""

from __future__ import annotations

import re

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
"""The one-character abbreviations of the provinces, regions and municipalities."""
_L = "A-HJ-NP-Z"
"""Letters used on plates (no I, no O)."""
PLATE = re.compile(
    rf"^[{PROVINCES}][{_L}]"
    rf"(?:[{_L}0-9]{{5}}"  # ordinary
    rf"|[DF][{_L}0-9][0-9]{{4}}"  # new energy, small
    rf"|[0-9]{{5}}[DF]"  # new energy, large
    rf"|[{_L}0-9]{{4}}[挂学警港澳])$"  # trailer, coach, police, Hong Kong, Macao
)


def normal_plate(text: str) -> str | None:
    """The plate written one way (upper case, no spaces or dots), or None if it is not a
    Chinese number plate."""
    plate = re.sub(r"[\s·•.\-]", "", text).upper()
    return plate if PLATE.match(plate) else None
