//! The distance family's selection kinds (docs/design/distance-family.md): `ScoreRank` and
//! `ScoreSum` compute, for a block of 8 participants (lanes), the Krum score as the sum of the
//! `m + 1` smallest entries of each lane's row of the distance matrix (its own zero distance
//! included) by a radix search that only counts, as `Rank` does for values; `Pick` scans the
//! blocks' scores for the lowest not yet picked.
//!
//! Work in progress (issue 8): the step functions are here; the reads, openings, public
//! inputs and checks come with the circuits.

use crate::kinds::SCORE_LANES;
use crate::{Result, VmError, slot_value, slot_words};

/// Radix passes of the score thresholds: one per bit of a distance (`D < 2^92`).
pub const SCORE_PASSES: usize = 92;

/// The largest slot value, `2^104 - 1`: what a masked distance or score is replaced by (above
/// every real distance `< 2^92` and score `< 2^100`, so it is never counted or picked).
pub const SLOT_MAX: u128 = (1 << 104) - 1;

/// The scoring register: per lane the prefix (threshold), a count and a sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScoreRegister {
    /// Prefix of the threshold (during the radix passes), the threshold (during the sum pass).
    pub prefix: [u128; SCORE_LANES],
    /// Entries below `prefix + 2^b` (radix passes) or below the threshold (sum pass).
    pub count: [u128; SCORE_LANES],
    /// Sum of the entries below the threshold (sum pass).
    pub sum: [u128; SCORE_LANES],
}

impl ScoreRegister {
    /// The register's words (`Slots104`: prefixes, counts, sums, two words per slot).
    #[must_use]
    pub fn words(&self) -> Vec<i64> {
        self.prefix
            .iter()
            .chain(&self.count)
            .chain(&self.sum)
            .flat_map(|&v| slot_words(v))
            .collect()
    }

    /// Reads a register from its words.
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] for a register of another size.
    pub fn of(words: &[i64]) -> Result<Self> {
        if words.len() != 6 * SCORE_LANES {
            return Err(VmError::InvalidRound {
                field: "score register",
                expected: format!("{} words", 6 * SCORE_LANES),
                actual: format!("{} words", words.len()),
            });
        }
        let slot = |s: usize| slot_value(words[2 * s], words[2 * s + 1]);
        let mut reg = Self::default();
        for l in 0..SCORE_LANES {
            reg.prefix[l] = slot(l);
            reg.count[l] = slot(SCORE_LANES + l);
            reg.sum[l] = slot(2 * SCORE_LANES + l);
        }
        Ok(reg)
    }
}

/// One `ScoreRank` step (bit `bit`, entries `v` of column `j` for the block's lanes): per lane
/// `count += [v < prefix + 2^bit]`; at the last column, `prefix += 2^bit` where
/// `count <= rank`, counts reset.
#[must_use]
pub fn score_rank_step(
    reg: &ScoreRegister,
    v: &[u128; SCORE_LANES],
    bit: u32,
    last: bool,
    rank: u128,
) -> ScoreRegister {
    let mut out = *reg;
    for l in 0..SCORE_LANES {
        let probe = reg.prefix[l].wrapping_add(1 << bit);
        out.count[l] = reg.count[l].wrapping_add(u128::from(v[l] < probe));
        if last {
            if out.count[l] <= rank {
                out.prefix[l] = probe;
            }
            out.count[l] = 0;
        }
    }
    out
}

/// One `ScoreSum` step: per lane `count += [v < t]`, `sum += v·[v < t]` (`t` the prefix);
/// at the last column the block's scores `sum + (rank + 1 - count)·t`.
#[must_use]
pub fn score_sum_step(reg: &ScoreRegister, v: &[u128; SCORE_LANES]) -> ScoreRegister {
    let mut out = *reg;
    for l in 0..SCORE_LANES {
        let below = v[l] < reg.prefix[l];
        out.count[l] = reg.count[l].wrapping_add(u128::from(below));
        if below {
            out.sum[l] = reg.sum[l].wrapping_add(v[l]);
        }
    }
    out
}

/// The scores a completed sum pass yields: `sum + (rank + 1 - count)·t` per lane (wrapping
/// only on registers no execution reaches).
#[must_use]
pub fn block_scores(reg: &ScoreRegister, rank: u128) -> [u128; SCORE_LANES] {
    std::array::from_fn(|l| {
        reg.sum[l].wrapping_add(
            (rank + 1)
                .wrapping_sub(reg.count[l])
                .wrapping_mul(reg.prefix[l]),
        )
    })
}

/// The pick register: the lowest score seen and its participant plus one (0: none yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PickRegister {
    /// Lowest score so far.
    pub best: u128,
    /// Its participant plus one; 0 before any.
    pub found: u128,
}

impl PickRegister {
    /// The register's words (two slots).
    #[must_use]
    pub fn words(&self) -> Vec<i64> {
        [self.best, self.found]
            .into_iter()
            .flat_map(slot_words)
            .collect()
    }

    /// Reads a register from its words.
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] for a register of another size.
    pub fn of(words: &[i64]) -> Result<Self> {
        match words {
            &[a, b, c, d] => Ok(Self {
                best: slot_value(a, b),
                found: slot_value(c, d),
            }),
            other => Err(VmError::InvalidRound {
                field: "pick register",
                expected: "4 words".into(),
                actual: format!("{} words", other.len()),
            }),
        }
    }
}

/// One `Pick` step over block `block`'s masked scores (a picked or padding lane is
/// `SLOT_MAX`, never taken): a lane replaces the best when strictly lower, or when none
/// is held yet, so the lowest index wins ties.
#[must_use]
pub fn pick_step(reg: PickRegister, scores: &[u128; SCORE_LANES], block: usize) -> PickRegister {
    let mut out = reg;
    for (l, &v) in scores.iter().enumerate() {
        let bar = if out.found == 0 { SLOT_MAX } else { out.best };
        if v < bar {
            out = PickRegister {
                best: v,
                found: (block * SCORE_LANES + l) as u128 + 1,
            };
        }
    }
    out
}
