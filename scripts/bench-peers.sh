#!/usr/bin/env bash
# Honest-path speed of every rule against Flower's own NumPy implementation, same data, same
# run, plus the precision of the fixed-point results against a float64 reference
# (BENCHMARKS.md §6). Installs Flower from PyPI into target/peer-venv on first use.
#
#   scripts/bench-peers.sh [n] [dim] [reps] [beta_bps] [f]      (default 100 1048576 3 1000 24)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100}" DIM="${2:-1048576}" REPS="${3:-3}" BETA="${4:-1000}" F="${5:-24}"
VENV=target/peer-venv
FLWR_VERSION=1.42.0

if ! "$VENV/bin/python" -c "import flwr, numpy; assert flwr.__version__ == '$FLWR_VERSION'" 2>/dev/null; then
  echo "==> installing flwr==$FLWR_VERSION and numpy into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet "flwr==$FLWR_VERSION" numpy
fi

DATA=target/peer-bench
echo "==> ours: every rule's committed execution (release build), n = $N, d = $DIM"
cargo run --quiet --release -p step-vm --example peer_bench -- "$DATA" "$N" "$DIM" "$REPS" "$BETA" "$F"
echo "==> Flower $FLWR_VERSION on the same data"
"$VENV/bin/python" scripts/flower_peer.py "$DATA"
