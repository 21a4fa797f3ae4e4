-- 0003: scores keyed by (date, account) instead of (account, date).
--
-- A sweep saves one date for every account in one transaction. Keyed by
-- account first, those rows landed on a different B-tree page each, so a
-- save of 10,000 accounts rewrote ~10,000 pages (40 MB of WAL). Keyed by
-- date first, one date's rows are contiguous and a save appends a few
-- hundred pages. One account's history is read with one key lookup per day
-- (see History), so no (account, date) index is kept: it would bring the
-- scattered writes back.
--
-- latest.scored is the newest date the account had a score (NULL: never),
-- kept by SaveDay and Prune like latest.date; the rules read that day so that
-- a long run of ineligible days stays "no score for N days".
CREATE TABLE scores_new (
    date                  TEXT    NOT NULL CHECK (length(date) = 10),
    account               TEXT    NOT NULL CHECK (account <> ''),
    user_id               TEXT    NOT NULL DEFAULT '',
    score                 REAL,
    engagement_recency    REAL,
    open_rate             REAL,
    bounce_classification REAL,
    bounce_rate           REAL,
    spam_rate             REAL,
    fetched_at            INTEGER NOT NULL,
    PRIMARY KEY (date, account),
    -- the five metrics are stored together or not at all
    CHECK ((engagement_recency IS NULL) = (open_rate IS NULL)
       AND (open_rate IS NULL) = (bounce_classification IS NULL)
       AND (bounce_classification IS NULL) = (bounce_rate IS NULL)
       AND (bounce_rate IS NULL) = (spam_rate IS NULL))
) WITHOUT ROWID;

INSERT INTO scores_new (date, account, user_id, score, engagement_recency, open_rate,
        bounce_classification, bounce_rate, spam_rate, fetched_at)
    SELECT date, account, user_id, score, engagement_recency, open_rate,
        bounce_classification, bounce_rate, spam_rate, fetched_at
    FROM scores ORDER BY date, account;

DROP INDEX scores_by_date;
DROP TABLE scores;
ALTER TABLE scores_new RENAME TO scores;

ALTER TABLE latest ADD COLUMN scored TEXT;

UPDATE latest SET scored = m.d
    FROM (SELECT account, max(date) AS d FROM scores WHERE score IS NOT NULL GROUP BY account) AS m
    WHERE m.account = latest.account;
