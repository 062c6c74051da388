#!/usr/bin/env bash
# The demo's command-line section (examples/demo/17_cli.sql runs it): `metadata pull` of
# tenant acme's view into a git repository, an edit, `metadata diff`, `metadata push`.
# DEMO_CLI is the built binary, DEMO_DIR a scratch directory; the connection comes from
# the PG* variables of the demo's cluster.
set -euo pipefail
repo=$DEMO_DIR/repo
cli() { "$DEMO_CLI" --tenant acme "$@"; }
git init -q "$repo"
echo '$ metadata --tenant acme pull repo/metadata'
cli pull "$repo/metadata"
git -C "$repo" add -A
git -C "$repo" -c user.email=demo@example -c user.name=demo commit -qm "pulled"
# (awk reads all its input: `| head -1` could end the script by SIGPIPE under pipefail.)
first() { awk -v re="$1" '$0 ~ re && !done { print; done = 1 }'; }
echo "  $(git -C "$repo" ls-files | wc -l) files, e.g. $(git -C "$repo" ls-files | first 'platform[.]acme')"
file=$(git -C "$repo" ls-files | first '^metadata/object/.*[.]platform[.]acme[.]json$')
python3 - "$repo/$file" <<'PY'
import json, sys
item = json.load(open(sys.argv[1]))
item["metadata"]["label"] = "Edited in git"
open(sys.argv[1], "w").write(json.dumps(item, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
PY
echo "\$ git diff --stat   (after editing the label in $file)"
git -C "$repo" diff --stat | sed 's/^/  /'
echo '$ metadata --tenant acme diff repo/metadata'
cli diff "$repo/metadata" | sed 's/^/  /'
echo '$ metadata --tenant acme push repo/metadata'
cli push "$repo/metadata" | sed 's/^/  /'
echo '$ metadata --tenant acme push repo/metadata   (again: nothing to do)'
cli push "$repo/metadata" | sed 's/^/  /'
echo '$ metadata status | tail -3'
cli status | tail -3 | sed 's/^/  /'
