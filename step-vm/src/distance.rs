//! The distance family's native semantics: Krum, Multi-Krum and Bulyan
//! (`docs/design/distance-family.md` pins every choice; FIELD-NOTES §5 gives Flower's
//! definitions).
//!
//! The `n²·d` work is the matrix of exact squared distances, computed once
//! ([`Distances::compute`]) and read by every selection: Krum's scores, Multi-Krum's `m'`
//! lowest, and each of Bulyan's `θ` rounds of re-scoring over the remaining set. Every
//! quantity is an exact integer (`u128` distances and scores, `i64` sums), every tie is broken
//! by a pinned rule and every division rounds half up, so the result is bit-identical on any
//! thread count, tiling and machine.

use rayon::prelude::*;

use crate::{Result, Update, VmError, mean_half_up};

/// A distance-family selection rule and its parameters (Flower's names: `num_malicious` is
/// `f`, `to_keep` is `keep`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Selection {
    /// Krum: the update of the participant with the lowest score. Needs `n >= 2f + 3`.
    Krum {
        /// Byzantine participants tolerated.
        f: u8,
    },
    /// Multi-Krum: the unweighted mean of the `keep` lowest-scoring participants' updates,
    /// rounded half up. Needs `n >= 2f + 3` and `1 <= keep <= n - f`.
    MultiKrum {
        /// Byzantine participants tolerated.
        f: u8,
        /// Participants averaged (`m'`).
        keep: u8,
    },
    /// Bulyan: `θ = n - 2f` participants selected by repeated Krum, then per coordinate the
    /// mean of the `β = θ - 2f` selected values closest to their median. Needs `n >= 4f + 3`.
    Bulyan {
        /// Byzantine participants tolerated.
        f: u8,
    },
}

impl Selection {
    /// The rule's name, as its program contract names it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Krum { .. } => "Krum",
            Self::MultiKrum { .. } => "MultiKrum",
            Self::Bulyan { .. } => "Bulyan",
        }
    }

    /// Byzantine participants tolerated (`f`).
    #[must_use]
    pub fn byzantine(self) -> usize {
        match self {
            Self::Krum { f } | Self::MultiKrum { f, .. } | Self::Bulyan { f } => usize::from(f),
        }
    }

    /// Checks the parameters against a round of `n` participants.
    ///
    /// # Errors
    /// [`VmError::InvalidRuleParams`] naming the rule, the parameter and the bound.
    pub fn validate(self, n: usize) -> Result<()> {
        let f = self.byzantine();
        let (factor, why) = match self {
            Self::Krum { .. } | Self::MultiKrum { .. } => (2, "n - f - 2 >= f + 1 neighbours"),
            Self::Bulyan { .. } => (4, "beta = n - 4f >= 3 values per coordinate"),
        };
        if n < factor * f + 3 {
            return Err(VmError::InvalidRuleParams {
                rule: self.name(),
                param: "f",
                bound: format!(
                    "at most (n - 3) / {factor} for n = {n} participants (n >= {factor}f + 3: {why}); got {f}"
                ),
            });
        }
        if let Self::MultiKrum { keep, .. } = self {
            let keep = usize::from(keep);
            if keep == 0 || keep > n - f {
                return Err(VmError::InvalidRuleParams {
                    rule: self.name(),
                    param: "keep",
                    bound: format!(
                        "between 1 and n - f = {} (n = {n}, f = {f}); got {keep}",
                        n - f
                    ),
                });
            }
        }
        Ok(())
    }
}

impl Selection {
    /// The parameters this rule runs with over `n` participants: as given when `n` meets the
    /// bounds [`Selection::validate`] checks at `openRound` (against the client count), else
    /// `f` clamped to the largest the frozen participant set supports (`(n - 3) / 2` for Krum
    /// and Multi-Krum, `(n - 3) / 4` for Bulyan, 0 below 3 participants) and `keep` to
    /// `1 ..= n - f` (a `keep` of 0, refused at `openRound`, keeps one). Exclusions of
    /// unavailable data can shrink the set after `openRound`; a round then runs with fewer
    /// Byzantine participants tolerated instead of failing, so no client can brick it by
    /// withholding (FIELD-NOTES §4.11).
    #[must_use]
    pub fn effective(self, n: usize) -> Self {
        let clamp = |f: u8, factor: usize| {
            let most = n.saturating_sub(3) / factor;
            u8::try_from(usize::from(f).min(most)).unwrap_or(f)
        };
        match self {
            Self::Krum { f } => Self::Krum { f: clamp(f, 2) },
            Self::MultiKrum { f, keep } => {
                let f = clamp(f, 2);
                let most = n - usize::from(f);
                Self::MultiKrum {
                    f,
                    keep: u8::try_from(usize::from(keep).clamp(1, most)).unwrap_or(keep),
                }
            }
            Self::Bulyan { f } => Self::Bulyan { f: clamp(f, 4) },
        }
    }

