-- A URL that has been served keeps serving: when a creative's file gets a new name (the backfill,
-- a later reprocessing), its old name is kept here and GET /uploads/<old name> answers with the
-- file the creative has now. A trigger rather than application code, so that every path that
-- renames a file (any release's, or an operator's UPDATE) records it.
CREATE TABLE IF NOT EXISTS creative_file_aliases (
    name text PRIMARY KEY,
    creative_id bigint NOT NULL REFERENCES creatives ON DELETE CASCADE,
    file text NOT NULL CHECK (file IN ('original', 'thumb', 'feed')),
    created_at timestamp(0) with time zone NOT NULL DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS creative_file_aliases_creative_idx ON creative_file_aliases (creative_id);

CREATE OR REPLACE FUNCTION record_creative_file_aliases() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_name text;
    new_name text;
    file text;
BEGIN
    FOREACH file IN ARRAY ARRAY['original', 'thumb', 'feed'] LOOP
        old_name := substring((CASE file WHEN 'original' THEN OLD.creative_url WHEN 'thumb' THEN OLD.thumb_url ELSE OLD.feed_url END) from '[^/]+$');
        new_name := substring((CASE file WHEN 'original' THEN NEW.creative_url WHEN 'thumb' THEN NEW.thumb_url ELSE NEW.feed_url END) from '[^/]+$');
        IF old_name IS NOT NULL AND new_name IS DISTINCT FROM old_name THEN
            INSERT INTO creative_file_aliases (name, creative_id, file) VALUES (old_name, NEW.id, file)
            ON CONFLICT (name) DO NOTHING;
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;

CREATE TRIGGER creatives_record_file_aliases
    AFTER UPDATE OF creative_url, thumb_url, feed_url ON creatives
    FOR EACH ROW EXECUTE FUNCTION record_creative_file_aliases();
