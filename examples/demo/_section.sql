-- Included by every section: a clean session state (settings and role back to the
-- login's, aligned output with headers).
RESET ALL;
RESET ROLE;
\pset format aligned
\pset tuples_only off
UNLISTEN *;
