//! The order-statistic kinds (median and trimmed mean): `Rank`, `TrimSum`, `TrimEmit`.
//!
//! They select the values of ranks `k` and `n-k-1` of each lane by a **radix search that only
//! counts**: for bit `b` from 31 down to 0, one pass streams every participant's leaf and counts,
//! per lane, the values below `prefix + 2^b`; after the pass, `prefix += 2^b` where the count
//! is at most the rank. After 32 passes the prefix is the order statistic, exactly, with a
//! register of constant size and no hint from anyone: a leaf reads one participant leaf and
//! the register, whatever `n` and `d` are. A last pass sums the values strictly between the two
//! order statistics and counts the copies of each bound, and `TrimEmit` writes
//! `round_half_up(Σ ranks k..n-k-1 / (n-2k))`.
//!
//! Values are compared as offset limbs `u = x + 2^31` (unsigned order = signed order).
//!
//! **Register** (5 words per lane, word `f·32 + l` is field `f` of lane `l`):
//!
//! | field | during the 32 rank passes | during the sum pass |
//! |---|---|---|
//! | 0 `lo` | prefix of rank `k` | `u` of the value of rank `k` |
//! | 1 `hi` | prefix of rank `n-k-1` | `u` of the value of rank `n-k-1` |
//! | 2 `c1` | `#{u < lo + 2^b}` so far | `#{u <= lo}` so far |
//! | 3 `c2` | `#{u < hi + 2^b}` so far | `#{u < hi}` so far |
//! | 4 `sum` | 0 | `Σ x` over `lo < u < hi` so far |

use crate::kinds::finalize::write_output;
use crate::kinds::{ClientRead, Kind, StepKind, StepPosition, expect_field};
use crate::pack::{PackLayout, pack_limbs};
use crate::{
    Digest, Instance, LANES, RegisterLayout, Result, RoundContext, State, ValueLeaf, VmError,
    pack_value_leaf, scalar_instance,
};

/// Register fields per lane.
pub const STAT_FIELDS: usize = 5;
/// Words of the order-statistic register.
pub const STAT_WORDS: usize = STAT_FIELDS * LANES;
/// Rank passes (one per bit of a value).
pub const RANK_PASSES: usize = 32;

/// Public-input layout of the order-statistic register: each word as a 40-bit offset limb
/// (`word + 2^39`), 6 per instance: 27 instances.
pub const STAT_PACK: PackLayout = PackLayout {
    bits: 40,
    per_instance: 6,
};

/// The order-statistic register, by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatRegister {
    /// Prefix / value (offset) of rank `k`.
    pub lo: [i64; LANES],
    /// Prefix / value (offset) of rank `n-k-1`.
    pub hi: [i64; LANES],
    /// First counter.
    pub c1: [i64; LANES],
    /// Second counter.
    pub c2: [i64; LANES],
    /// Sum of the values strictly between the bounds.
    pub sum: [i64; LANES],
}

impl StatRegister {
    /// The register as state words.
    #[must_use]
    pub fn words(&self) -> Vec<i64> {
        [self.lo, self.hi, self.c1, self.c2, self.sum].concat()
    }

