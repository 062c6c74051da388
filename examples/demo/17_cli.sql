-- Demo section (scripts/demo.sh runs the files of examples/demo in order, in one psql
-- session): the `metadata` command line (cli/), round-tripping through git.
\ir _section.sql
\echo
\echo '== metadata-as-code: the metadata command line pulls into git, diffs and pushes (examples/demo/cli.sh)'
\! bash "$DEMO_CLI_SCRIPT"
