-- Grants a deployment makes on the extension's objects (applied to the upgraded database
-- and, for the catalog comparison, to the fresh one): they must survive the update.
GRANT USAGE ON SCHEMA metadata TO upgrade_auditor;
GRANT SELECT ON metadata.sys_metadata_history TO upgrade_auditor;
GRANT EXECUTE ON FUNCTION metadata.effective(text, text, boolean) TO upgrade_auditor;
