-- LaunchWatch schema, version 2.
-- Every event change asks which subscriptions already have a post for that event
-- (storage/events.py, enqueue_deliveries). Without an index that is a scan of the whole
-- outbox, which keeps one row per subscription per event: at 10,000 channels, 100 events
-- are a million rows scanned for every launch article ingested.
CREATE INDEX outbox_event ON outbox (event_id, kind);
