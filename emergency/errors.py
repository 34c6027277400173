"""Domain errors that users can cause.

Every error a user can cause (a file, a CLI flag, an HTTP body) is an :class:`InputError`
with a one-line message naming the file, the row or line, and the field. The CLI turns it
into exit code 2, the API into a 4xx answer; nobody sees a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable


class InputError(Exception):
    """Bad input: the message names the file, the place and the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def where(file: str | None, place: str | int | None = None, field: str | None = None) -> str:
    """Format the location of an error: ``file:line: field``.

    >>> where("plans/city.yaml", 12, "levels.orange")
    'plans/city.yaml:12: levels.orange'
    """
    parts = [str(file) if file else "<input>"]
    if place is not None and place != "":
        parts[0] += f":{place}"
    if field:
        parts.append(field)
    return ": ".join(parts)


class ValidationErrors(InputError):
    """Several input errors found in one pass (a data folder, a forecast: all of them).

    ``what`` names the input in the heading of several errors (``3 errors in forecast.json``).
    """

    def __init__(self, errors: Iterable[str], what: str = "the data") -> None:
        self.errors = list(errors)
        n = len(self.errors)
        if n == 1:  # one error: one line, naming file, place and field
            super().__init__(self.errors[0])
            return
        head = f"{n} errors in {what}"
        super().__init__(head + ":\n" + "\n".join(f"  {e}" for e in self.errors))
