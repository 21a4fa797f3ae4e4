-- 0004: the history of every alert (fired, reminded, escalated, resolved)
-- and of the IP pools of every subuser,
-- for the status page. The alerts table keeps only the current state of
-- each alert; these triggers append a row to alert_events whenever a saved
-- state is a step in an alert's life, so that whoever saves alert states
-- (SaveAlerts, any notifier) records the history without knowing about it.
--
-- at is Unix nanoseconds: first_fired for a firing, last_notified for a
-- reminder or escalation (the monitor's clock), the time of the write for a
-- resolution (the alerts table keeps no resolution time).
CREATE TABLE alert_events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT    NOT NULL CHECK (kind IN ('fired', 'reminded', 'escalated', 'resolved')),
    key      TEXT    NOT NULL,
    account  TEXT    NOT NULL,
    rule     TEXT    NOT NULL,
    metric   TEXT    NOT NULL DEFAULT '',
    severity TEXT    NOT NULL,
    date     TEXT    NOT NULL DEFAULT '',
    at       INTEGER NOT NULL,
    message  TEXT    NOT NULL DEFAULT '',
    advice   TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX alert_events_by_account ON alert_events (account, id);

-- The alerts firing when this migration runs start their history.
INSERT INTO alert_events (kind, key, account, rule, metric, severity, date, at, message, advice)
    SELECT 'fired', key, account, rule, metric, severity, date, first_fired, message, advice
    FROM alerts WHERE state = 'firing' ORDER BY first_fired, key;

-- A new alert, or one back before its resolution went out: a new episode.
CREATE TRIGGER alert_events_fired_insert AFTER INSERT ON alerts
WHEN NEW.state = 'firing'
BEGIN
    INSERT INTO alert_events (kind, key, account, rule, metric, severity, date, at, message, advice)
    VALUES ('fired', NEW.key, NEW.account, NEW.rule, NEW.metric, NEW.severity, NEW.date,
            CASE WHEN NEW.first_fired > 0 THEN NEW.first_fired
                 ELSE CAST(unixepoch('subsec') * 1000 AS INTEGER) * 1000000 END,
            NEW.message, NEW.advice);
END;

CREATE TRIGGER alert_events_fired_update AFTER UPDATE ON alerts
WHEN OLD.state = 'resolved' AND NEW.state = 'firing'
BEGIN
    INSERT INTO alert_events (kind, key, account, rule, metric, severity, date, at, message, advice)
    VALUES ('fired', NEW.key, NEW.account, NEW.rule, NEW.metric, NEW.severity, NEW.date,
            CASE WHEN NEW.first_fired > 0 THEN NEW.first_fired
                 ELSE CAST(unixepoch('subsec') * 1000 AS INTEGER) * 1000000 END,
            NEW.message, NEW.advice);
END;

-- A still-firing alert delivered again: a reminder, or an escalation when
-- the delivered severity rose.
CREATE TRIGGER alert_events_notified_again AFTER UPDATE ON alerts
WHEN OLD.state = 'firing' AND NEW.state = 'firing'
 AND OLD.last_notified > 0 AND NEW.last_notified > OLD.last_notified
BEGIN
    INSERT INTO alert_events (kind, key, account, rule, metric, severity, date, at, message, advice)
    VALUES (CASE WHEN (CASE NEW.notified_severity WHEN 'info' THEN 1 WHEN 'warning' THEN 2 WHEN 'critical' THEN 3 ELSE 0 END)
                    > (CASE OLD.notified_severity WHEN 'info' THEN 1 WHEN 'warning' THEN 2 WHEN 'critical' THEN 3 ELSE 0 END)
                 THEN 'escalated' ELSE 'reminded' END,
            NEW.key, NEW.account, NEW.rule, NEW.metric, NEW.severity, NEW.date, NEW.last_notified,
            NEW.message, NEW.advice);
END;

-- A firing alert that stopped holding: stored as a pending resolution, or
-- deleted (its resolution delivered, or it cleared before any delivery).
CREATE TRIGGER alert_events_resolved_update AFTER UPDATE ON alerts
WHEN OLD.state = 'firing' AND NEW.state = 'resolved'
BEGIN
    INSERT INTO alert_events (kind, key, account, rule, metric, severity, date, at, message, advice)
    VALUES ('resolved', NEW.key, NEW.account, NEW.rule, NEW.metric, NEW.severity, NEW.date,
            CAST(unixepoch('subsec') * 1000 AS INTEGER) * 1000000, NEW.message, NEW.advice);
END;

CREATE TRIGGER alert_events_resolved_delete AFTER DELETE ON alerts
WHEN OLD.state = 'firing'
BEGIN
    INSERT INTO alert_events (kind, key, account, rule, metric, severity, date, at, message, advice)
    VALUES ('resolved', OLD.key, OLD.account, OLD.rule, OLD.metric, OLD.severity, OLD.date,
            CAST(unixepoch('subsec') * 1000 AS INTEGER) * 1000000, OLD.message, OLD.advice);
END;

-- Which IP pools each subuser sent through, as the monitor saw it when it
-- read the pool layout (the IPs API gives only the current layout): one row
-- per run of readings with the same pools. pools is a JSON array of the
-- sorted pool names ("[]": an IP in no pool).
CREATE TABLE pool_history (
    account    TEXT    NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    pools      TEXT    NOT NULL,
    PRIMARY KEY (account, first_seen)
) WITHOUT ROWID;
