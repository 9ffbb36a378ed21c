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
"""

from __future__ import annotations

__all__ = [
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
]


class LaunchWatchError(Exception):
    """Base class of every error LaunchWatch raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


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
