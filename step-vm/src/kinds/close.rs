//! Bulyan's trim phase (docs/design/distance-family.md): per output chunk, the mean of the
//! `β` picked values closest to the median of the `θ` picked ones (ties in closeness to the
//! lower value), by four kinds over the order-statistic register (`Offset40`, 5 × 32 words):
//!
//! | kind | fields (`lo`, `hi`, `c1`, `c2`, `sum`) | step per lane |
//! |---|---|---|
//! | `SelectRank` (32 passes × n) | `Rank`'s: the prefixes of ranks `⌊(θ−1)/2⌋`, `⌊θ/2⌋` and their counts | `Rank`'s step over the value, or `i32::MAX` for an unpicked participant (it sorts at or above every picked value) |
//! | `CloseRank` (33 passes × n) | `lo`, `hi`, the closeness prefix `r`, its count, 0 | `count += flag·[e < r + 2^b]` with `e = \|2u − lo − hi\|`; the pass's last column sets `r += 2^b` where `count <= β − 1` |
//! | `CloseSum` (n) | `lo`, `hi`, `r`, `c_lt + 256·c_below`, the sum | `c_lt += flag·[e < r]`, `c_below += flag·[e = r]·[2u < lo + hi]`, `sum += flag·[e < r]·x` |
//! | `CloseEmit` (1) | — | the output leaf `⌊(2s + β) / 2β⌋`, `2s = 2·sum + take·(M − r) + (need − take)·(M + r)` |
//!
//! with `u = x + 2^31`, `M = x_lo + x_hi`, `need = β − c_lt` and `take = min(c_below, need)`:
//! of the values at closeness exactly `r`, those below the median (`2x = M − r`) are taken
//! first, the pinned tie rule. `r` is the `β`-th smallest closeness among the picked values,
//! so `#{e <= r} >= β` and enough values at `r` exist.

use crate::kinds::finalize::write_output;
use crate::kinds::select::SelectionOpening;
use crate::kinds::{
    ClientRead, Kind, StatRegister, StepKind, StepPosition, expect_field, offset, rank_step,
};
use crate::rules::selected::Plan;
use crate::{
    Digest, Instance, LANES, RegisterLayout, Result, RoundContext, State, ValueLeaf, VmError,
    pack_value_leaf, scalar_instance,
};

/// Closeness passes: one per bit of `e = |2u − lo − hi| < 2^33`.
pub const CLOSE_PASSES: usize = 33;

/// The count field of `CloseSum`: `c_lt + COUNT_BASE·c_below` (each at most 255).
pub const COUNT_BASE: i64 = 256;

/// `e = |2u − lo − hi|` of an offset value `u` against the median bounds (offsets cancel).
#[must_use]
pub fn closeness(u: i64, lo: i64, hi: i64) -> i64 {
    (2 * u - lo - hi).abs()
}

/// The values a `SelectRank` step ranks: the participant's, or `i32::MAX` on every lane when it
/// is not picked.
#[must_use]
pub fn select_values(x: &ValueLeaf, picked: bool) -> ValueLeaf {
    if picked { *x } else { [i32::MAX; LANES] }
}

/// One `CloseRank` step (pass `pass`: bit `32 − pass`) over one participant's leaf.
#[must_use]
pub fn close_rank_step(
    reg: &StatRegister,
    x: &ValueLeaf,
    picked: bool,
    pass: usize,
    last: bool,
    rank: u32,
) -> StatRegister {
    let bit = 1i64 << (CLOSE_PASSES - 1 - pass);
    let mut r = *reg;
    for (l, &v) in x.iter().enumerate() {
        if picked {
            let e = closeness(offset(v), reg.lo[l], reg.hi[l]);
            r.c2[l] += i64::from(e < reg.c1[l] + bit);
        }
        if last {
            if r.c2[l] <= i64::from(rank) {
                r.c1[l] += bit;
            }
            r.c2[l] = 0;
        }
    }
    r
}

