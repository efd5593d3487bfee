DROP TABLE IF EXISTS otp_challenges;