    /// Participants picked by the selection's Krum rounds: Multi-Krum's `keep` (Krum's 1), or
    /// Bulyan's `θ = n - 2f` (parameters already [`Selection::effective`]).
    #[must_use]
    pub fn picks(self, n: usize) -> usize {
        match self {
            Self::Krum { .. } => 1,
            Self::MultiKrum { keep, .. } => usize::from(keep),
            Self::Bulyan { f } => n - 2 * usize::from(f),
        }
    }

    /// Krum's neighbour count within a set of `r` members:
    /// `min(max(1, r - f - 2), r - 1)` (Flower's `num_closest`, sliced to the `r - 1` others).
    #[must_use]
    pub fn neighbours(self, r: usize) -> usize {
        neighbours(r, self.byzantine())
    }
}

/// Krum's neighbour count within a set of `r` members tolerating `f`:
/// `min(max(1, r - f - 2), r - 1)`.
fn neighbours(r: usize, f: usize) -> usize {
    r.saturating_sub(f + 2).max(1).min(r.saturating_sub(1))
}

/// Coordinates per tile: a tile of every update (`n · tile · 4` bytes) stays near 512 KiB.
fn tile_len(n: usize) -> usize {
    ((131_072 / n.max(1)).clamp(256, 8_192) / 32) * 32
}

/// The symmetric matrix of exact squared distances `D_ij = Σ_c (x_ic - x_jc)²` (`< 2^92`:
/// each square is below `2^64` and a model has at most `2^28` coordinates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distances {
    n: usize,
    /// Row-major `n × n`, zero diagonal.
    d: Vec<u128>,
}