/// One `CloseSum` step over one participant's leaf.
#[must_use]
pub fn close_sum_step(reg: &StatRegister, x: &ValueLeaf, picked: bool) -> StatRegister {
    let mut r = *reg;
    if !picked {
        return r;
    }
    for (l, &v) in x.iter().enumerate() {
        let u = offset(v);
        let e = closeness(u, reg.lo[l], reg.hi[l]);
        if e < reg.c1[l] {
            r.c2[l] += 1;
            r.sum[l] += i64::from(v);
        } else if e == reg.c1[l] && 2 * u < reg.lo[l] + reg.hi[l] {
            r.c2[l] += COUNT_BASE;
        }
    }
    r
}

/// Twice the sum of the `beta` values closest to the median, from a completed `CloseSum`
/// register lane.
#[must_use]
pub fn close_sum_twice(reg: &StatRegister, lane: usize, beta: u32) -> i128 {
    let half = 1i128 << 31;
    let m = i128::from(reg.lo[lane]) + i128::from(reg.hi[lane]) - 2 * half;
    let r = i128::from(reg.c1[lane]);
    let (lt, below) = (
        i128::from(reg.c2[lane] % COUNT_BASE),
        i128::from(reg.c2[lane] / COUNT_BASE),
    );
    let need = i128::from(beta) - lt;
    let take = below.min(need);
    2 * i128::from(reg.sum[lane]) + take * (m - r) + (need - take) * (m + r)
}

/// The output leaf `CloseEmit` writes: per lane `⌊(2s + β) / 2β⌋`.
///
/// # Errors
/// An unreachable overflow.
pub fn close_emit(reg: &StatRegister, beta: u32) -> Result<ValueLeaf> {
    let mut out = [0i32; LANES];
    for (l, o) in out.iter_mut().enumerate() {
        // ⌊(2s + β) / 2β⌋ = mean_half_up(s, β) with 2s given: (2s + β) div 2β.
        let twice = close_sum_twice(reg, l, beta);
        let q = (twice + i128::from(beta)).div_euclid(2 * i128::from(beta));
        *o = i32::try_from(q).map_err(|_| VmError::Overflow { lane: l, value: q })?;
    }
    Ok(out)
}

/// Bulyan's trim parameters of a plan: `θ` picked, `β = θ − 2f` kept.
fn trim_params(plan: &Plan) -> Result<(u32, u32)> {
    match plan.selection {
        crate::Selection::Bulyan { f } => {
            let theta = u32::try_from(plan.rounds).unwrap_or(u32::MAX);
            Ok((theta, theta - 2 * u32::from(f)))
        }
        other => Err(VmError::InvalidRound {
            field: "rule",
            expected: "Bulyan".into(),
            actual: other.name().into(),
        }),
    }
}

/// What a trim step reading a participant reads: its value leaf `j`, its pick flag, and the
/// step's scalars (which the checker derives from the round and the position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrimReads {
    /// The participant's leaf.
    pub read: ClientRead,
    /// Selection leaf `i / 8`.
    pub flag: SelectionOpening,
    /// The pass (`SelectRank`: bit `31 − pass`; `CloseRank`: bit `32 − pass`; `CloseSum`: 0).
    pub pass: usize,
    /// Whether this is the pass's last participant.
    pub last: bool,
    /// `SelectRank`: ranks `⌊(θ−1)/2⌋`, `⌊θ/2⌋`; `CloseRank`: `(β − 1, 0)`; `CloseSum`: `(0, 0)`.
    pub ranks: (u32, u32),
}

impl TrimReads {
    /// Whether the participant is picked.
    #[must_use]
    pub fn picked(&self) -> bool {
        self.flag.picked(self.read.participant)
    }

