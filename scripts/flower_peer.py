"""Flower's own NumPy aggregation on the data `peer_bench` wrote, timed in the same run, and
the precision of the fixed-point results against a float64 reference of the same rules (and,
for the distance family, how far Flower's own float32 result is from ours).

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

    # The distance family. Flower's Krum and Bulyan ignore the example counts; its Multi-Krum
    # weights by them and ours does not (docs/design/distance-family.md), so every client
    # reports the same count here and both compute the same rule. Flower's Bulyan pops from
    # the list it is given: each run gets its own list (untimed).
    f, keep = rust["f"], rust["keep"]
    unit = [(arrays, 1) for arrays, _ in results]
    peers.update({
        "krum": (lambda _: flwr.aggregate_krum(unit, f, 0), lambda: None),
        "multi_krum": (lambda _: flwr.aggregate_krum(unit, f, keep), lambda: None),
        "bulyan": (lambda r: flwr.aggregate_bulyan(r, f, flwr.aggregate_krum, to_keep=0),
                   lambda: list(unit)),
    })
    ties = {}
    refs.update(distance_references(x64, f, keep, ties))
    rows, report = [], {}
    for rule, (peer, setup) in peers.items():
        ref = refs[rule]
        # Flower's Bulyan re-runs Krum on the remaining updates theta times (minutes at
        # n = 100, d = 2^20): one run.
        seconds, theirs = best_of(1 if rule == "bulyan" else reps, peer, setup)
        ours = rust[rule]["seconds"]
        ref = ref()
        fixed = np.load(data / f"out_{rule}.npy").astype(np.float64)
        err_ulp = float(np.max(np.abs(fixed - ref)) / ULP)
        theirs = np.concatenate([np.ravel(a) for a in theirs]).astype(np.float64)
        vs_flower = float(np.max(np.abs(fixed - theirs)) / ULP)
        report[rule] = {"flower_seconds": seconds, "ours_seconds": ours, "max_error_ulp": err_ulp,
                        "max_difference_from_flower_ulp": vs_flower}
        if rule in ties:
            differ = np.abs(fixed - theirs) > ULP
            report[rule]["differ_from_flower"] = int(differ.sum())
            report[rule]["closeness_ties"] = int(ties[rule].sum())
            report[rule]["differ_only_at_ties"] = bool(np.all(ties[rule][differ]))
        rows.append((rule, ours, seconds, err_ulp, vs_flower))

    print(f"\nn = {n}, d = {d:,}, best of {reps}; ours on {rust['threads']} threads, "
          f"trimmed mean beta = {beta}, clipping at norm {clip:.4f} (the clients' median)")
    print("\n| rule | ours: aggregation + commitments | Flower (NumPy, float32) | Flower / ours |")
    print("|---|---|---|---|")
    for rule, ours, peer, _, _ in rows:
        print(f"| {rule} | {ours:.3f} s | {peer:.3f} s | {peer / ours:.2f}x |")
    shared = rust["distance_family_shared_seconds"]
    flower_family = sum(report[r]["flower_seconds"] for r in ("krum", "multi_krum", "bulyan"))
    print(f"| krum + multi_krum + bulyan sharing one distance matrix | {shared:.3f} s "
          f"| {flower_family:.3f} s (three calls) | {flower_family / shared:.2f}x |")
    print(f"\nThe distance matrix alone: {rust['distances_seconds']:.3f} s "
          f"(f = {f}, Multi-Krum keeps {keep}). Ingestion (hashing every update against its "
          f"commitment, once per round): {rust['ingestion_seconds']:.3f} s")
    print("\n| rule | largest |fixed-point - float64 reference| | largest |ours - Flower's float32| |")
    print("|---|---|---|")
    for rule, _, _, err, vs in rows:
        print(f"| {rule} | {err:.3f} ulp | {vs:.3f} ulp |")
    print("\n(1 ulp = 2^-16, over all coordinates)")
    for rule in ties:
        r = report[rule]
        where = "all of them" if r["differ_only_at_ties"] else "NOT all of them"
        print(f"\n{rule}: ours and Flower's differ by more than 1 ulp at {r['differ_from_flower']} "
              f"coordinates; {where} at one of the {r['closeness_ties']} coordinates where two "
              f"different values are equally close to the median and only one is kept (Flower's "
              f"argpartition keeps either; we pin the lower value).")
    (data / "peers.json").write_text(json.dumps(report, indent=2) + "\n")


def distance_references(x, f, keep, ties):
    """float64 readings of Krum, Multi-Krum and Bulyan with our pinned ties (lowest index on
    equal scores; the lower value on equal closeness), over the same exact values. Bulyan's
    reference records in `ties` the coordinates where the pinned closeness tie decided."""
    n = x.shape[0]
    sq = np.einsum("ij,ij->i", x, x)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0)
    np.fill_diagonal(dist, 0.0)

    def score(i, members):
        others = np.sort([dist[i, j] for j in members if j != i])
        m = min(max(1, len(members) - f - 2), len(members) - 1)
        return float(others[:m].sum())

    everyone = list(range(n))
    ranked = sorted(everyone, key=lambda i: (score(i, everyone), i))

    def bulyan():
        remaining, chosen = list(everyone), []
        while len(chosen) < n - 2 * f:
            best = min(remaining, key=lambda i: (score(i, remaining), i))
            remaining.remove(best)
            chosen.append(best)
        sel = x[chosen]
        med = np.median(sel, axis=0)
        closeness = np.abs(sel - med)
        beta = len(chosen) - 2 * f
        order = np.lexsort((sel, closeness), axis=0)
        # Coordinates where the beta-th and the next closest are equally close but differ
        # in value: Flower's argpartition keeps either, we keep the lower one.
        sorted_x = np.take_along_axis(sel, order, axis=0)
        sorted_e = np.take_along_axis(closeness, order, axis=0)
        ties["bulyan"] = (sorted_e[beta - 1] == sorted_e[beta]) & (
            sorted_x[beta - 1] != sorted_x[beta])
        return sorted_x[:beta].mean(axis=0)

    return {
        "krum": lambda: x[ranked[0]],
        "multi_krum": lambda: x[ranked[:keep]].mean(axis=0),
        "bulyan": bulyan,
    }


if __name__ == "__main__":
    main(Path(sys.argv[1]))
