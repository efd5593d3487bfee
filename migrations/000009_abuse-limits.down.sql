DROP TABLE IF EXISTS recent_uploads;
DROP TABLE IF EXISTS sms_budget;
