-- SMS_RESERVED_FOR_KNOWN_PERCENT: the hourly SMS budget is counted per share (known numbers, new
-- numbers, new numbers of one country calling code); rows named `alert:...` record that an alert
-- was logged this hour.
ALTER TABLE sms_budget ADD COLUMN IF NOT EXISTS share text NOT NULL DEFAULT 'all';
ALTER TABLE sms_budget DROP CONSTRAINT IF EXISTS sms_budget_pkey;
ALTER TABLE sms_budget ADD PRIMARY KEY (hour_start, share);

-- IMAGE_SECONDS_PER_USER_PER_HOUR: the processing time of each upload that reached the image
-- decoder, accepted or refused (a refused one is recorded too, so it counts toward
-- UPLOADS_PER_USER_PER_HOUR).
ALTER TABLE recent_uploads ADD COLUMN IF NOT EXISTS image_ms integer NOT NULL DEFAULT 0;
