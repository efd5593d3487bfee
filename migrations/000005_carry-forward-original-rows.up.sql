-- The original stored 10 national digits and always sent SMS to +91: make them E.164 so those
-- people keep their accounts. A number already present in E.164 form is left alone (unique key).
UPDATE users SET phone_number = '+91' || phone_number
WHERE phone_number ~ '^[0-9]{10}$'
  AND NOT EXISTS (SELECT 1 FROM users AS e164 WHERE e164.phone_number = '+91' || users.phone_number);

-- The original stored a server path; clients fetch /uploads/<name>.
UPDATE creatives SET creative_url = '/uploads/' || substr(creative_url, length('./uploads/') + 1)
WHERE creative_url LIKE './uploads/%';
