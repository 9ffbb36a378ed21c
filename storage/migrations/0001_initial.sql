-- LaunchWatch schema, version 1.
-- Times are ISO 8601 UTC strings ("2026-03-01T12:00:00+00:00"), which sort correctly as text.

CREATE TABLE feeds (
    id                   INTEGER PRIMARY KEY,
    url                  TEXT    NOT NULL UNIQUE,
    title                TEXT    NOT NULL DEFAULT '',
    enabled              INTEGER NOT NULL DEFAULT 1,
    etag                 TEXT,
    last_modified        TEXT,
    body_hash            TEXT,
    last_polled_at       TEXT,
    last_success_at      TEXT,
    next_poll_at         TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    disabled_reason      TEXT,
    seeded               INTEGER NOT NULL DEFAULT 0,
    guild_id             INTEGER,           -- NULL: a global feed; else the guild that added it
    is_default           INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT    NOT NULL
);
CREATE INDEX feeds_due ON feeds (enabled, next_poll_at);

-- Dedup state: one row per article key ever seen per feed.
CREATE TABLE articles (
    feed_id    INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    first_seen TEXT    NOT NULL,
    PRIMARY KEY (feed_id, key)
) WITHOUT ROWID;
CREATE INDEX articles_first_seen ON articles (first_seen);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    key         TEXT    NOT NULL,
    scope       INTEGER NOT NULL DEFAULT 0,  -- 0: global; else the guild whose own feed reported it
    status      TEXT    NOT NULL,
    status_at   TEXT    NOT NULL,
    vehicle     TEXT,
    mission     TEXT,
    site        TEXT,
    crewed      INTEGER,
    agencies    TEXT    NOT NULL DEFAULT '[]',
    launch_time TEXT,
    summary     TEXT    NOT NULL DEFAULT '',
    first_seen  TEXT    NOT NULL,
    updated     TEXT    NOT NULL,
    revision    INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX events_key ON events (key, scope, updated);
CREATE INDEX events_updated ON events (updated);

CREATE TABLE event_sources (
    event_id    INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    feed_id     INTEGER,
    article_key TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    link        TEXT,
    site        TEXT    NOT NULL DEFAULT '',
    published   TEXT,
    added_at    TEXT    NOT NULL,
    PRIMARY KEY (event_id, article_key)
);

CREATE TABLE event_history (
    id          INTEGER PRIMARY KEY,
    event_id    INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    status      TEXT    NOT NULL,
    at          TEXT    NOT NULL,
    article_key TEXT
);
CREATE INDEX event_history_event ON event_history (event_id, id);

CREATE TABLE subscriptions (
    id            INTEGER PRIMARY KEY,
    target        TEXT    NOT NULL DEFAULT 'discord',
    guild_id      INTEGER NOT NULL,
    channel_id    INTEGER NOT NULL,
    filters       TEXT    NOT NULL DEFAULT '{}',
    role_id       INTEGER,
    created_by    INTEGER,
    state         TEXT    NOT NULL DEFAULT 'active',
    broken_reason TEXT,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    UNIQUE (target, channel_id)
);
CREATE INDEX subscriptions_guild ON subscriptions (guild_id);

-- What each subscription has been told about each event.
CREATE TABLE deliveries (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    message_id      INTEGER,
    posted_revision INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subscription_id, event_id)
) WITHOUT ROWID;

-- Work for the delivery worker, written in the same transaction as the event change.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,            -- post | edit | followup
    followup_status TEXT    NOT NULL DEFAULT '', -- for followups: the status announced
    state           TEXT    NOT NULL DEFAULT 'pending', -- pending | done | dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    done_at         TEXT
);
-- Never two posts, never the same follow-up twice, at most one pending edit.
CREATE UNIQUE INDEX outbox_one_post ON outbox (subscription_id, event_id) WHERE kind = 'post';
CREATE UNIQUE INDEX outbox_one_followup ON outbox (subscription_id, event_id, followup_status)
    WHERE kind = 'followup';
CREATE UNIQUE INDEX outbox_one_pending_edit ON outbox (subscription_id, event_id)
    WHERE kind = 'edit' AND state = 'pending';
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

-- Small key/value facts the process keeps about itself (command-sync hash, heartbeats).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
