#!/usr/bin/env bash
# Runs the forge binary that `npm ci` installed, from the contracts/ directory.
#
# Prefers the native binary inside the platform package (@foundry-rs/forge-<os>-<arch>): the
# node_modules/.bin/forge shim is a node process wrapping it. FORGE=/path overrides.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${FORGE:-}" ]]; then
    for candidate in "$ROOT"/node_modules/@foundry-rs/forge-*/bin/forge "$ROOT/node_modules/.bin/forge"; do
        if [[ -x "$candidate" ]]; then
            FORGE="$candidate"
            break
        fi
    done
fi
if [[ -z "${FORGE:-}" ]]; then
    echo "forge not found under $ROOT/node_modules: run \`npm ci\` in $ROOT first" >&2
    exit 1
fi
cd "$ROOT"
exec "$FORGE" "$@"
