//! Coordinate-wise median and trimmed mean: the mean of the values of ranks `k..=n-k-1` of
//! each coordinate, rounded half up (`Rule::Median`: `k = floor((n-1)/2)`;
//! `Rule::TrimmedMean`: `k = floor(β·n)`). Unweighted, as Flower's `aggregate_median` and
//! `aggregate_trimmed_avg`.
//!
//! The program is a grid of `C` rows (output chunks) of `33n + 1` columns (`kinds::order`):
//! 32 rank passes of `n` `Rank` steps, one sum pass of `n` `TrimSum` steps, and `TrimEmit`,
//! which writes output leaf `j` and resets the register: `T = C·(33n + 1)`. One region: the
//! output tree. The honest path selects the two order statistics of each lane natively
//! (`select_nth_unstable`, O(n) per lane, chunks in parallel) and commits only the output tree;
//! a dispute replays the row's steps up to the asked state, `O(33·n·LANES + log C)`.

use std::sync::Arc;

use rayon::prelude::*;

use crate::kinds::{
    ClientRead, EmitReads, RANK_PASSES, RankReads, StatRegister, StepReads, mean_half_up,
    rank_step, trim_emit, trim_sum_step,
};
use crate::rules::rows::{
    RowMachine, RowRun, boundary_state, empty_output_root, foreign_kind, grid_position,
};
use crate::rules::{Execution, Program, Shape};
use crate::{
    Digest, LANES, RegisterLayout, Result, RoundContext, State, StepKind, StepPosition, Tamper,
    Update, ValueLeaf, VmError,
};

/// The order-statistic program (median and trimmed mean share it; the trim `k` comes from
/// the round's rule).
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderMean;

fn per_row(participants: usize) -> u64 {
    (RANK_PASSES as u64 + 1) * participants as u64 + 1
}

impl Program for OrderMean {
    fn steps(&self, shape: Shape) -> u64 {
        shape.chunks as u64 * per_row(shape.participants)
    }

    fn position(&self, shape: Shape, k: u64) -> StepPosition {
        let n = shape.participants;
        let (row, col) = grid_position(k, per_row(n));
        let kind = if col < RANK_PASSES * n {
            StepKind::Rank
        } else if col < (RANK_PASSES + 1) * n {
            StepKind::TrimSum
        } else {
            StepKind::TrimEmit
        };
        StepPosition { row, col, kind }
    }

    fn initial_state(&self, shape: Shape) -> State {
        boundary_state(
            0,
            StatRegister::default().words(),
            empty_output_root(shape.chunks),
        )
        .with_layout(RegisterLayout::Offset40)
    }

    fn final_state(&self, shape: Shape, output_root: &Digest) -> State {
        boundary_state(
            self.steps(shape),
            StatRegister::default().words(),
            *output_root,
        )
        .with_layout(RegisterLayout::Offset40)
    }

    fn execute(
        &self,
        ctx: RoundContext,
        updates: Vec<Update>,
        tamper: Arc<dyn Tamper>,
    ) -> Result<Box<dyn Execution>> {
        let k = trim_of(&ctx)?;
        let run = OrderRun {
            ctx,
            updates,
            tamper,
            k,
        };
        Ok(Box::new(RowRun::par_rows(run, OrderRun::output_leaf)?))
    }
}

fn trim_of(ctx: &RoundContext) -> Result<u32> {
    ctx.config()
        .rule
        .trim(ctx.participants().len())
        .ok_or(VmError::InvalidRound {
            field: "rule",
            expected: "Median or TrimmedMean".into(),
            actual: ctx.config().rule.name().into(),
        })
}

/// Output leaf `j` computed natively: per lane, the values of ranks `k` and `n-k-1` by
/// selection and the exact sum between them.
fn native_leaf(
    updates: &[Update],
    j: usize,
    k: usize,
    scratch: &mut Vec<i32>,
) -> Result<ValueLeaf> {
    let n = updates.len();
    let block: Vec<ValueLeaf> = updates.iter().map(|u| u.leaf(j)).collect();
    let hi = n - 1 - k;
    let mut out = [0i32; LANES];
    for (l, o) in out.iter_mut().enumerate() {
        scratch.clear();
        scratch.extend(block.iter().map(|leaf| leaf[l]));
        scratch.select_nth_unstable(k);
        if hi > k {
            // The tail holds ranks k+1..n-1; put rank `hi` at index `hi`.
            scratch[k + 1..].select_nth_unstable(hi - k - 1);
        }
        let sum: i128 = scratch[k..=hi].iter().map(|&v| i128::from(v)).sum();
        *o = mean_half_up(l, sum, (hi - k + 1) as i128)?;
    }
    Ok(out)
}