    /// Reads a state's register.
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] if it does not have [`STAT_WORDS`] words.
    pub fn of(state: &State) -> Result<Self> {
        let w = &state.register;
        if w.len() != STAT_WORDS {
            return Err(VmError::InvalidRound {
                field: "register",
                expected: format!("{STAT_WORDS} words"),
                actual: format!("{} words", w.len()),
            });
        }
        let field = |f: usize| -> [i64; LANES] {
            let mut a = [0; LANES];
            a.copy_from_slice(&w[f * LANES..(f + 1) * LANES]);
            a
        };
        Ok(Self {
            lo: field(0),
            hi: field(1),
            c1: field(2),
            c2: field(3),
            sum: field(4),
        })
    }

    /// Packed public inputs (27).
    ///
    /// # Errors
    /// [`VmError::Overflow`] for a word outside the 40-bit range (no execution reaches one).
    pub fn instances(&self) -> Result<Vec<Instance>> {
        let words = self.words();
        let half = 1i64 << (STAT_PACK.bits - 1);
        let limbs = words
            .iter()
            .enumerate()
            .map(|(i, &w)| {
                if (-half..half).contains(&w) {
                    // In range: the offset limb is non-negative and below 2^40.
                    #[allow(clippy::cast_sign_loss)]
                    Ok((w + half) as u64)
                } else {
                    Err(VmError::Overflow {
                        lane: i,
                        value: i128::from(w),
                    })
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(pack_limbs(limbs.into_iter(), STAT_PACK))
    }
}

/// The offset limb `u = x + 2^31` of a value.
#[must_use]
pub fn offset(x: i32) -> i64 {
    i64::from(x) + (1i64 << 31)
}

/// Rank pass `pass` (bit `31 - pass`) over one participant's leaf; `last` applies the pass's
/// decision (the ranks are `k` and `n-k-1`).
#[must_use]
pub fn rank_step(
    reg: &StatRegister,
    x: &ValueLeaf,
    pass: usize,
    last: bool,
    ranks: (u32, u32),
) -> StatRegister {
    let bit = 1i64 << (31 - pass);
    let mut r = *reg;
    for (l, &v) in x.iter().enumerate() {
        let u = offset(v);
        r.c1[l] += i64::from(u < r.lo[l] + bit);
        r.c2[l] += i64::from(u < r.hi[l] + bit);
        if last {
            if r.c1[l] <= i64::from(ranks.0) {
                r.lo[l] += bit;
            }
            if r.c2[l] <= i64::from(ranks.1) {
                r.hi[l] += bit;
            }
            r.c1[l] = 0;
            r.c2[l] = 0;
        }
    }
    r
}

/// The sum pass over one participant's leaf.
#[must_use]
pub fn trim_sum_step(reg: &StatRegister, x: &ValueLeaf) -> StatRegister {
    let mut r = *reg;
    for (l, &v) in x.iter().enumerate() {
        let u = offset(v);
        r.c1[l] += i64::from(u <= r.lo[l]);
        r.c2[l] += i64::from(u < r.hi[l]);
        if r.lo[l] < u && u < r.hi[l] {
            r.sum[l] += i64::from(v);
        }
    }
    r
}

/// `Σ` of the values of ranks `k..=n-k-1` from the sum pass's register lane.
#[must_use]
pub fn trimmed_sum(reg: &StatRegister, lane: usize, n: u32, k: u32) -> i128 {
    let half = 1i128 << 31;
    let xl = i128::from(reg.lo[lane]) - half;
    let xh = i128::from(reg.hi[lane]) - half;
    let (n, k) = (i128::from(n), i128::from(k));
    if reg.lo[lane] == reg.hi[lane] {
        (n - 2 * k) * xl
    } else {
        i128::from(reg.sum[lane])
            + (i128::from(reg.c1[lane]) - k) * xl
            + (n - k - i128::from(reg.c2[lane])) * xh
    }
}

/// `round_half_up(s / m) = floor((2s + m) / 2m)`, the pinned rounding of every mean.
///
/// # Errors
/// [`VmError::Overflow`] if the quotient does not fit `i32` (never for a mean of `i32`s).
pub fn mean_half_up(lane: usize, s: i128, m: i128) -> Result<i32> {
    let q = (2 * s + m).div_euclid(2 * m);
    i32::try_from(q).map_err(|_| VmError::Overflow { lane, value: q })
}

/// The output leaf the emit step writes from the sum pass's register.
///
/// # Errors
/// An unreachable overflow.
pub fn trim_emit(reg: &StatRegister, n: u32, k: u32) -> Result<ValueLeaf> {
    let m = i128::from(n) - 2 * i128::from(k);
    let mut out = [0i32; LANES];
    for (l, o) in out.iter_mut().enumerate() {
        *o = mean_half_up(l, trimmed_sum(reg, l, n, k), m)?;
    }
    Ok(out)
}

/// What a `Rank` step reads: a participant's leaf, and the step's public scalars (which the
/// checker derives from the round and the position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankReads {
    /// The participant's leaf with its openings.
    pub read: ClientRead,
    /// The pass (bit `31 - pass`).
    pub pass: usize,
    /// Whether this is the pass's last participant (the pass's decision is applied).
    pub last: bool,
    /// Ranks `k` and `n-k-1`.
    pub ranks: (u32, u32),
}

/// What the emit step reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmitReads {
    /// Participants `n`.
    pub n: u32,
    /// Values trimmed at each end `k`.
    pub k: u32,
    /// The output leaf written.
    pub out: ValueLeaf,
    /// Path of output leaf `j` in the pre-state output tree.
    pub output_path: Vec<Digest>,
}

