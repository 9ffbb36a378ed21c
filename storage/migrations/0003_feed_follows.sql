-- LaunchWatch schema, version 3: a feed is followed, not owned.
--
-- Until now a feed added by a server belonged to it (feeds.guild_id): a second server
-- could not add the same URL and learnt that someone had. Now a feed row is one URL,
-- fetched once; each server's link to it is a row of its own in feed_follows, and a
-- server can mute a built-in feed for itself in feed_mutes.
--
-- * Every server-owned feed becomes a feed that server follows.
-- * A global feed added by the operator (`launchwatch feeds add`) is marked
--   operator_added; with is_default (the configured list) these are the built-in feeds.
-- * Events found in a server's own feed were scoped to that server (events.scope =
--   guild id); they are now scoped to the feed (scope = -feed id), so every server
--   following it sees them. Scope 0 (global) is unchanged.
-- * feeds.guild_id is no longer read; it stays so that old rows keep their values.
-- * orphaned_at: when the last server stopped following a feed that is not built in;
--   such a feed is no longer polled and is deleted after a while.

ALTER TABLE feeds ADD COLUMN operator_added INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN orphaned_at TEXT;

CREATE TABLE feed_follows (
    guild_id   INTEGER NOT NULL,
    feed_id    INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, feed_id)
) WITHOUT ROWID;
CREATE INDEX feed_follows_feed ON feed_follows (feed_id);

CREATE TABLE feed_mutes (
    guild_id   INTEGER NOT NULL,
    feed_id    INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, feed_id)
) WITHOUT ROWID;

INSERT INTO feed_follows (guild_id, feed_id, created_at)
    SELECT guild_id, id, created_at FROM feeds WHERE guild_id IS NOT NULL;

UPDATE feeds SET operator_added = 1 WHERE guild_id IS NULL AND is_default = 0;

UPDATE events SET scope = -(
    SELECT MIN(s.feed_id) FROM event_sources s
    JOIN feeds f ON f.id = s.feed_id
    WHERE s.event_id = events.id AND f.guild_id = events.scope
)
WHERE scope != 0 AND EXISTS (
    SELECT 1 FROM event_sources s JOIN feeds f ON f.id = s.feed_id
    WHERE s.event_id = events.id AND f.guild_id = events.scope
);
