-- LaunchWatch schema, version 5: the launch schedule.
--
-- schedule_launches: the launches the schedule (Launch Library 2) lists, one row per launch
-- id, replaced by each newer read. Times are UTC ISO text like every other table.
-- schedule_requests: when each request to the schedule went out. The budget (15 an hour
-- on the free tier) counts these, so a restart never spends the same hour twice.
CREATE TABLE schedule_launches (
    id            TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    net           TEXT    NOT NULL,
    net_precision TEXT    NOT NULL,
    window_start  TEXT,
    window_end    TEXT,
    vehicle       TEXT,
    provider      TEXT,
    mission       TEXT,
    pad           TEXT,
    location      TEXT,
    crewed        INTEGER,
    probability   INTEGER,
    webcast_live  INTEGER NOT NULL DEFAULT 0,
    webcasts      TEXT    NOT NULL DEFAULT '[]',
    last_updated  TEXT,
    fetched_at    TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX schedule_launches_net ON schedule_launches (net);

CREATE TABLE schedule_requests (
    at     TEXT    NOT NULL,
    kind   TEXT    NOT NULL,
    result TEXT    NOT NULL
);
CREATE INDEX schedule_requests_at ON schedule_requests (at);