/// Trim `k` of the round's rule (an order-statistic rule).
fn round_trim(ctx: &RoundContext) -> Result<u32> {
    ctx.config()
        .rule
        .trim(ctx.participants().len())
        .ok_or(VmError::InvalidRound {
            field: "rule",
            expected: "an order-statistic rule".into(),
            actual: ctx.config().rule.name().into(),
        })
}

/// The packed registers of a step's pre- and post-state (27 + 27 instances).
fn register_pair_instances(pre: &State, post: &State) -> Result<Vec<Instance>> {
    let mut v = StatRegister::of(pre)?.instances()?;
    v.extend(StatRegister::of(post)?.instances()?);
    Ok(v)
}

/// The `Rank` kind: column `col < 32n` of a row is pass `col / n` over participant `col % n`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rank;

impl Kind for Rank {
    const KIND: StepKind = StepKind::Rank;
    type Reads = RankReads;

    fn instances(reads: &RankReads, pre: &State, post: &State) -> Result<Vec<Instance>> {
        let mut v = vec![
            scalar_instance(1u64 << (31 - reads.pass)),
            scalar_instance(u64::from(reads.last)),
            scalar_instance(u64::from(reads.ranks.0)),
            scalar_instance(u64::from(reads.ranks.1)),
        ];
        v.extend(pack_value_leaf(&reads.read.values()));
        v.extend(register_pair_instances(pre, post)?);
        Ok(v)
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &RankReads,
        pre: &State,
    ) -> Result<State> {
        let n = ctx.participants().len();
        let k = round_trim(ctx)?;
        let (pass, i) = (position.col / n, position.col % n);
        expect_field("pass", pass as u64, reads.pass as u64)?;
        expect_field("last", u64::from(i == n - 1), u64::from(reads.last))?;
        expect_field("rank k", u64::from(k), u64::from(reads.ranks.0))?;
        expect_field(
            "rank n-k-1",
            n as u64 - 1 - u64::from(k),
            u64::from(reads.ranks.1),
        )?;
        reads.read.check(ctx, i, position.row)?;
        let reg = rank_step(
            &StatRegister::of(pre)?,
            &reads.read.values(),
            pass,
            reads.last,
            reads.ranks,
        );
        Ok(pre.next(reg.words()))
    }
}

/// The `TrimSum` kind: column `32n + i` of a row streams participant `i` once more.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrimSum;

impl Kind for TrimSum {
    const KIND: StepKind = StepKind::TrimSum;
    type Reads = ClientRead;

    fn instances(reads: &ClientRead, pre: &State, post: &State) -> Result<Vec<Instance>> {
        let mut v = pack_value_leaf(&reads.values());
        v.extend(register_pair_instances(pre, post)?);
        Ok(v)
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &ClientRead,
        pre: &State,
    ) -> Result<State> {
        let n = ctx.participants().len();
        reads.check(ctx, position.col - RANK_PASSES * n, position.row)?;
        let reg = trim_sum_step(&StatRegister::of(pre)?, &reads.values());
        Ok(pre.next(reg.words()))
    }
}

/// The `TrimEmit` kind: the last column of a row writes output leaf `j` and resets the
/// register.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrimEmit;

impl Kind for TrimEmit {
    const KIND: StepKind = StepKind::TrimEmit;
    type Reads = EmitReads;

