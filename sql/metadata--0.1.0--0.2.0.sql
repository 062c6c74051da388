-- metadata 0.1.0 -> 0.2.0 (ALTER EXTENSION metadata UPDATE TO '0.2.0').
-- Every change to the extension's SQL objects since 0.1.0 is written here, in the same
-- commit as the change; tests/upgrade/upgrade.sh checks that a 0.1.0 database updated by
-- this script has the same catalog as a fresh CREATE EXTENSION of 0.2.0.
\echo Use "ALTER EXTENSION metadata UPDATE TO '0.2.0'" to load this file. \quit