    /// Checks the reads against the position (participant `i`, pass `pass`) and the pre-state.
    fn check(
        &self,
        ctx: &RoundContext,
        plan: &Plan,
        i: usize,
        pass: usize,
        row: usize,
        pre: &State,
    ) -> Result<()> {
        expect_field("pass", pass as u64, self.pass as u64)?;
        expect_field("last", u64::from(i == plan.n - 1), u64::from(self.last))?;
        self.read.check(ctx, i, row)?;
        self.flag
            .verify(&pre.region(2)?, i / crate::SCORE_LANES, "flag_path")
    }
}

/// The packed registers of a step's pre- and post-state (27 + 27 instances).
fn registers(pre: &State, post: &State) -> Result<Vec<Instance>> {
    let mut v = StatRegister::of(pre)?.instances()?;
    v.extend(StatRegister::of(post)?.instances()?);
    Ok(v)
}

/// Column `col` of a trim row: `(pass, participant)` within its kind's passes.
fn trim_column(plan: &Plan, col: usize, first: usize) -> (usize, usize) {
    let rel = col - first;
    (rel / plan.n, rel % plan.n)
}

/// The `SelectRank` kind (`Rank`'s circuit and verifier): column `pass·n + i` of a trim row.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectRank;

impl Kind for SelectRank {
    const KIND: StepKind = StepKind::SelectRank;
    type Reads = TrimReads;

    /// `Rank`'s: `2^(31−pass)`, `last`, the ranks, the substituted values (5), the registers.
    fn instances(reads: &TrimReads, pre: &State, post: &State) -> Result<Vec<Instance>> {
        let mut v = vec![
            scalar_instance(1u64 << (31 - reads.pass)),
            scalar_instance(u64::from(reads.last)),
            scalar_instance(u64::from(reads.ranks.0)),
            scalar_instance(u64::from(reads.ranks.1)),
        ];
        v.extend(pack_value_leaf(&select_values(
            &reads.read.values(),
            reads.picked(),
        )));
        v.extend(registers(pre, post)?);
        Ok(v)
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &TrimReads,
        pre: &State,
    ) -> Result<State> {
        let plan = Plan::of(ctx)?;
        let (theta, _) = trim_params(&plan)?;
        let (pass, i) = trim_column(&plan, position.col, 0);
        reads.check(ctx, &plan, i, pass, position.row, pre)?;
        let ranks = ((theta - 1) / 2, theta / 2);
        expect_field("rank lo", u64::from(ranks.0), u64::from(reads.ranks.0))?;
        expect_field("rank hi", u64::from(ranks.1), u64::from(reads.ranks.1))?;
        let x = select_values(&reads.read.values(), reads.picked());
        let reg = rank_step(&StatRegister::of(pre)?, &x, pass, reads.last, ranks);
        Ok(pre.next(reg.words()))
    }
}

/// The `CloseRank` kind: column `32n + pass·n + i` of a trim row.
#[derive(Debug, Clone, Copy, Default)]
pub struct CloseRank;

impl Kind for CloseRank {
    const KIND: StepKind = StepKind::CloseRank;
    type Reads = TrimReads;

    /// `2^(32−pass)`, `last`, `β − 1`, `flag`, `x` (5), register (27), register' (27): 63.
    fn instances(reads: &TrimReads, pre: &State, post: &State) -> Result<Vec<Instance>> {
        let mut v = vec![
            scalar_instance(1u64 << (CLOSE_PASSES - 1 - reads.pass)),
            scalar_instance(u64::from(reads.last)),
            scalar_instance(u64::from(reads.ranks.0)),
            scalar_instance(u64::from(reads.picked())),
        ];
        v.extend(pack_value_leaf(&reads.read.values()));
        v.extend(registers(pre, post)?);
        Ok(v)
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &TrimReads,
        pre: &State,
    ) -> Result<State> {
        let plan = Plan::of(ctx)?;
        let (_, beta) = trim_params(&plan)?;
        let (pass, i) = trim_column(&plan, position.col, crate::RANK_PASSES * plan.n);
        reads.check(ctx, &plan, i, pass, position.row, pre)?;
        expect_field("rank", u64::from(beta - 1), u64::from(reads.ranks.0))?;
        let reg = close_rank_step(
            &StatRegister::of(pre)?,
            &reads.read.values(),
            reads.picked(),
            pass,
            reads.last,
            beta - 1,
        );
        Ok(pre.next(reg.words()))
    }
}

