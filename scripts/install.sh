#!/usr/bin/env bash
# Installs the extension into the system PostgreSQL 15 (scripts/setup.sh first): the
# library, the control file, the current version's install script, every frozen release's
# install script (sql/releases/) and the upgrade scripts (sql/metadata--A--B.sql). Then
# `CREATE EXTENSION metadata` installs the current version and `ALTER EXTENSION metadata
# UPDATE` brings a database of any release to it. Restart the server (or open new
# connections) to load a replaced library.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$ROOT/scripts/setup.sh"
install_extension
echo "installed metadata $(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -1) into $("$PG_CONFIG" --pkglibdir) and $("$PG_CONFIG" --sharedir)/extension"
