-- Written by the console as it was at commit 39af5c2 (one decision per rule hit, one hit per case), before #15:
-- the cure-claim and T-shirt ads of tests/dashboards/test_db_migration.py, decided place by place.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE users (
    username TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(username),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE login_failures (
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE assignments (
    hit_id TEXT PRIMARY KEY,
    assignee TEXT NOT NULL,
    assigned_by TEXT NOT NULL,
    assigned_at TEXT NOT NULL
);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    hit_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    action TEXT NOT NULL,
    reason_code TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
INSERT INTO decisions VALUES(1,'e05884a4902c0ae6125a','ad17-disease-treatment','confirm','','治疗功效','rev','2026-12-06T01:46:29+00:00');
INSERT INTO decisions VALUES(2,'e995232ad1cbc367ca63','ad17-medical-terms','dismiss','false_match','','rev','2026-12-06T01:46:29+00:00');
INSERT INTO decisions VALUES(3,'69b060018dc61daa79f2','ad9-superlative','transfer','','A-2026-001','boss','2026-12-06T01:46:29+00:00');
CREATE TABLE cases (
    case_no TEXT PRIMARY KEY,
    hit_id TEXT NOT NULL,
    inspector TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    approved_by TEXT,
    approved_at TEXT
);
INSERT INTO cases VALUES('A-2026-001','69b060018dc61daa79f2','cop','证据齐全','approved','boss','2026-12-06T01:46:29+00:00','boss','2026-12-06T01:46:29+00:00');
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
INSERT INTO audit_log VALUES(1,'2026-12-06T01:46:29+00:00','rev','hit.confirm','e05884a4902c0ae6125a','治疗功效');
INSERT INTO audit_log VALUES(2,'2026-12-06T01:46:29+00:00','rev','hit.dismiss','e995232ad1cbc367ca63','false_match');
INSERT INTO audit_log VALUES(3,'2026-12-06T01:46:29+00:00','boss','case.request','A-2026-001','69b060018dc61daa79f2 → cop');
INSERT INTO audit_log VALUES(4,'2026-12-06T01:46:29+00:00','boss','case.approve','A-2026-001','69b060018dc61daa79f2');
CREATE INDEX login_failures_user ON login_failures(username, at);
CREATE INDEX assignments_assignee ON assignments(assignee);
CREATE INDEX decisions_hit ON decisions(hit_id, id);
CREATE INDEX cases_hit ON cases(hit_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
COMMIT;
