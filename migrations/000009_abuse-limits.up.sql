-- SMS_PER_HOUR without Redis: codes handed to the instances in each clock hour (last_grant: how
-- many the latest request took), and whether the operator has been alerted that it is spent.
CREATE TABLE IF NOT EXISTS sms_budget (
    hour_start timestamp with time zone PRIMARY KEY,
    sent integer NOT NULL,
    last_grant integer NOT NULL,
    alerted boolean NOT NULL DEFAULT false
);

-- UPLOADS_PER_USER_PER_HOUR: accepted uploads, kept apart from creatives so that deleting a
-- creative frees quota but not the hourly allowance. Rows older than an hour are swept.
CREATE TABLE IF NOT EXISTS recent_uploads (
    user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    uploaded_at timestamp with time zone NOT NULL
);
CREATE INDEX IF NOT EXISTS recent_uploads_user_idx ON recent_uploads (user_id, uploaded_at);
CREATE INDEX IF NOT EXISTS recent_uploads_uploaded_at_idx ON recent_uploads (uploaded_at);
