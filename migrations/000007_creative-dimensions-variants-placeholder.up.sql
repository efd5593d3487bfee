-- Filled in at upload, or by `npm run creatives:backfill` for older rows (the original's included):
-- all four are set together, or none is.
ALTER TABLE creatives
    ADD COLUMN IF NOT EXISTS width integer,
    ADD COLUMN IF NOT EXISTS height integer,
    ADD COLUMN IF NOT EXISTS thumb_url text,
    ADD COLUMN IF NOT EXISTS feed_url text,
    ADD COLUMN IF NOT EXISTS placeholder text;

ALTER TABLE creatives DROP CONSTRAINT IF EXISTS creatives_processed_together;
ALTER TABLE creatives ADD CONSTRAINT creatives_processed_together CHECK (
    (width IS NULL) = (height IS NULL)
    AND (width IS NULL) = (thumb_url IS NULL)
    AND (width IS NULL) = (feed_url IS NULL)
    AND (width IS NULL) = (placeholder IS NULL)
);

-- The backfill walks the rows still to do, by id.
CREATE INDEX IF NOT EXISTS creatives_unprocessed_idx ON creatives (id) WHERE width IS NULL;
