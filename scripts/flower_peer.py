"""Flower's own NumPy aggregation on the data `peer_bench` wrote, timed in the same run, and
the precision of the fixed-point results against a float64 reference of the same rules.

Called by scripts/bench-peers.sh; prints the Markdown tables of BENCHMARKS.md §6 and writes
peers.json next to the data.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
from flwr.server.strategy import aggregate as flwr
# The clipping Flower's fixed-clipping DP strategies apply to every update before FedAvg.
from flwr.supercore.differential_privacy import clip_inputs_inplace

ULP = 2.0 ** -16  # one unit of the Q15.16 fixed-point format


def best_of(reps, fn, setup=lambda: None):
    """Best time of fn(setup()) over reps runs; setup (copying inputs) is not timed."""
    best, out = float("inf"), None
    for _ in range(reps):
        arg = setup()
        t = time.perf_counter()
        out = fn(arg)
        best = min(best, time.perf_counter() - t)
    return best, out


def main(data: Path) -> None:
    rust = json.loads((data / "rust.json").read_text())
    reps, beta = rust["reps"], rust["beta_bps"] / 10_000
    updates = np.load(data / "updates.npy")  # float32 (n, d)
    weights = np.load(data / "weights.npy")
    n, d = updates.shape
    # Flower's input: one (NDArrays, num_examples) pair per client, one layer each.
    results = [([updates[i]], int(weights[i])) for i in range(n)]
    clip = rust["clip_norm"]

    def fresh():
        """Flower clips in place: every clipped run gets its own copy (untimed)."""
        return [([updates[i].copy()], int(weights[i])) for i in range(n)]

    def clipped(aggregate):
        def run(copies):
            for arrays, _ in copies:
                clip_inputs_inplace(arrays, clip)
            return aggregate(copies)
        return run

    base = {
        "fedavg": flwr.aggregate,
        "median": flwr.aggregate_median,
        "trimmed_mean": lambda r: flwr.aggregate_trimmed_avg(r, beta),
    }
    peers = {rule: (lambda _, f=f: f(results), lambda: None) for rule, f in base.items()}
    peers.update({f"clipped_{rule}": (clipped(f), fresh) for rule, f in base.items()})
    # float64 references of the same rules on the same (exact) values.
    x64 = updates.astype(np.float64)
    k = int(beta * n)
    scale = np.minimum(1.0, clip / np.linalg.norm(x64, axis=1))
    def references(x):
        return {
            "fedavg": lambda: (weights[:, None] * x).sum(axis=0) / weights.sum(),
            "median": lambda: np.median(x, axis=0),
            "trimmed_mean": lambda: np.sort(x, axis=0)[k : n - k].mean(axis=0),
        }
    refs = references(x64)
    refs.update({f"clipped_{r}": f for r, f in references(scale[:, None] * x64).items()})
    rows, report = [], {}
    for rule, (peer, setup) in peers.items():
        ref = refs[rule]
        seconds, _ = best_of(reps, peer, setup)
        ours = rust[rule]["seconds"]
        ref = ref()
        fixed = np.load(data / f"out_{rule}.npy").astype(np.float64)
        err_ulp = float(np.max(np.abs(fixed - ref)) / ULP)
        report[rule] = {"flower_seconds": seconds, "ours_seconds": ours, "max_error_ulp": err_ulp}
        rows.append((rule, ours, seconds, err_ulp))

    print(f"\nn = {n}, d = {d:,}, best of {reps}; ours on {rust['threads']} threads, "
          f"trimmed mean beta = {beta}, clipping at norm {clip:.4f} (the clients' median)")
    print("\n| rule | ours: aggregation + commitments | Flower (NumPy, float32) | Flower / ours |")
    print("|---|---|---|---|")
    for rule, ours, peer, _ in rows:
        print(f"| {rule} | {ours:.3f} s | {peer:.3f} s | {peer / ours:.2f}x |")
    print(f"\nIngestion (hashing every update against its commitment, once per round): "
          f"{rust['ingestion_seconds']:.3f} s")
    print("\n| rule | largest |fixed-point - float64 reference| over all coordinates |")
    print("|---|---|")
    for rule, _, _, err in rows:
        print(f"| {rule} | {err:.3f} ulp (1 ulp = 2^-16) |")
    (data / "peers.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
