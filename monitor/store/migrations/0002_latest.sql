-- 0002: the newest stored date of every account, kept current by SaveDay
-- (and Prune), so that Latest reads one row per account instead of scanning
-- every stored day.
CREATE TABLE latest (
    account TEXT NOT NULL PRIMARY KEY,
    date    TEXT NOT NULL
) WITHOUT ROWID;

INSERT INTO latest (account, date)
    SELECT account, max(date) FROM scores GROUP BY account;
