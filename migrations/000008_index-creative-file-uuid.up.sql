-- The orphan sweep asks which stored files some row names. Every file of a creative (the image and
-- its variants) starts with the creative's uuid, so rows are looked up by the uuid in creative_url.
CREATE INDEX IF NOT EXISTS creatives_file_uuid_idx ON creatives (lower(substring(creative_url from '([0-9A-Fa-f-]{36})[^/]*$')));