/// The rule without any commitment: the baseline the committed execution is measured against.
///
/// # Errors
/// A dimension mismatch, a round whose rule is not an order-statistic rule.
pub fn order_mean_native(ctx: &RoundContext, updates: &[Update]) -> Result<Vec<i32>> {
    crate::trace::check_dims(ctx, updates)?;
    let k = trim_of(ctx)? as usize;
    let mut out = vec![0i32; ctx.chunks() * LANES];
    out.par_chunks_mut(LANES)
        .enumerate()
        .try_for_each_init(Vec::new, |scratch, (j, leaf)| {
            leaf.copy_from_slice(&native_leaf(updates, j, k, scratch)?);
            Ok::<_, VmError>(())
        })?;
    out.truncate(ctx.dim());
    Ok(out)
}

#[derive(Debug)]
struct OrderRun {
    ctx: RoundContext,
    updates: Vec<Update>,
    tamper: Arc<dyn Tamper>,
    k: u32,
}

impl OrderRun {
    fn n(&self) -> usize {
        self.ctx.participants().len()
    }

    fn per_row(&self) -> u64 {
        per_row(self.n())
    }

    fn ranks(&self) -> (u32, u32) {
        // n <= 255.
        #[allow(clippy::cast_possible_truncation)]
        let n = self.n() as u32;
        (self.k, n - 1 - self.k)
    }

    /// The register at the start of row `j`: zero, as the previous row's `TrimEmit` left it.
    fn row_start(&self, j: usize) -> StatRegister {
        let mut reg = StatRegister::default();
        if j > 0 {
            let mut words = reg.words();
            self.tamper
                .register(&self.ctx, j as u64 * self.per_row() - 1, &mut words);
            reg = register_of(words);
        }
        reg
    }

    /// Register after the first `cols` steps of row `j` (`cols <= 33n`), replaying them.
    fn register(&self, j: usize, cols: usize) -> StatRegister {
        let n = self.n();
        let base = j as u64 * self.per_row();
        let leaves: Vec<ValueLeaf> = self.updates.iter().map(|u| u.leaf(j)).collect();
        let mut reg = self.row_start(j);
        for col in 0..cols {
            let (pass, i) = (col / n, col % n);
            reg = if pass < RANK_PASSES {
                rank_step(&reg, &leaves[i], pass, i == n - 1, self.ranks())
            } else {
                trim_sum_step(&reg, &leaves[i])
            };
            let mut words = reg.words();
            self.tamper
                .register(&self.ctx, base + col as u64, &mut words);
            reg = register_of(words);
        }
        reg
    }

    /// Output leaf `j` as this execution computes it: natively unless the hook touches the
    /// row (or the register it starts from).
    fn output_leaf(&self, j: usize) -> Result<ValueLeaf> {
        let base = j as u64 * self.per_row();
        let emit = base + self.per_row() - 1;
        if !self.tamper.affects(base.saturating_sub(1)..emit + 1) {
            return native_leaf(&self.updates, j, self.k as usize, &mut Vec::new());
        }
        let n = self.n();
        // n <= 255.
        #[allow(clippy::cast_possible_truncation)]
        let mut out = trim_emit(&self.register(j, (RANK_PASSES + 1) * n), n as u32, self.k)?;
        self.tamper.leaf(&self.ctx, emit, &mut out);
        Ok(out)
    }
}

/// Words back into a register (always [`crate::STAT_WORDS`] long here).
fn register_of(words: Vec<i64>) -> StatRegister {
    let state = State::new(0, words, Vec::new());
    // The words come from `StatRegister::words`, so the length is right.
    StatRegister::of(&state).unwrap_or_default()
}

impl RowMachine for OrderRun {
    fn ctx(&self) -> &RoundContext {
        &self.ctx
    }

    fn updates(&self) -> &[Update] {
        &self.updates
    }

    fn layout(&self) -> RegisterLayout {
        RegisterLayout::Offset40
    }

    fn register(&self, row: usize, cols: usize) -> Vec<i64> {
        if row == self.ctx.chunks() {
            self.row_start(row).words()
        } else {
            OrderRun::register(self, row, cols).words()
        }
    }

    fn reads(
        &self,
        position: &StepPosition,
        out: impl FnOnce() -> Result<ValueLeaf>,
        output_path: Vec<Digest>,
    ) -> Result<StepReads> {
        let (j, n) = (position.row, self.n());
        Ok(match position.kind {
            StepKind::Rank => StepReads::Rank(RankReads {
                read: ClientRead::of(
                    &self.ctx,
                    &self.updates[position.col % n],
                    position.col % n,
                    j,
                ),
                pass: position.col / n,
                last: position.col % n == n - 1,
                ranks: self.ranks(),
            }),
            StepKind::TrimSum => {
                let i = position.col - RANK_PASSES * n;
                StepReads::TrimSum(ClientRead::of(&self.ctx, &self.updates[i], i, j))
            }
            StepKind::TrimEmit => StepReads::TrimEmit(EmitReads {
                // n <= 255.
                #[allow(clippy::cast_possible_truncation)]
                n: n as u32,
                k: self.k,
                out: out()?,
                output_path,
            }),
            other => {
                return Err(foreign_kind(
                    "Rank, TrimSum or TrimEmit (order-statistic rules)",
                    other,
                ));
            }
        })
    }

