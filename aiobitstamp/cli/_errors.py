"""What went wrong, as one line and an exit code.

Every command ends in one of these codes, so a shell script can tell a typo from an outage:

====  ========================  ==========================================================
code  name                      when
====  ========================  ==========================================================
0     OK                        the command did what was asked
1     INTERNAL                  a bug in aiobitstamp (the traceback is shown with --debug)
2     USAGE                     a bad argument or option: a malformed pair, date, amount
                                or URL, an unknown option; nothing was sent
3     NOT_FOUND                 an unknown pair (checked against the exchange's list),
                                order or file
4     AUTH                      keys missing, refused by the exchange, lacking a
                                permission, or kept in a config file others can read
5     RATE_LIMITED              the exchange's rate limit, after the client's retries
6     NETWORK                   the exchange could not be reached, timed out, or is down
                                (5xx, maintenance)
7     REJECTED                  the exchange refused the request (insufficient funds, an
                                order rule, a deprecated endpoint)
8     BAD_ANSWER                an answer that could not be understood or trusted, or an
                                order whose outcome is unknown
130   INTERRUPTED               Ctrl-C
====  ========================  ==========================================================

The mapping is :func:`classify`; ``aiobitstamp`` itself never raises anything but
``BitstampError``\\ s, so everything else that reaches the top is either the command line's
own :class:`CommandError` or a bug.
"""

from __future__ import annotations

import enum

from .._exceptions import (
    AuthenticationError,
    BitstampError,
    ExchangeError,
    ExchangeUnavailableError,
    InvalidCredentialsError,
    InvalidParameterError,
    MissingCredentialsError,
    NotFoundError,
    OrderOutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ResponseSignatureError,
    TransportError,
    UnexpectedResponseError,
)

__all__ = ["CommandError", "ExitCode", "classify"]


class ExitCode(enum.IntEnum):
    """The process exit codes of ``aiobitstamp`` (see the module docstring)."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    NOT_FOUND = 3
    AUTH = 4
    RATE_LIMITED = 5
    NETWORK = 6
    REJECTED = 7
    BAD_ANSWER = 8
    INTERRUPTED = 130


class CommandError(Exception):
    """A failure the command line detected itself, with the exit code it deserves."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# Most specific first: UnknownMarketError is both an InvalidParameterError and a
# NotFoundError, and is reported as the unknown pair it is.
_CLASSES: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (NotFoundError, ExitCode.NOT_FOUND),
    (InvalidCredentialsError, ExitCode.AUTH),
    (InvalidParameterError, ExitCode.USAGE),
    (MissingCredentialsError, ExitCode.AUTH),
    (AuthenticationError, ExitCode.AUTH),
    (PermissionDeniedError, ExitCode.AUTH),
    (RateLimitError, ExitCode.RATE_LIMITED),
    (ExchangeUnavailableError, ExitCode.NETWORK),
    (TransportError, ExitCode.NETWORK),
    (OrderOutcomeUnknownError, ExitCode.BAD_ANSWER),
    (UnexpectedResponseError, ExitCode.BAD_ANSWER),
    (ResponseSignatureError, ExitCode.BAD_ANSWER),
    (ExchangeError, ExitCode.REJECTED),
)


def classify(error: BaseException) -> ExitCode:
    """The exit code for ``error``."""
    if isinstance(error, CommandError):
        return error.code
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    for kind, code in _CLASSES:
        if isinstance(error, kind):
            return code
    if isinstance(error, BitstampError):
        return ExitCode.BAD_ANSWER
    return ExitCode.INTERNAL


def describe(error: BaseException) -> str:
    """One line for a person: what failed and, where it helps, what to do."""
    if isinstance(error, CommandError):
        return error.message
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, RateLimitError) and error.retry_after:
        text += f" (retry after {error.retry_after:g} s)"
    if isinstance(error, MissingCredentialsError):
        text += (
            "; set BITSTAMP_API_KEY and BITSTAMP_API_SECRET, or api_key and api_secret "
            "in the config file (see --config)"
        )
    return text
