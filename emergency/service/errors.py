"""Domain errors of the service flows; the API maps each to one HTTP status.

User input errors are :class:`emergency.errors.InputError` (400); these are the others.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the service's domain errors: a one-line message for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Unauthorized(ServiceError):
    """No credentials, or credentials that are not valid (HTTP 401)."""


class Forbidden(ServiceError):
    """The actor's role may not do this (HTTP 403)."""


class NotFound(ServiceError):
    """No such resource, or one the actor may not see (HTTP 404, no enumeration)."""


class Conflict(ServiceError):
    """The request clashes with the current state or a concurrent change (HTTP 409)."""