    fn instances(reads: &EmitReads, pre: &State, _post: &State) -> Result<Vec<Instance>> {
        let mut v = vec![
            scalar_instance(u64::from(reads.n)),
            scalar_instance(u64::from(reads.k)),
        ];
        v.extend(StatRegister::of(pre)?.instances()?);
        v.extend(pack_value_leaf(&reads.out));
        Ok(v)
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &EmitReads,
        pre: &State,
    ) -> Result<State> {
        let n = ctx.participants().len();
        expect_field("n", n as u64, u64::from(reads.n))?;
        expect_field("k", u64::from(round_trim(ctx)?), u64::from(reads.k))?;
        let out = trim_emit(&StatRegister::of(pre)?, reads.n, reads.k)?;
        Ok(State::new(
            pre.step + 1,
            StatRegister::default().words(),
            vec![write_output(position.row, &reads.output_path, &out, pre)?],
        )
        .with_layout(RegisterLayout::Offset40))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the rank passes and the sum pass over `values` (one lane), returns the emitted
    /// value.
    fn run(values: &[i32], k: u32) -> i32 {
        let n = values.len();
        let ranks = (k, n as u32 - 1 - k);
        let mut reg = StatRegister::default();
        for pass in 0..RANK_PASSES {
            for (i, &v) in values.iter().enumerate() {
                reg = rank_step(&reg, &[v; LANES], pass, i == n - 1, ranks);
            }
        }
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        assert_eq!(reg.lo[0], offset(sorted[k as usize]));
        assert_eq!(reg.hi[0], offset(sorted[n - 1 - k as usize]));
        for &v in values {
            reg = trim_sum_step(&reg, &[v; LANES]);
        }
        trim_emit(&reg, n as u32, k).unwrap()[0]
    }

    fn reference(values: &[i32], k: usize) -> i32 {
        let mut s = values.to_vec();
        s.sort_unstable();
        let mid = &s[k..s.len() - k];
        let sum: i128 = mid.iter().map(|&v| i128::from(v)).sum();
        mean_half_up(0, sum, mid.len() as i128).unwrap()
    }

    #[test]
    fn radix_search_finds_order_statistics_and_trimmed_means() {
        let cases: [&[i32]; 7] = [
            &[5],
            &[3, -1],
            &[7, 7, 7, 7],
            &[i32::MIN, i32::MAX, 0],
            &[4, -2, 9, 9, -2, 4, 1, 0],
            &[-5, -5, 3, 3, 3, 10, -7],
            &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        ];
        for values in cases {
            for k in 0..=((values.len() - 1) / 2) {
                assert_eq!(
                    run(values, k as u32),
                    reference(values, k),
                    "{values:?} k={k}"
                );
            }
        }
    }

    #[test]
    fn the_committed_register_bytes_are_the_packed_public_inputs() {
        let mut reg = StatRegister::default();
        reg.lo[0] = -(1 << 39);
        reg.hi[31] = (1 << 39) - 1;
        reg.c1[7] = 255;
        reg.sum[31] = -12_345_678_901;
        let bytes = RegisterLayout::Offset40.bytes(&reg.words());
        assert_eq!(bytes.len(), 800);
        assert_eq!(bytes[..5], [0; 5]);
        assert_eq!(bytes[5..10], [0x80, 0, 0, 0, 0]);
        // Instance t is bytes [30t, 30t + 30), the last one [780, 800).
        for (t, instance) in reg.instances().unwrap().iter().enumerate() {
            let slice = &bytes[30 * t..(30 * t + 30).min(800)];
            assert_eq!(&instance[32 - slice.len()..], slice, "instance {t}");
            assert!(instance[..32 - slice.len()].iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn even_median_rounds_half_up() {
        // (3 + -1) / 2 = 1; (2 + 3) / 2 = 2.5 -> 3; (-3 + -2) / 2 = -2.5 -> -2.
        assert_eq!(run(&[3, -1], 0), 1);
        assert_eq!(run(&[2, 3], 0), 3);
        assert_eq!(run(&[-3, -2], 0), -2);
    }
}
