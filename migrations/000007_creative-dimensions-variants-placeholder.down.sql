DROP INDEX IF EXISTS creatives_unprocessed_idx;
ALTER TABLE creatives DROP CONSTRAINT IF EXISTS creatives_processed_together;
ALTER TABLE creatives
    DROP COLUMN IF EXISTS placeholder,
    DROP COLUMN IF EXISTS feed_url,
    DROP COLUMN IF EXISTS thumb_url,
    DROP COLUMN IF EXISTS height,
    DROP COLUMN IF EXISTS width;
