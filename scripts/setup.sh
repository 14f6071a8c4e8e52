#!/usr/bin/env bash
# Installs the Solidity toolchain into contracts/node_modules (idempotent): forge, anvil and
# cast 1.7.1 (native binaries shipped in npm packages) and solc (solcjs) behind tools/solc.
set -euo pipefail
cd "$(dirname "$0")/../contracts"
if [ ! -x node_modules/.bin/forge ] || [ ! -x node_modules/.bin/anvil ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
