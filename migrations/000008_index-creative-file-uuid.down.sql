DROP INDEX IF EXISTS creatives_file_uuid_idx;
