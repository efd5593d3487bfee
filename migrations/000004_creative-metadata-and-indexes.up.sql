-- Rows made by the original keep NULL here: their type and size were never recorded.
ALTER TABLE creatives
    ADD COLUMN IF NOT EXISTS content_type text,
    ADD COLUMN IF NOT EXISTS size_bytes bigint;

-- The shared feed: one date at a time, oldest upload first.
CREATE INDEX IF NOT EXISTS creatives_feed_idx ON creatives (scheduled_at, created_at, id);
-- Own creatives: keyset pagination by (scheduled_at, id) per user.
CREATE INDEX IF NOT EXISTS creatives_user_schedule_idx ON creatives (user_id, scheduled_at, id);
-- Revoking all of a user's tokens, and sweeping expired ones.
CREATE INDEX IF NOT EXISTS tokens_user_id_idx ON tokens (user_id);
CREATE INDEX IF NOT EXISTS tokens_expiry_idx ON tokens (expiry);
