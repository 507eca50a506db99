-- Written by the console as it was at commit 39af5c2 (one decision per rule hit, one hit per case), before #15:
-- the cure-claim and T-shirt ads of tests/dashboards/test_db_migration.py, decided place by place.
UPDATE hits SET review_status = 'transferred', reviewer = 'boss', review_reason = '移送稽查 A-2026-001', reviewed_at = '2026-12-06T01:46:29+00:00' WHERE id = '69b060018dc61daa79f2';
UPDATE hits SET review_status = 'confirmed', reviewer = 'rev', review_reason = '治疗功效', reviewed_at = '2026-12-06T01:46:29+00:00' WHERE id = 'e05884a4902c0ae6125a';
UPDATE hits SET review_status = 'dismissed', reviewer = 'rev', review_reason = '误报（词语误匹配）', reviewed_at = '2026-12-06T01:46:29+00:00' WHERE id = 'e995232ad1cbc367ca63';
