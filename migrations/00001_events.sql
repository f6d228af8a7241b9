-- +goose Up
-- The event log: the only source of truth. Positions are global, dense and assigned in
-- commit order (appends hold a transaction-scoped advisory lock while they assign them).
CREATE TABLE events (
    position        bigint      PRIMARY KEY,
    id              uuid        NOT NULL UNIQUE,
    environment     text        NOT NULL,
    stream          text        NOT NULL,
    stream_version  bigint      NOT NULL CHECK (stream_version > 0),
    type            text        NOT NULL,
    schema_version  integer     NOT NULL CHECK (schema_version > 0),
    occurred_at     timestamptz NOT NULL,
    -- json (not jsonb) keeps the exact bytes that the hash chain covers.
    actor           json        NOT NULL,
    data            json        NOT NULL,
    hash            bytea       NOT NULL CHECK (length(hash) = 32),
    prev_hash       bytea       NOT NULL CHECK (length(prev_hash) = 32),
    UNIQUE (stream, stream_version)
);

CREATE INDEX events_environment_position ON events (environment, position);

-- The newest link of each environment's hash chain. Written only by the append
-- transaction; it lets verify notice a removed tail, and lets append find the previous hash.
CREATE TABLE environment_heads (
    environment text   PRIMARY KEY,
    position    bigint NOT NULL,
    hash        bytea  NOT NULL,
    events      bigint NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'paylent events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- +goose Down
DROP TABLE environment_heads;
DROP TABLE events;
DROP FUNCTION events_refuse_change();
