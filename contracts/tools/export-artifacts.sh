#!/usr/bin/env bash
# Builds the contracts and writes the trimmed artifacts the Rust bindings (`sol!`) are
# generated from: artifacts/<Name>.json = { abi, bytecode: {object}, deployedBytecode: {object} }.
# Output is stable (fixed key order, 2-space indentation, trailing newline) and, with
# bytecode_hash = "none" and cbor_metadata = false, byte-identical across fresh builds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/tools/forge.sh" build >/dev/null
cd "$ROOT"
mkdir -p artifacts
node - <<'JS'
const fs = require('fs');
const path = require('path');
const required = [
  'RoundRegistry', 'BisectionGame', 'LeafArbiter', 'FedAvgProgram', 'AccumulateChecker', 'FinalizeChecker',
];
const optional = ['AccumulateVerifier', 'FinalizeVerifier']; // once src/generated/ has them
for (const name of [...required, ...optional]) {
  const file = path.join('out', `${name}.sol`, `${name}.json`);
  if (!fs.existsSync(file)) {
    if (optional.includes(name)) continue;
    console.error(`missing artifact ${file}`);
    process.exit(1);
  }
  const a = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!a.bytecode || !a.deployedBytecode) {
    // forge lint (and some partial compiles) write ABI-only artifacts that a later
    // `forge build` considers up to date.
    console.error(`${file} has no bytecode (an ABI-only artifact): run tools/forge.sh build --force`);
    process.exit(1);
  }
  const trimmed = {
    abi: a.abi,
    bytecode: { object: a.bytecode.object },
    deployedBytecode: { object: a.deployedBytecode.object },
  };
  const out = path.join('artifacts', `${name}.json`);
  fs.writeFileSync(out, JSON.stringify(trimmed, null, 2) + '\n');
  console.log(`${out}: ${(a.deployedBytecode.object.length - 2) / 2} runtime bytes, ${a.abi.length} ABI entries`);
}
JS
