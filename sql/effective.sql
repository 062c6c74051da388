-- metadata: effective resolution (DESIGN §3). Part of the extension script (see src/lib.rs for the order).
-- Every function here is SECURITY INVOKER: it reads and writes with the caller's rights.

CREATE FUNCTION metadata.effective(type text, name text, preview boolean DEFAULT false)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL RESTRICTED
RETURN metadata._effective(type, name, preview);
COMMENT ON FUNCTION metadata.effective(text, text, boolean) IS
  'Effective document of (type, name) for the caller (metadata.tenant_id, metadata.user_id): '
  'system global, platform global, platform of the tenant, user of the tenant for the user; '
  'the lowest layer applied is taken as stored, each further merge layer is an RFC 7396 merge '
  'patch, a replace layer discards what is below; starts from the extends parent when set. '
  'NULL when the item does not '
  'exist. preview => true uses draft rows. Errors: 22004 NULL type/name, 42P19 extends cycle, '
  '23503 missing extends parent, 54001 chain over 32.';

CREATE FUNCTION metadata.effective_all(type text, preview boolean DEFAULT false)
RETURNS TABLE (name text, doc jsonb)
LANGUAGE sql STABLE PARALLEL RESTRICTED ROWS 100
BEGIN ATOMIC
    SELECT e.name, e.doc FROM metadata._effective_all(type, preview) AS e;
END;
COMMENT ON FUNCTION metadata.effective_all(text, boolean) IS
  'Effective documents of every item of type visible to the caller, in name order, from one '
  'read of the table. Errors: as metadata.effective.';

CREATE FUNCTION metadata.explain(type text, name text, preview boolean DEFAULT false)
RETURNS TABLE (ordinal integer, item text, scope text, tenant_id text, owner text,
               strategy text, state text, version integer, extends text, checksum text,
               base_checksum text, stale boolean)
LANGUAGE sql STABLE PARALLEL RESTRICTED ROWS 4
BEGIN ATOMIC
    SELECT e.ordinal, e.item, e.scope, e.tenant_id, e.owner, e.strategy, e.state, e.version,
           e.extends, e.checksum, e.base_checksum, e.stale
    FROM metadata._explain(type, name, preview) AS e;
END;
COMMENT ON FUNCTION metadata.explain(text, text, boolean) IS
  'One row per layer applied to build the effective document, bottom first (layers of '
  'extends ancestors first, item names them). stale: the base_checksum the layer was written '
  'over differs from the checksum of what is below it now. Errors: as metadata.effective.';
