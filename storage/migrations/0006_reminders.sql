-- LaunchWatch schema, version 6: T-minus reminders.
--
-- subscriptions.reminders: the lead times a channel wants reminders at, in seconds before
-- liftoff, as a JSON list ('[86400, 3600]'); '[]' for none.
-- outbox.reminder: for kind = 'reminder', "<seconds>@<launch time>": one reminder per lead
-- time and launch time, so a slipped launch is reminded again and a plan repeated after a
-- crash never sends one twice.
ALTER TABLE subscriptions ADD COLUMN reminders TEXT NOT NULL DEFAULT '[]';
ALTER TABLE outbox ADD COLUMN reminder TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX outbox_one_reminder ON outbox (subscription_id, event_id, reminder)
    WHERE kind = 'reminder';
