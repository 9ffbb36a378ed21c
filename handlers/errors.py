"""LaunchWatch's exceptions, one tree so callers can catch as broadly as they need.

::

    LaunchWatchError
    ├── ConfigError
    ├── FeedError                      (url)
    │   ├── FetchError
    │   │   ├── BlockedAddressError    (host, address, reason)
    │   │   ├── ResponseTooLargeError  (limit)
    │   │   ├── FetchTimeoutError      (seconds)
    │   │   ├── TooManyRedirectsError
    │   │   └── HTTPStatusError        (status, retry_after)
    │   └── ParseError
    ├── StorageError                   (path)
    └── DeliveryError
        └── ChannelGoneError

Every exception's ``str()`` is a one-line sentence a user can act on, because feed
errors are shown as-is in ``feeds list`` and in logs. The first argument is always
that message; the context travels in keyword-only attributes.

:func:`error_text` is the one way any error becomes text, whatever reads it: a log
line, a feed's or a delivery's stored error, a subscription's broken reason, a reply
in Discord, ``/status``, a metric. It masks secrets with :func:`redact`: the values
registered with :func:`mask_secrets` (the configured tokens), credential header values
and anything shaped like a Discord token, because an error can quote what a server
answered, and a proxy may echo the request's ``Authorization`` header back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "REDACTED",
    "BlockedAddressError",
    "ChannelGoneError",
    "ConfigError",
    "DeliveryError",
    "FeedError",
    "FetchError",
    "FetchTimeoutError",
    "HTTPStatusError",
    "LaunchWatchError",
    "ParseError",
    "ParseTimeoutError",
    "ResponseTooLargeError",
    "StorageError",
    "TooManyRedirectsError",
    "error_text",
    "mask_secrets",
    "redact",
]

REDACTED = "[redacted]"
_MIN_SECRET = 6  # shorter "secrets" would mask ordinary words

# Discord bot tokens: three dot-separated base64url parts (user id, timestamp, HMAC).
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}")
_VALUE = r"[^\s\"',;<>()]+"
# A credential header quoted back ("Authorization: Bot …", "'authorization': '…'",
# JSON): its whole value, scheme included, up to the quote or the end of the line.
_CREDENTIAL_HEADER = re.compile(
    rf"(?i)(\b(?:proxy-)?authorization|\bx-api-key|\bcookie)(['\"]?\s*[:=]\s*['\"]?)"
    rf"{_VALUE}(?:[ \t]+{_VALUE})?"
)
# A credential after its scheme, without the header name ("Forbidden for Bot …").
_SCHEME_CREDENTIAL = re.compile(r"(?i)\b(Bot|Bearer|Token|Basic)(\s+)[A-Za-z0-9._~+/=-]{16,}")
# Credentials in a query string or a form ("?token=…&").
_CREDENTIAL_PARAM = re.compile(
    r"(?i)\b((?:access_|api_?)?token|api[_-]?key|password|secret)=[^&\s\"'<>]+"
)


class _SecretMask:
    """The configured secrets, longest first so one containing another is masked whole."""

    def __init__(self) -> None:
        self.secrets: tuple[str, ...] = ()

    def add(self, secrets: Iterable[str | None]) -> None:
        known = set(self.secrets) | {s for s in secrets if s and len(s) >= _MIN_SECRET}
        self.secrets = tuple(sorted(known, key=len, reverse=True))


# The secrets come from the process's environment, and every sink (the logging
# handlers included) must mask them, so they are registered once per process.
_MASK = _SecretMask()


def mask_secrets(secrets: Iterable[str | None]) -> None:
    """Register secret values (the configured tokens) that :func:`redact` masks from now on."""
    _MASK.add(secrets)


def redact(text: str) -> str:
    """``text`` with every registered secret and anything credential-shaped masked."""
    for secret in _MASK.secrets:
        text = text.replace(secret, REDACTED)
    text = _CREDENTIAL_HEADER.sub(rf"\1\2{REDACTED}", text)
    text = _SCHEME_CREDENTIAL.sub(rf"\1\2{REDACTED}", text)
    text = _CREDENTIAL_PARAM.sub(rf"\1={REDACTED}", text)
    return _TOKEN_SHAPE.sub(REDACTED, text)


def error_text(error: BaseException | str) -> str:
    """The error as one line of text with its secrets masked: what every sink stores or shows.

    LaunchWatch's own errors read as their message; anything else as ``Type: message``.
    """
    if isinstance(error, str):
        text = error
    elif isinstance(error, LaunchWatchError):
        text = error.message
    else:
        detail = str(error)
        text = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    return redact(" ".join(text.split()))


class LaunchWatchError(Exception):
    """Base class of every error LaunchWatch raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return error_text(self)


class ConfigError(LaunchWatchError):
    """A setting is missing or invalid."""


class FeedError(LaunchWatchError):
    """Something went wrong with one feed; ``url`` says which."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class FetchError(FeedError):
    """The feed could not be downloaded."""


class BlockedAddressError(FetchError):
    """The SSRF guard refused the URL or the address its host resolves to."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        host: str | None = None,
        address: str | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message, url=url)
        self.host = host
        self.address = address
        # The message minus the URL, so a refusal found deep in the resolver can
        # be re-raised naming the URL the user actually asked for.
        self.reason = reason if reason is not None else message


class ResponseTooLargeError(FetchError):
    """The response body is larger than the configured limit."""

    def __init__(self, message: str, *, url: str, limit: int) -> None:
        super().__init__(message, url=url)
        self.limit = limit


class FetchTimeoutError(FetchError):
    """The server did not answer, or finish answering, in time."""

    def __init__(self, message: str, *, url: str, seconds: float) -> None:
        super().__init__(message, url=url)
        self.seconds = seconds


class TooManyRedirectsError(FetchError):
    """The feed redirected too many times or in a loop."""


class HTTPStatusError(FetchError):
    """The server answered with an HTTP status that is not a feed."""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.retry_after = retry_after


class ParseError(FeedError):
    """The body is not an RSS or Atom feed, or cannot be parsed at all."""


class ParseTimeoutError(ParseError):
    """Parsing the body took longer than the parse budget; ``seconds`` is the budget."""

    def __init__(self, message: str, *, url: str, seconds: float) -> None:
        super().__init__(message, url=url)
        self.seconds = seconds


class StorageError(LaunchWatchError):
    """The database or a file store failed; ``path`` says which."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class DeliveryError(LaunchWatchError):
    """An alert could not be delivered to its channel."""


class ChannelGoneError(DeliveryError):
    """The target channel was deleted or the bot lost access to it."""
