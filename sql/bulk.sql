-- metadata: bulk_save (DESIGN §4). Part of the extension script (see src/lib.rs for the
-- order). A thin wrapper of src/pg/bulk.rs; SECURITY INVOKER: it writes with the caller's
-- rights.

CREATE FUNCTION metadata.bulk_save(items jsonb, continue_on_error boolean DEFAULT false)
RETURNS jsonb
LANGUAGE sql VOLATILE
RETURN metadata._bulk_save(items, continue_on_error);
COMMENT ON FUNCTION metadata.bulk_save(jsonb, boolean) IS
  'Saves a JSON array of items {type, name, metadata, scope?, owner?, strategy?, state?, '
  'extends?, namespace?, tags?, expected_version?, expected_checksum?, on_conflict?, source?, '
  'managed_by?, package_id?, package_version?, change_note?} (the items of a bundle) and '
  'returns {total, succeeded, failed, errors[]}. Without continue_on_error it is all or '
  'nothing: the first failure raises its own SQLSTATE, the message naming the item as '
  '/index. With it, each item is saved on its own and failures are listed as {index, '
  'pointer, type, name, sqlstate, message, detail}. Errors: 22004 NULL items, 22023 not an '
  'array, an unknown item key, tags not an array of strings.';
