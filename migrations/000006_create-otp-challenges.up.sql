-- Pending OTP challenges when Redis is not configured (also what several instances share then).
-- Only an HMAC of the code is kept; `id` tells a challenge from the one that replaced it, so a
-- verification that raced with a new request cannot consume or count against the new one.
CREATE TABLE IF NOT EXISTS otp_challenges (
    phone_number text PRIMARY KEY,
    id uuid NOT NULL,
    code_hash bytea NOT NULL,
    name text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamp with time zone NOT NULL DEFAULT NOW(),
    expires_at timestamp with time zone NOT NULL
);

-- The periodic sweep of expired challenges.
CREATE INDEX IF NOT EXISTS otp_challenges_expires_at_idx ON otp_challenges (expires_at);
