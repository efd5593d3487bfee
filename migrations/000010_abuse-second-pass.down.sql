ALTER TABLE recent_uploads DROP COLUMN IF EXISTS image_ms;
DELETE FROM sms_budget WHERE share <> 'all';
ALTER TABLE sms_budget DROP CONSTRAINT IF EXISTS sms_budget_pkey;
ALTER TABLE sms_budget DROP COLUMN IF EXISTS share;
ALTER TABLE sms_budget ADD PRIMARY KEY (hour_start);
