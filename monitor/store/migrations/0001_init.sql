-- 0001: the initial schema of the sgseq monitor store.
--
-- Dates are TEXT "YYYY-MM-DD" (UTC days; they sort as text). Instants are
-- INTEGER Unix nanoseconds (UTC). A NULL score is an ineligible day, never 0.

-- One row per account and scored day. account is a subuser's username or
-- "(parent)".
CREATE TABLE scores (
    account               TEXT    NOT NULL CHECK (account <> ''),
    date                  TEXT    NOT NULL CHECK (length(date) = 10),
    user_id               TEXT    NOT NULL DEFAULT '',
    score                 REAL,
    engagement_recency    REAL,
    open_rate             REAL,
    bounce_classification REAL,
    bounce_rate           REAL,
    spam_rate             REAL,
    fetched_at            INTEGER NOT NULL,
    PRIMARY KEY (account, date),
    -- the five metrics are stored together or not at all
    CHECK ((engagement_recency IS NULL) = (open_rate IS NULL)
       AND (open_rate IS NULL) = (bounce_classification IS NULL)
       AND (bounce_classification IS NULL) = (bounce_rate IS NULL)
       AND (bounce_rate IS NULL) = (spam_rate IS NULL))
) WITHOUT ROWID;

CREATE INDEX scores_by_date ON scores (date);

-- A (scope, date) pair whose scores were fetched completely and saved.
CREATE TABLE completed_dates (
    scope        TEXT    NOT NULL CHECK (scope IN ('parent', 'subusers')),
    date         TEXT    NOT NULL CHECK (length(date) = 10),
    completed_at INTEGER NOT NULL,
    PRIMARY KEY (scope, date)
) WITHOUT ROWID;

-- The lifecycle state of every alert that fires or awaits its resolution
-- message. last_notified 0 = never notified in its current state.
CREATE TABLE alerts (
    key               TEXT    NOT NULL PRIMARY KEY CHECK (key <> ''),
    account           TEXT    NOT NULL,
    rule              TEXT    NOT NULL,
    metric            TEXT    NOT NULL DEFAULT '',
    severity          TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('firing', 'resolved')),
    date              TEXT    NOT NULL DEFAULT '',
    from_value        REAL,
    to_value          REAL,
    since             TEXT    NOT NULL DEFAULT '',
    message           TEXT    NOT NULL DEFAULT '',
    advice            TEXT    NOT NULL DEFAULT '',
    first_fired       INTEGER NOT NULL,
    last_notified     INTEGER NOT NULL DEFAULT 0,
    notified_severity TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- One row per sweep. finished NULL = still running (or killed); err '' with
-- finished set = success.
CREATE TABLE sweeps (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    started  INTEGER NOT NULL,
    finished INTEGER,
    err      TEXT    NOT NULL DEFAULT ''
);
