-- Bench only (bench/save.sh): the data of the save cases, and the baseline a user writes
-- without the extension. psql variable writers: the number of clients (items).
CREATE EXTENSION metadata;
CREATE SCHEMA bench;

-- A 40-field object document, the shape of a real CRM object.
CREATE TABLE bench.doc AS
SELECT jsonb_build_object(
         'name', 'save_item', 'label', 'Saved item',
         'fields', (SELECT jsonb_object_agg('field_' || i, jsonb_build_object(
                              'type', CASE WHEN i % 3 = 0 THEN 'select' ELSE 'text' END,
                              'label', 'Field ' || i, 'required', i % 5 = 0,
                              'maxLength', 255))
                    FROM generate_series(1, 40) AS i)) AS doc;

-- Each client's item: a system base, a platform overlay of tenant acme, a user overlay of
-- u42 (each a 40-field document).
SELECT count(metadata.save('object', 'save_' || c, (SELECT doc FROM bench.doc), scope => 'system'))
FROM generate_series(1, :writers) AS c;
SET metadata.tenant_id = 'acme';
SET metadata.user_id = 'u42';
SELECT count(metadata.save('object', 'save_' || c, (SELECT doc FROM bench.doc)))
FROM generate_series(1, :writers) AS c;
SELECT count(metadata.save('object', 'save_' || c, (SELECT doc FROM bench.doc), scope => 'user'))
FROM generate_series(1, :writers) AS c;
RESET metadata.tenant_id;
RESET metadata.user_id;

-- The baseline: a table with the columns of metadata.sys_metadata, one row per layer key,
-- and a PL/pgSQL trigger writing a history row for every insert and update.
CREATE TABLE bench.plain (LIKE metadata.sys_metadata INCLUDING DEFAULTS);
ALTER TABLE bench.plain ALTER COLUMN name TYPE text, ALTER COLUMN namespace TYPE text,
                        ALTER COLUMN extends TYPE text;
CREATE UNIQUE INDEX ON bench.plain (tenant_id, type, name, scope, owner) NULLS NOT DISTINCT;
CREATE TABLE bench.plain_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id uuid NOT NULL, op text NOT NULL, version integer NOT NULL,
    metadata jsonb NOT NULL, changed_by text NOT NULL, changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION bench.plain_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench.plain_history (item_id, op, version, metadata, changed_by)
    VALUES (NEW.id, lower(TG_OP), NEW.version, NEW.metadata, current_user);
    RETURN NULL;
END $$;
CREATE TRIGGER plain_history AFTER INSERT OR UPDATE ON bench.plain
    FOR EACH ROW EXECUTE FUNCTION bench.plain_history();
INSERT INTO bench.plain (tenant_id, type, name, scope, metadata)
SELECT 'acme', 'object', 'save_' || c, 'platform', (SELECT doc FROM bench.doc)
FROM generate_series(1, :writers) AS c;
