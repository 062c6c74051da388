-- metadata 0.1.0 -> 0.2.0 (ALTER EXTENSION metadata UPDATE TO '0.2.0').
-- Every change to the extension's SQL objects since 0.1.0 is written here, in the same
-- commit as the change; tests/upgrade/upgrade.sh checks that a 0.1.0 database updated by
-- this script has the same catalog as a fresh CREATE EXTENSION of 0.2.0.
\echo Use "ALTER EXTENSION metadata UPDATE TO '0.2.0'" to load this file. \quit

-- Each SQL-callable Rust function is now named as its SQL function, and binds the symbol
-- of that name (src/pg/legacy.rs keeps 0.1.0's symbols for 0.1.0 install scripts).
CREATE OR REPLACE FUNCTION metadata._below_checksum(type_name text, name text, scope text, tenant text,
                                                    owner text, extends text) RETURNS text
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_below_checksum_wrapper';
CREATE OR REPLACE FUNCTION metadata._builtin_types()
RETURNS TABLE (name text, domain text, schema jsonb, reference_paths jsonb, locked_paths text[])
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_builtin_types_wrapper';
CREATE OR REPLACE FUNCTION metadata._canonical(doc text) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_canonical_wrapper';
CREATE OR REPLACE FUNCTION metadata._check_references(type_name text, name text, tenant text, owner text)
RETURNS void VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', '_check_references_wrapper';
CREATE OR REPLACE FUNCTION metadata._check_schema(type_name text, schema text) RETURNS void
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_check_schema_wrapper';
CREATE OR REPLACE FUNCTION metadata._check_write(type_name text, name text, scope text, tenant text,
                                                 owner text, extends text, draft boolean) RETURNS void
VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', '_check_write_wrapper';
CREATE OR REPLACE FUNCTION metadata._checksum(doc text) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_checksum_wrapper';
CREATE OR REPLACE FUNCTION metadata._diff(a text, b text) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_diff_wrapper';
CREATE OR REPLACE FUNCTION metadata._document_checksum(doc text) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_document_checksum_wrapper';
CREATE OR REPLACE FUNCTION metadata._effective(type_name text, name text, preview boolean) RETURNS jsonb
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_effective_wrapper';
CREATE OR REPLACE FUNCTION metadata._effective_all(type_name text, preview boolean)
RETURNS TABLE (name text, doc jsonb)
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_effective_all_wrapper';
CREATE OR REPLACE FUNCTION metadata._explain(type_name text, name text, preview boolean)
RETURNS TABLE (ordinal integer, item text, scope text, tenant_id text, owner text, strategy text,
               state text, version integer, extends text, checksum text, base_checksum text, stale boolean)
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_explain_wrapper';
CREATE OR REPLACE FUNCTION metadata._is_valid(type_name text, doc text) RETURNS boolean
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_is_valid_wrapper';
CREATE OR REPLACE FUNCTION metadata._merge_patch(target text, patch text) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_merge_patch_wrapper';
CREATE OR REPLACE FUNCTION metadata._validate(type_name text, doc text) RETURNS jsonb
STABLE PARALLEL RESTRICTED LANGUAGE c AS 'MODULE_PATHNAME', '_validate_wrapper';
