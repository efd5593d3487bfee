-- Only the URL form can be restored: once in E.164, a number made by the original cannot be told
-- apart from one signed up later, so phone numbers stay as they are.
UPDATE creatives SET creative_url = '.' || creative_url WHERE creative_url LIKE '/uploads/%';
