#!/usr/bin/env bash
# Runs every test of the project: the Solidity suite (forge), the generated-verifier and
# artifact freshness checks, and the Rust workspace including the full flow against Anvil.
# Installs what it needs first (forge/anvil/cast and solc from npm; nothing else).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> installing the Solidity toolchain from npm (contracts/node_modules)"
./scripts/setup.sh

echo "==> generated verifiers and pinned verifying keys are up to date"
cargo run --quiet -p circuits --bin keygen -- --check

echo "==> forge tests"
contracts/tools/forge.sh test

echo "==> determinism across build profiles: the pinned per-rule roots in release too"
cargo test --quiet --release -p step-vm --test determinism

echo "==> Rust tests (workspace, including the Anvil full-flow test and the artifact freshness check)"
export ANVIL_BIN="$PWD/contracts/node_modules/.bin/anvil"
cargo test --workspace --no-fail-fast -- --include-ignored
