"""Domain errors: each carries a message a person can read and act on."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain was broken; `str(error)` is the message to show."""


class InvalidInput(DomainError):
    """A value a person typed is malformed; `field` names the input it came from."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class IllegalTransition(DomainError):
    """An event does not apply to the current status."""


class NotEligible(DomainError):
    """A cluster cannot have a private endpoint."""


class PermissionDenied(DomainError):
    """The user may not do this in this project."""


class ForeignWorkspace(PermissionDenied):
    """The request comes from a Slack workspace other than the project's."""


class NotEditable(DomainError):
    """The private endpoint cannot be edited right now."""


class NotFound(DomainError):
    """A named thing does not exist."""


class Conflict(DomainError):
    """The change collides with existing state (a duplicate name or id)."""


class AwsError(DomainError):
    """AWS refused a call; the message explains it in plain words."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
