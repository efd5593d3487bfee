CREATE TABLE IF NOT EXISTS creatives (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    creative_url text NOT NULL,
    scheduled_at date NOT NULL,
    created_at timestamp(0) with time zone NOT NULL DEFAULT NOW()
);
