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
