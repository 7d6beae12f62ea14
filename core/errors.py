"""Errors whose message is safe to show to a user as it is."""


class DomainError(Exception):
    """A rule said no. The message is one short line for the user."""


class NotFound(DomainError):
    pass


class Forbidden(DomainError):
    pass


class Conflict(DomainError):
    pass


class InvalidInput(DomainError):
    pass


class Busy(DomainError):
    """The database could not be written in time (SQLite: another process kept the write
    lock); nothing was changed, and the same request a moment later will do."""

    def __init__(self, message: str = "I'm busy right now; please try again in a moment.") -> None:
        super().__init__(message)
