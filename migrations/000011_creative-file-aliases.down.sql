-- Loses every recorded old name: URLs served before a file was renamed answer 404 again.
DROP TRIGGER IF EXISTS creatives_record_file_aliases ON creatives;
DROP FUNCTION IF EXISTS record_creative_file_aliases();
DROP TABLE IF EXISTS creative_file_aliases;