impl Distances {
    /// The matrix of `updates` (all of one dimension), computed in cache-sized coordinate
    /// tiles in parallel; each pair's sum is exact, so any split gives the same matrix.
    ///
    /// # Errors
    /// [`VmError::DimensionMismatch`] naming the first update whose dimension differs from the
    /// first one's.
    pub fn compute(updates: &[Update]) -> Result<Self> {
        let n = updates.len();
        let dim = updates.first().map_or(0, Update::dim);
        if let Some((i, u)) = updates.iter().enumerate().find(|(_, u)| u.dim() != dim) {
            return Err(VmError::DimensionMismatch {
                participant: i,
                expected: dim,
                actual: u.dim(),
            });
        }
        let pairs = n * n.saturating_sub(1) / 2;
        let tile = tile_len(n);
        let sums = (0..dim.div_ceil(tile))
            .into_par_iter()
            .fold(
                || vec![0u128; pairs],
                |mut acc, t| {
                    let range = t * tile..((t + 1) * tile).min(dim);
                    let rows: Vec<&[i32]> =
                        updates.iter().map(|u| &u.values()[range.clone()]).collect();
                    add_tile(&rows, &mut acc);
                    acc
                },
            )
            .reduce(
                || vec![0u128; pairs],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x += y;
                    }
                    a
                },
            );
        let mut d = vec![0u128; n * n];
        let mut p = 0;
        for a in 0..n {
            for b in a + 1..n {
                d[a * n + b] = sums[p];
                d[b * n + a] = sums[p];
                p += 1;
            }
        }
        Ok(Self { n, d })
    }

    /// Participants `n`.
    #[must_use]
    pub fn participants(&self) -> usize {
        self.n
    }

    /// `D_ij`.
    ///
    /// # Panics
    /// If `i` or `j` is not a participant.
    #[must_use]
    pub fn get(&self, i: usize, j: usize) -> u128 {
        assert!(i < self.n && j < self.n, "participant out of range");
        self.d[i * self.n + j]
    }

    /// Row `i` (`D_i0 … D_i(n-1)`).
    fn row(&self, i: usize) -> &[u128] {
        &self.d[i * self.n..(i + 1) * self.n]
    }

    /// Krum score of `i` within `set` (which contains `i`): the sum of the
    /// `min(max(1, r - f - 2), r - 1)` smallest distances from `i` to the other members
    /// (`r = |set|`). Below `2^100`.
    #[must_use]
    pub fn score(&self, i: usize, set: &[usize], f: usize, scratch: &mut Vec<u128>) -> u128 {
        let m = neighbours(set.len(), f);
        let row = self.row(i);
        scratch.clear();
        scratch.extend(set.iter().filter(|&&j| j != i).map(|&j| row[j]));
        if m == 0 {
            return 0;
        }
        if m < scratch.len() {
            scratch.select_nth_unstable(m - 1);
        }
        scratch[..m].iter().sum()
    }

    /// Krum scores of every participant over the whole round.
    #[must_use]
    pub fn scores(&self, f: usize) -> Vec<u128> {
        let all: Vec<usize> = (0..self.n).collect();
        let mut scratch = Vec::with_capacity(self.n);
        all.iter()
            .map(|&i| self.score(i, &all, f, &mut scratch))
            .collect()
    }

    /// The participants `selection` keeps, in the order it picks them: Krum's one, Multi-Krum's
    /// `keep` lowest in `(score, index)`, Bulyan's `θ = n - 2f` rounds of Krum over the
    /// remaining set. Ties go to the lowest index. The parameters are first made
    /// [`Selection::effective`] for this round's participant count.
    #[must_use]
    pub fn select(&self, selection: Selection) -> Vec<usize> {
        let selection = selection.effective(self.n);
        let (f, keep) = (selection.byzantine(), selection.picks(self.n));
        match selection {
            Selection::Krum { .. } | Selection::MultiKrum { .. } => {
                let scores = self.scores(f);
                let mut order: Vec<usize> = (0..self.n).collect();
                order.sort_unstable_by_key(|&i| (scores[i], i));
                order.truncate(keep);
                order
            }
            Selection::Bulyan { .. } => {
                let mut remaining: Vec<usize> = (0..self.n).collect();
                let mut picked = Vec::with_capacity(keep);
                let mut scratch = Vec::with_capacity(self.n);
                while picked.len() < keep {
                    let (pos, _) = remaining
                        .iter()
                        .enumerate()
                        .map(|(pos, &i)| (pos, (self.score(i, &remaining, f, &mut scratch), i)))
                        .min_by_key(|&(_, key)| key)
                        .expect("the remaining set is never empty");
                    picked.push(remaining.remove(pos));
                }
                picked
            }
        }
    }
}

/// Adds every pair's squared distance over one tile (`rows[i]` is participant `i`'s slice)
/// to `acc` (pairs `(a < b)` in row-major order).
fn add_tile(rows: &[&[i32]], acc: &mut [u128]) {
    let len = rows.first().map_or(0, |r| r.len()) as u128;
    let peaks: Vec<u64> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|x| u64::from(x.unsigned_abs()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut p = 0;
    for (a, ra) in rows.iter().enumerate() {
        for (b, rb) in rows.iter().enumerate().skip(a + 1) {
            // |x_a - x_b| <= peak_a + peak_b: the tile's sum stays below 2^64 when
            // len · (peak_a + peak_b)² does, and each |x_a - x_b| fits u32 when the bound does.
            let bound = u128::from(peaks[a] + peaks[b]);
            acc[p] +=
                if bound <= u128::from(u32::MAX) && len * bound * bound <= u128::from(u64::MAX) {
                    u128::from(squared_distance_u64(ra, rb))
                } else {
                    squared_distance_exact(ra, rb)
                };
            p += 1;
        }
    }
}

/// `Σ (a - b)²` when every `|a - b|` fits `u32` and the sum fits `u64` (the caller checks):
/// one unsigned 32×32→64 multiply per value, compiled for AVX-512, AVX2 and SSE4.1 and chosen
/// at run time (integer arithmetic: every version gives the same bits).
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq",
    "x86_64+avx2",
    "x86_64+sse4.1"
))]
fn squared_distance_u64(a: &[i32], b: &[i32]) -> u64 {
    const W: usize = 8;
    let mut acc = [0u64; W];
    let (ca, cb) = (a.chunks_exact(W), b.chunks_exact(W));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..W {
            let d = u64::from(x[l].wrapping_sub(y[l]).unsigned_abs());
            acc[l] += d * d;
        }
    }
    let mut sum: u64 = acc.iter().sum();
    for (x, y) in ta.iter().zip(tb) {
        let d = u64::from(x.wrapping_sub(*y).unsigned_abs());
        sum += d * d;
    }
    sum
}

