-- LaunchWatch schema, version 8: Discord scheduled events and a thread per launch.
--
-- guild_options: per server settings. scheduled_events = 1 when the server opted in to a
-- Discord scheduled event per upcoming launch; events_problem says why they are paused
-- (a missing permission, the server gone) until someone turns them on again.
-- guild_events: one row per server and launch event, the scheduled event LaunchWatch keeps
-- for it. discord_id is the scheduled event once made; creating_at is set, and committed,
-- before the create request goes out, so after a crash the next try first looks for the
-- event it may have made instead of making a second. shown is what Discord was last told
-- (JSON), so only a change sends a request. state: live (followed), ended (completed or
-- cancelled on Discord) or dead (given up, last_error says why).
-- subscriptions.threads: 1 when the channel wants a thread per launch.
-- deliveries.thread_id: the thread opened on the alert (NULL: none), where that launch's
-- follow-ups and reminders go.
CREATE TABLE guild_options (
    guild_id         INTEGER PRIMARY KEY,
    scheduled_events INTEGER NOT NULL DEFAULT 0,
    events_problem   TEXT,
    updated_at       TEXT    NOT NULL
);

CREATE TABLE guild_events (
    guild_id        INTEGER NOT NULL,
    event_id        INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    discord_id      INTEGER,
    creating_at     TEXT,
    shown           TEXT    NOT NULL DEFAULT '{}',
    state           TEXT    NOT NULL DEFAULT 'live',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    PRIMARY KEY (guild_id, event_id)
) WITHOUT ROWID;
CREATE INDEX guild_events_live ON guild_events (state, next_attempt_at);

ALTER TABLE subscriptions ADD COLUMN threads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN thread_id INTEGER;
