CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email_sha256 TEXT NOT NULL,
    city TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    recipient_sha256 TEXT NOT NULL,
    subject TEXT NOT NULL,
    city TEXT NOT NULL
);
