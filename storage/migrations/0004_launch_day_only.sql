-- LaunchWatch schema, version 4.
-- A launch time is only as precise as the news: "launches on 29 April" is a day, not
-- 00:00 UTC that day. launch_day_only = 1 marks a launch_time that stands for its whole
-- UTC day; it is shown as a date, never as a clock time.
ALTER TABLE events ADD COLUMN launch_day_only INTEGER NOT NULL DEFAULT 0;
-- Before this version a date alone was stored as midnight UTC: read midnight as a day
-- (a launch at exactly 00:00:00.000000 UTC is rare; showing its day is not wrong).
UPDATE events SET launch_day_only = 1 WHERE launch_time LIKE '%T00:00:00.000000+00:00';