/// The `CloseSum` kind: column `65n + i` of a trim row.
#[derive(Debug, Clone, Copy, Default)]
pub struct CloseSum;

impl Kind for CloseSum {
    const KIND: StepKind = StepKind::CloseSum;
    type Reads = TrimReads;

    /// `flag`, `x` (5), register (27), register' (27): 60.
    fn instances(reads: &TrimReads, pre: &State, post: &State) -> Result<Vec<Instance>> {
        let mut v = vec![scalar_instance(u64::from(reads.picked()))];
        v.extend(pack_value_leaf(&reads.read.values()));
        v.extend(registers(pre, post)?);
        Ok(v)
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &TrimReads,
        pre: &State,
    ) -> Result<State> {
        let plan = Plan::of(ctx)?;
        let first = (crate::RANK_PASSES + CLOSE_PASSES) * plan.n;
        let (_, i) = trim_column(&plan, position.col, first);
        reads.check(ctx, &plan, i, 0, position.row, pre)?;
        let reg = close_sum_step(
            &StatRegister::of(pre)?,
            &reads.read.values(),
            reads.picked(),
        );
        Ok(pre.next(reg.words()))
    }
}

/// What a `CloseEmit` step writes: the output leaf, with the opening of the (still zero) leaf
/// `j` in the pre-state's output tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseEmitReads {
    /// `β`.
    pub beta: u32,
    /// The output leaf written.
    pub out: ValueLeaf,
    /// Path of output leaf `j` in the pre-state output tree.
    pub output_path: Vec<Digest>,
}

/// The `CloseEmit` kind: the last column of a trim row writes output leaf `j`, resets the
/// register, and at the last row clears the working memory.
#[derive(Debug, Clone, Copy, Default)]
pub struct CloseEmit;

impl Kind for CloseEmit {
    const KIND: StepKind = StepKind::CloseEmit;
    type Reads = CloseEmitReads;

    /// `β`, register (27), `out` (5): 33.
    fn instances(reads: &CloseEmitReads, pre: &State, _post: &State) -> Result<Vec<Instance>> {
        let mut v = vec![scalar_instance(u64::from(reads.beta))];
        v.extend(StatRegister::of(pre)?.instances()?);
        v.extend(pack_value_leaf(&reads.out));
        Ok(v)
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &CloseEmitReads,
        pre: &State,
    ) -> Result<State> {
        let plan = Plan::of(ctx)?;
        let (_, beta) = trim_params(&plan)?;
        expect_field("beta", u64::from(beta), u64::from(reads.beta))?;
        let out = close_emit(&StatRegister::of(pre)?, beta)?;
        let mut post = pre
            .next(StatRegister::default().words())
            .with_layout(RegisterLayout::Offset40);
        post.regions[0] = write_output(position.row, &reads.output_path, &out, pre)?;
        if position.row + 1 == plan.chunks {
            post.regions[1] = [0; 32];
            post.regions[2] = [0; 32];
        }
        Ok(post)
    }
}

