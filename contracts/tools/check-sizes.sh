#!/usr/bin/env bash
# Builds the contracts and fails if any deployable contract's runtime bytecode exceeds the
# EIP-170 limit (24,576 bytes) or its init code the EIP-3860 limit (49,152 bytes).
# The generated Halo2 verifiers are checked too once they exist in src/generated/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/tools/forge.sh" build >/dev/null
cd "$ROOT"
node - <<'JS'
const fs = require('fs');
const path = require('path');
const RUNTIME_LIMIT = 24576;
const INIT_LIMIT = 49152;
const names = [
  'RoundRegistry', 'BisectionGame', 'LeafArbiter',
  'FedAvgProgram', 'MedianProgram', 'TrimmedMeanProgram',
  'AccumulateChecker', 'FinalizeChecker', 'RankChecker', 'TrimSumChecker', 'TrimEmitChecker',
  'ClippedProgram', 'NormChecker', 'ScaleChecker', 'ClipChecker',
  'SelectedProgram', 'DistanceChecker', 'ScoreRankChecker', 'ScoreSumChecker', 'PickChecker',
  'SelectAccumulateChecker', 'SelectFinalizeChecker', 'SelectRankChecker', 'CloseRankChecker',
  'CloseSumChecker', 'CloseEmitChecker',
  'AccumulateVerifier', 'FinalizeVerifier', 'RankVerifier', 'TrimSumVerifier', 'TrimEmitVerifier',
  'NormVerifier', 'ScaleVerifier', 'DistanceVerifier', 'ScoreRankVerifier', 'ScoreSumVerifier',
  'PickVerifier', 'CloseRankVerifier', 'CloseSumVerifier', 'CloseEmitVerifier',
];
let failed = false;
console.log('contract             runtime   limit    margin  initcode');
for (const name of names) {
  const file = path.join('out', `${name}.sol`, `${name}.json`);
  if (!fs.existsSync(file)) {
    if (name.endsWith('Verifier')) continue; // not generated yet
    console.error(`missing artifact ${file}`);
    failed = true;
    continue;
  }
  const a = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!a.bytecode || !a.deployedBytecode) {
    // forge lint (and some partial compiles) write ABI-only artifacts that a later
    // `forge build` considers up to date.
    console.error(`${file} has no bytecode (an ABI-only artifact): run tools/forge.sh build --force`);
    process.exit(1);
  }
  const runtime = (a.deployedBytecode.object.length - 2) / 2;
  const init = (a.bytecode.object.length - 2) / 2;
  const ok = runtime <= RUNTIME_LIMIT && init <= INIT_LIMIT;
  failed ||= !ok;
  console.log(
    `${name.padEnd(20)} ${String(runtime).padStart(7)} ${String(RUNTIME_LIMIT).padStart(7)} ` +
      `${String(RUNTIME_LIMIT - runtime).padStart(9)} ${String(init).padStart(9)}${ok ? '' : '  OVER THE LIMIT'}`,
  );
}
process.exit(failed ? 1 : 0);
JS
