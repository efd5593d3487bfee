DROP INDEX IF EXISTS tokens_expiry_idx;
DROP INDEX IF EXISTS tokens_user_id_idx;
DROP INDEX IF EXISTS creatives_user_schedule_idx;
DROP INDEX IF EXISTS creatives_feed_idx;
ALTER TABLE creatives DROP COLUMN IF EXISTS size_bytes, DROP COLUMN IF EXISTS content_type;