/// The mean `close_emit` computes, as `mean_half_up` would from the sum `s` (a check of the
/// integer identity `⌊(2s + β)/2β⌋` with `2s` even).
#[cfg(test)]
fn mean_of_sum(s: i128, beta: u32) -> i32 {
    crate::mean_half_up(0, s, i128::from(beta)).expect("fits")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `SelectRank`, `CloseRank` and `CloseSum` over one lane's values (`picked` flags) and
    /// emits, for `θ` picked and `β` kept.
    fn run(values: &[i32], picked: &[bool], beta: u32) -> i32 {
        let n = values.len();
        let theta = picked.iter().filter(|&&p| p).count() as u32;
        let ranks = ((theta - 1) / 2, theta / 2);
        let mut reg = StatRegister::default();
        for pass in 0..crate::RANK_PASSES {
            for (i, &v) in values.iter().enumerate() {
                let x = select_values(&[v; LANES], picked[i]);
                reg = rank_step(&reg, &x, pass, i == n - 1, ranks);
            }
        }
        for pass in 0..CLOSE_PASSES {
            for (i, &v) in values.iter().enumerate() {
                reg = close_rank_step(&reg, &[v; LANES], picked[i], pass, i == n - 1, beta - 1);
            }
        }
        for (i, &v) in values.iter().enumerate() {
            reg = close_sum_step(&reg, &[v; LANES], picked[i]);
        }
        close_emit(&reg, beta).expect("fits")[0]
    }

    /// The pinned definition: the β picked values first in `(|2x − lo − hi|, x)`.
    fn reference(values: &[i32], picked: &[bool], beta: u32) -> i32 {
        let mut chosen: Vec<i32> = values
            .iter()
            .zip(picked)
            .filter(|(_, p)| **p)
            .map(|(&v, _)| v)
            .collect();
        chosen.sort_unstable();
        let theta = chosen.len();
        let m = i64::from(chosen[(theta - 1) / 2]) + i64::from(chosen[theta / 2]);
        chosen.sort_by_key(|&x| ((2 * i64::from(x) - m).abs(), x));
        let s: i128 = chosen[..beta as usize].iter().map(|&x| i128::from(x)).sum();
        mean_of_sum(s, beta)
    }

    #[test]
    fn the_trim_kinds_compute_the_pinned_closest_to_median_mean() {
        let cases: [(&[i32], &[bool], u32); 8] = [
            (&[5, 1, 9, 3, 7], &[true; 5], 3),
            (
                &[4, -2, 9, 9, -2, 4, 1, 0],
                &[true, true, false, true, true, true, false, true],
                2,
            ),
            // Closeness ties on both sides of the median: the lower value wins.
            (&[0, 2, 4, 6, 8, 10], &[true; 6], 3),
            (&[-3, -1, 1, 3], &[true; 4], 1),
            (
                &[i32::MIN, i32::MAX, 0, 0, 1],
                &[true, true, true, true, false],
                2,
            ),
            (&[i32::MAX; 5], &[true, false, true, true, false], 1),
            (&[7, 7, 7, -7, -7, 7], &[true; 6], 4),
            (
                &[100, -100, 50, -50, 0, 25, -25],
                &[true, true, true, true, false, true, true],
                4,
            ),
        ];
        for (values, picked, beta) in cases {
            assert_eq!(
                run(values, picked, beta),
                reference(values, picked, beta),
                "{values:?} {picked:?} beta={beta}"
            );
        }
    }

    #[test]
    fn random_lanes_match_the_reference() {
        let mut s = 0x5eed_u64;
        for _ in 0..300 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let n = 3 + (s % 9) as usize;
            let values: Vec<i32> = (0..n)
                .map(|i| {
                    let r = s.rotate_left(7 * i as u32);
                    // Few distinct values: ties everywhere.
                    (r % 7) as i32 - 3
                        + if r.is_multiple_of(11) {
                            i32::MAX - 10
                        } else {
                            0
                        }
                })
                .collect();
            let mut picked: Vec<bool> = (0..n).map(|i| (s >> i) & 1 == 1 || i < 3).collect();
            picked[0] = true;
            let theta = picked.iter().filter(|&&p| p).count() as u32;
            let beta = 1 + (s % u64::from(theta)) as u32;
            assert_eq!(
                run(&values, &picked, beta),
                reference(&values, &picked, beta),
                "{values:?} {picked:?} beta={beta}"
            );
        }
    }
}
