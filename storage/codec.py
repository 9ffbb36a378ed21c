"""Conversions between domain values and column values (the same on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from handlers.domain import (
    LaunchStatus,
    Notice,
    Subscription,
    SubscriptionFilter,
    SubscriptionState,
)


def to_db(value: datetime | None) -> str | None:
    """UTC ISO 8601 text, which sorts in time order."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(value: str | None) -> datetime | None:
    """Inverse of :func:`to_db`."""
    return datetime.fromisoformat(value) if value else None


def require_time(value: str | None) -> datetime:
    """Like :func:`from_db` for NOT NULL columns."""
    parsed = from_db(value)
    if parsed is None:
        raise ValueError("missing timestamp in a NOT NULL column")
    return parsed


def encode_filters(filters: SubscriptionFilter) -> str:
    """JSON for the ``subscriptions.filters`` column."""
    return json.dumps(
        {
            "statuses": sorted(s.value for s in filters.statuses),
            "vehicles": sorted(filters.vehicles),
            "agencies": sorted(filters.agencies),
            "sites": sorted(filters.sites),
            "crewed_only": filters.crewed_only,
        },
        separators=(",", ":"),
    )


def decode_filters(text: str) -> SubscriptionFilter:
    """Inverse of :func:`encode_filters`; missing keys mean "any"."""
    data = json.loads(text or "{}")
    statuses = data.get("statuses")
    return SubscriptionFilter(
        statuses=frozenset(LaunchStatus(s) for s in statuses)
        if statuses
        else frozenset(LaunchStatus),
        vehicles=frozenset(data.get("vehicles", ())),
        agencies=frozenset(data.get("agencies", ())),
        sites=frozenset(data.get("sites", ())),
        crewed_only=bool(data.get("crewed_only", False)),
    )


def subscription_from_row(row: Any) -> Subscription:
    """Build a :class:`Subscription` from a ``subscriptions`` row."""
    return Subscription(
        id=row["id"],
        target=row["target"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        filters=decode_filters(row["filters"]),
        role_id=row["role_id"],
        created_by=row["created_by"],
        state=SubscriptionState(row["state"]),
        broken_reason=row["broken_reason"],
        reminders=tuple(json.loads(row["reminders"])),
        notices=frozenset(Notice(n) for n in json.loads(row["notices"])),
        threads=bool(row["threads"]),
    )


def escape_like(text: str) -> str:
    """``text`` matched literally inside a ``LIKE ... ESCAPE '\\'`` pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def json_values(dialect: str, expr: str) -> str:
    """A table of the elements of the JSON array text ``expr`` (a column or ``?``), one row
    per element in a column ``value`` (text on PostgreSQL: cast ids)."""
    if dialect == "postgresql":
        return f"json_array_elements_text(({expr})::json) AS j(value)"
    return f"json_each({expr})"


def json_first(dialect: str, expr: str) -> str:
    """The first element of the JSON array text ``expr``, as text."""
    if dialect == "postgresql":
        return f"(({expr})::json ->> 0)"
    return f"json_extract({expr}, '$[0]')"
