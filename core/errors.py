"""Errors whose message is safe to show to a user as it is."""


class DomainError(Exception):
    """A rule said no. The message is one short line for the user.

    A command to type is given apart, since each platform writes it its own way (chat text
    `/habit add Read`, a slash command with its options on Discord): the message holds `{}`
    for each, and `commands` their names and values, e.g. ("habit add", "Read")."""

    def __init__(self, message: str = "", *commands: tuple[str, ...]) -> None:
        self.template, self.commands = message, commands
        shown = ("/" + " ".join(c) for c in commands)  # as chat text, for logs and str()
        super().__init__(message.format(*shown) if commands else message)


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
