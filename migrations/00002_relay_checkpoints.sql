-- +goose Up
-- Where the relay got to: a cursor, not state. The JetStream stream's last message is the
-- primary checkpoint; this row is the floor when the stream holds no messages (retention).
CREATE TABLE relay_checkpoints (
    name       text        PRIMARY KEY,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE relay_checkpoints;
