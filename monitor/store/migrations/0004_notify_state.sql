-- 0004: what the notifier sent besides alerts, kept like the alert states
-- so that a cron setup does not repeat it every run: the proposed IP-pool
-- moves last delivered (one row per subuser), and the monitor's own marks
-- (the time of the first check, which says whether a check is the first).
CREATE TABLE pool_moves (
    username  TEXT    NOT NULL PRIMARY KEY,
    from_tier TEXT    NOT NULL,
    to_tier   TEXT    NOT NULL,
    from_pool TEXT    NOT NULL,
    to_pool   TEXT    NOT NULL,
    reason    TEXT    NOT NULL,
    sent_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE monitor_marks (
    name TEXT    NOT NULL PRIMARY KEY,
    at   INTEGER NOT NULL
) WITHOUT ROWID;