    fn output_leaf(&self, row: usize) -> Result<ValueLeaf> {
        OrderRun::output_leaf(self, row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Rule, Trace};

    fn round(rule: Rule, n: usize, dim: usize, spread: i32) -> (RoundContext, Vec<Update>) {
        let updates: Vec<Update> = (0..n)
            .map(|c| {
                Update::from_fixed(
                    (0..dim)
                        .map(|v| {
                            // Few distinct values per coordinate: ties everywhere.
                            let r = ((v * 7919 + c * 104_729) % 7) as i32 - 3;
                            r * spread + (v as i32 % 5)
                        })
                        .collect(),
                )
            })
            .collect();
        crate::round::test_round(rule, updates)
    }

    fn reference(updates: &[Update], k: usize) -> Vec<i32> {
        let dim = updates[0].dim();
        (0..dim)
            .map(|v| {
                let mut col: Vec<i32> = updates.iter().map(|u| u.values()[v]).collect();
                col.sort_unstable();
                let mid = &col[k..col.len() - k];
                let sum: i128 = mid.iter().map(|&x| i128::from(x)).sum();
                mean_half_up(0, sum, mid.len() as i128).unwrap()
            })
            .collect()
    }

    #[test]
    fn native_and_committed_execution_match_a_sorting_reference() {
        for (rule, n) in [
            (Rule::Median, 1),
            (Rule::Median, 4),
            (Rule::Median, 7),
            (Rule::TrimmedMean { beta_bps: 0 }, 5),
            (Rule::TrimmedMean { beta_bps: 2_000 }, 6),
            (Rule::TrimmedMean { beta_bps: 4_999 }, 9),
        ] {
            let (ctx, updates) = round(rule, n, 70, 1 << 16);
            let k = rule.trim(n).unwrap() as usize;
            let expected = reference(&updates, k);
            assert_eq!(
                order_mean_native(&ctx, &updates).unwrap(),
                expected,
                "{rule:?} n={n}"
            );
            let trace = Trace::execute(ctx, updates).unwrap();
            assert_eq!(trace.output(), expected.as_slice(), "{rule:?} n={n}");
        }
    }

    #[test]
    fn every_witness_checks_and_chains_states() {
        let (ctx, updates) = round(Rule::TrimmedMean { beta_bps: 2_500 }, 4, 40, 3);
        let trace = Trace::execute(ctx.clone(), updates).unwrap();
        assert_eq!(trace.steps(), 2 * (33 * 4 + 1));
        crate::rules::assert_chains(&trace, &ctx, |_, w| {
            w.instances().unwrap();
        });
    }

    #[cfg(feature = "adversary")]
    #[test]
    fn a_fault_in_any_kind_diverges_exactly_after_its_step() {
        let (ctx, updates) = round(Rule::Median, 3, 40, 1 << 10);
        let honest = Trace::execute(ctx.clone(), updates.clone()).unwrap();
        // Last rank step of the first row, a sum step, the emit of row 1.
        for step in [95, 32 * 3 + 1, 2 * 100 - 1] {
            let fault = crate::Fault::output(step, 2, 3);
            let liar = Trace::execute_with(ctx.clone(), updates.clone(), Arc::new(fault)).unwrap();
            assert_ne!(liar.output_root(), honest.output_root(), "step {step}");
            for k in [0, step, step + 1, liar.steps()] {
                let same = liar.state_hash(k).unwrap() == honest.state_hash(k).unwrap();
                assert_eq!(same, k <= step, "fault at {step}, state {k}");
            }
            let w = liar.witness(step).unwrap();
            assert_ne!(
                w.checked_post_commitment(&ctx).unwrap(),
                liar.state_hash(step + 1).unwrap()
            );
        }
    }

    #[test]
    fn invalid_trim_is_refused_naming_the_rule_and_bound() {
        let e = Rule::TrimmedMean { beta_bps: 5_000 }
            .validate(10)
            .unwrap_err();
        assert!(
            matches!(
                e,
                VmError::InvalidRuleParams {
                    rule: "TrimmedMean",
                    param: "betaBps",
                    ..
                }
            ),
            "{e}"
        );
        let params = Rule::TrimmedMean { beta_bps: 1_234 }.params();
        assert_eq!(
            Rule::decode(2, &params).unwrap(),
            Rule::TrimmedMean { beta_bps: 1_234 }
        );
        assert!(Rule::decode(2, &[0; 31]).is_err());
        assert!(Rule::decode(1, &params).is_err());
        assert!(Rule::decode(9, &[]).is_err());
    }
}
