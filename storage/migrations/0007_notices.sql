-- LaunchWatch schema, version 7: status notices.
--
-- events.phase: the launch schedule's own status for the launch ("Go", "In Flight",
-- "Success" ...), NULL when the schedule never said; it tells Go and success apart from
-- the news' upcoming and launched.
-- subscriptions.notices: the status notices a channel gets as replies to an alert (JSON
-- list of go, hold, liftoff, outcome, time). Every existing channel keeps what it had:
-- hold, liftoff and outcome (the scrubbed, launched and failed follow-ups).
ALTER TABLE events ADD COLUMN phase TEXT;
ALTER TABLE subscriptions ADD COLUMN notices TEXT NOT NULL
    DEFAULT '["hold", "liftoff", "outcome"]';