/// `Σ (a - b)²` exactly, for any values.
fn squared_distance_exact(a: &[i32], b: &[i32]) -> u128 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = (i64::from(x) - i64::from(y)).unsigned_abs();
            u128::from(d * d)
        })
        .sum()
}

/// Coordinates per parallel task of the averaging passes.
const BLOCK: usize = 4_096;

/// The unweighted mean of `chosen`'s updates, per coordinate `floor((2S + m) / 2m)`.
fn mean_of(updates: &[Update], chosen: &[usize], out: &mut [i32]) -> Result<()> {
    let m = chosen.len() as i128;
    out.par_chunks_mut(BLOCK)
        .enumerate()
        .try_for_each(|(block, out)| {
            let base = block * BLOCK;
            let mut sums = vec![0i64; out.len()];
            for &i in chosen {
                let x = &updates[i].values()[base..base + out.len()];
                for (s, &v) in sums.iter_mut().zip(x) {
                    *s += i64::from(v);
                }
            }
            for (c, (o, s)) in out.iter_mut().zip(sums).enumerate() {
                *o = mean_half_up(base + c, i128::from(s), m)?;
            }
            Ok(())
        })
}

/// Bulyan's per-coordinate trim: among the selected values, the `beta` first in
/// `(|2x - lo - hi|, x)` (`lo`, `hi` the two middle order statistics), their mean rounded
/// half up.
fn closest_to_median(
    updates: &[Update],
    chosen: &[usize],
    beta: usize,
    out: &mut [i32],
) -> Result<()> {
    let theta = chosen.len();
    let (k_lo, k_hi) = ((theta - 1) / 2, theta / 2);
    out.par_chunks_mut(BLOCK).enumerate().try_for_each_init(
        || Vec::with_capacity(theta),
        |scratch, (block, out)| {
            let base = block * BLOCK;
            for (c, o) in out.iter_mut().enumerate() {
                scratch.clear();
                scratch.extend(chosen.iter().map(|&i| updates[i].values()[base + c]));
                let (_, &mut lo, right) = scratch.select_nth_unstable(k_lo);
                let hi = if k_hi == k_lo {
                    lo
                } else {
                    *right
                        .iter()
                        .min()
                        .expect("theta is even: a value right of lo")
                };
                let mid = i64::from(lo) + i64::from(hi);
                let key = |&x: &i32| ((2 * i64::from(x) - mid).unsigned_abs(), x);
                if beta < theta {
                    scratch.select_nth_unstable_by_key(beta - 1, key);
                }
                let s: i64 = scratch[..beta].iter().map(|&x| i64::from(x)).sum();
                *o = mean_half_up(base + c, i128::from(s), beta as i128)?;
            }
            Ok(())
        },
    )
}

/// The result of `selection` on `updates` (all of one dimension), given their distance
/// matrix, with the parameters [`Selection::effective`] for `updates.len()` participants.
///
/// # Errors
/// Updates that do not match the matrix; an unreachable overflow.
pub fn distance_native_with(
    selection: Selection,
    updates: &[Update],
    distances: &Distances,
) -> Result<Vec<i32>> {
    if updates.len() != distances.participants() {
        return Err(VmError::InvalidRound {
            field: "updates",
            expected: format!("{} (one per row of the distance matrix)", distances.n),
            actual: updates.len().to_string(),
        });
    }
    let chosen = distances.select(selection);
    let dim = updates.first().map_or(0, Update::dim);
    let mut out = vec![0i32; dim];
    match selection.effective(updates.len()) {
        Selection::Krum { .. } => out.copy_from_slice(updates[chosen[0]].values()),
        Selection::MultiKrum { .. } => mean_of(updates, &chosen, &mut out)?,
        Selection::Bulyan { f } => {
            let beta = chosen.len() - 2 * usize::from(f);
            closest_to_median(updates, &chosen, beta, &mut out)?;
        }
    }
    Ok(out)
}

/// The result of `selection` on `updates`: the distance matrix, then [`distance_native_with`].
///
/// # Errors
/// Updates of different dimensions; an unreachable overflow.
pub fn distance_native(selection: Selection, updates: &[Update]) -> Result<Vec<i32>> {
    distance_native_with(selection, updates, &Distances::compute(updates)?)
}

#[cfg(test)]
mod tests;
