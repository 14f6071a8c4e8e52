//! L2 norm clipping in front of any base rule (rule ids 3–5 over FedAvg, Median, TrimmedMean;
//! 9–11 over Krum, Multi-Krum, Bulyan; docs/design/clipping.md).
//!
//! The program is a prologue of `n` rows of `C + 1` columns — `C` `Norm` steps summing
//! participant `i`'s squares, then its `Scale` step writing `s_i` to the scales tree — followed
//! by the base rule's own program over the clipped values, each of its steps a `Clip` step:
//! `T = n·(C + 1) + T_base`. Prologue states commit the norm register and the scales tree; the
//! base program's states are its own, bound to the scales root (`State::wrap`), except the last,
//! which is the base program's final state, so the claim still derives from the output root.
//!
//! The honest path computes every norm natively (exact `u128`, participants in parallel), the
//! scales, the clipped updates, and runs the base rule's own fast path on them; prologue states
//! are rebuilt on demand by replaying one participant's row, `O(C·LANES)`.

use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;

use crate::hash::scale_leaf_hash;
use crate::kinds::{
    ClientRead, ClipReads, NORM_WORDS, ScaleReads, StepReads, norm_register_of, norm_step,
    scale_step, zero_norm,
};
use crate::merkle::depth_for;
use crate::rules::rows::grid_position;
use crate::rules::{Execution, Program, Shape};
use crate::{
    CompleteTree, Digest, Result, RoundContext, State, StepKind, StepPosition, StepWitness, Tamper,
    UNIT_SCALE, Update, ValueLeaf, VmError, clip_value, clip_values, empty_root, norm_squared,
};

/// The clipped program over a base program.
#[derive(Debug, Clone)]
pub struct Clipped {
    base: Arc<dyn Program>,
    threshold: u32,
}

impl Clipped {
    /// Clipping at `threshold` (Q15.16) in front of `base`.
    #[must_use]
    pub fn new(base: Arc<dyn Program>, threshold: u32) -> Self {
        Self { base, threshold }
    }

    /// Steps of the prologue: `n·(C + 1)`.
    #[must_use]
    pub fn prologue(shape: Shape) -> u64 {
        shape.participants as u64 * (shape.chunks as u64 + 1)
    }
}

/// The empty scales tree's root for `n` participants.
fn empty_scales_root(participants: usize) -> Digest {
    empty_root(depth_for(participants))
}

impl Program for Clipped {
    fn steps(&self, shape: Shape) -> u64 {
        Self::prologue(shape) + self.base.steps(shape)
    }

    fn position(&self, shape: Shape, k: u64) -> StepPosition {
        let p = Self::prologue(shape);
        if k < p {
            let (row, col) = grid_position(k, shape.chunks as u64 + 1);
            let kind = if col < shape.chunks {
                StepKind::Norm
            } else {
                StepKind::Scale
            };
            return StepPosition { row, col, kind };
        }
        StepPosition {
            kind: StepKind::Clip,
            ..self.base.position(shape, k - p)
        }
    }

    fn inner_kind(&self, shape: Shape, k: u64) -> StepKind {
        let p = Self::prologue(shape);
        if k < p {
            self.position(shape, k).kind
        } else {
            self.base.inner_kind(shape, k - p)
        }
    }

    fn initial_state(&self, shape: Shape) -> State {
        State::new(0, zero_norm(), vec![empty_scales_root(shape.participants)])
    }

    fn final_state(&self, shape: Shape, output_root: &Digest) -> State {
        self.base.final_state(shape, output_root)
    }

    fn execute(
        &self,
        ctx: RoundContext,
        updates: Vec<Update>,
        tamper: Arc<dyn Tamper>,
    ) -> Result<Box<dyn Execution>> {
        let shape = ctx.shape();
        let per_row = shape.chunks as u64 + 1;
        let prologue = Self::prologue(shape);
        let scales: Vec<u64> = (0..shape.participants)
            .into_par_iter()
            .map(|i| {
                let row = i as u64 * per_row;
                let register = if tamper.affects(row.saturating_sub(1)..row + per_row) {
                    replay_norm_prefix(&ctx, &tamper, &updates[i], row, shape.chunks)
                } else {
                    norm_register_of(norm_squared(updates[i].values()))
                };
                let mut scale = scale_step(register, self.threshold)?;
                tamper.scale(&ctx, row + per_row - 1, &mut scale);
                Ok(scale)
            })
            .collect::<Result<_>>()?;
        // An update at the unit scale is its own clipped update: it moves into the base
        // execution uncopied; the others are clipped into new updates, their committed
        // values kept for the openings.
        let (inputs, kept): (Vec<Update>, Vec<Option<Update>>) = updates
            .into_par_iter()
            .zip(&scales)
            .map(|(u, &s)| {
                if s == UNIT_SCALE {
                    (u, None)
                } else {
                    let mut out = vec![0; u.dim()];
                    clip_values(u.values(), s, &mut out);
                    (Update::from_fixed(out), Some(u))
                }
            })
            .unzip();
        let leaves: Vec<Digest> = scales.iter().map(|&s| scale_leaf_hash(s)).collect();
        let base_ctx = ctx.with_program(Arc::clone(&self.base));
        let shifted = Arc::new(Shifted {
            inner: Arc::clone(&tamper),
            ctx: ctx.clone(),
            offset: prologue,
        });
        let base = self.base.execute(base_ctx, inputs, shifted)?;
        Ok(Box::new(ClippedRun {
            scales_tree: CompleteTree::new(&leaves),
            threshold: self.threshold,
            prologue,
            scales,
            ctx,
            kept,
            tamper,
            base,
        }))
    }
}

/// The norm register of a participant's row after its first `cols` `Norm` steps, replayed
/// through `tamper` from the register the previous row's `Scale` step left (`row` is the row's
/// first step).
fn replay_norm_prefix(
    ctx: &RoundContext,
    tamper: &Arc<dyn Tamper>,
    update: &Update,
    row: u64,
    cols: usize,
) -> [i64; NORM_WORDS] {
    let mut words = zero_norm();
    if row > 0 {
        tamper.register(ctx, row - 1, &mut words);
    }
    let mut reg = [words[0], words[1]];
    for col in 0..cols {
        reg = norm_step(reg, &update.leaf(col));
        tamper.register(ctx, row + col as u64, &mut reg);
    }
    reg
}

/// The hook seen by the base program: its step `b` is the clipped program's step
/// `offset + b`, and the hook sees the clipped round.
#[derive(Debug)]
struct Shifted {
    inner: Arc<dyn Tamper>,
    ctx: RoundContext,
    offset: u64,
}

impl Tamper for Shifted {
    fn affects(&self, steps: Range<u64>) -> bool {
        self.inner
            .affects(steps.start + self.offset..steps.end + self.offset)
    }

    fn register(&self, _: &RoundContext, step: u64, register: &mut [i64]) {
        self.inner.register(&self.ctx, step + self.offset, register);
    }

    fn leaf(&self, _: &RoundContext, step: u64, leaf: &mut ValueLeaf) {
        self.inner.leaf(&self.ctx, step + self.offset, leaf);
    }

    fn scale(&self, _: &RoundContext, step: u64, scale: &mut u64) {
        self.inner.scale(&self.ctx, step + self.offset, scale);
    }

    fn slot(&self, _: &RoundContext, step: u64, index: usize, value: &mut u128) {
        self.inner.slot(&self.ctx, step + self.offset, index, value);
    }
}

/// A clipped program executed.
#[derive(Debug)]
struct ClippedRun {
    ctx: RoundContext,
    /// The committed update of each clipped participant (the base execution holds the
    /// clipped one); `None` where the scale is the unit and the base's input is the committed
    /// update itself.
    kept: Vec<Option<Update>>,
    tamper: Arc<dyn Tamper>,
    threshold: u32,
    prologue: u64,
    scales: Vec<u64>,
    scales_tree: CompleteTree,
    base: Box<dyn Execution>,
}

impl ClippedRun {
    /// Participant `i`'s committed update: what the prologue and the openings read.
    fn committed(&self, i: usize) -> &Update {
        self.kept[i].as_ref().unwrap_or_else(|| self.base.input(i))
    }

    fn per_row(&self) -> u64 {
        self.ctx.chunks() as u64 + 1
    }

    /// Prologue state `k <= P`.
    fn prologue_state(&self, k: u64) -> State {
        let (row, col) = grid_position(k, self.per_row());
        let register = if row == self.ctx.participants().len() {
            let mut words = zero_norm();
            self.tamper.register(&self.ctx, k - 1, &mut words);
            words
        } else {
            let first = row as u64 * self.per_row();
            replay_norm_prefix(&self.ctx, &self.tamper, self.committed(row), first, col).to_vec()
        };
        State::new(k, register, vec![self.scales_tree.prefix_root(row)])
    }

    /// The base step `b`'s witness as a clipped step: the participant read opened in the
    /// committed update and carrying its scale.
    fn clip_witness(&self, k: u64) -> Result<StepReads> {
        let b = k - self.prologue;
        let mut base = self.base.witness(b)?;
        let mut scale_paths = Vec::new();
        for read in base.reads.client_reads_mut() {
            let update = self.committed(read.participant);
            let raw = update.leaf(read.leaf);
            let scale = self.scales[read.participant];
            if raw.map(|v| clip_value(v, scale)) != read.x {
                return Err(VmError::InvalidRound {
                    field: "clipped read",
                    expected: "the committed leaf clipped by the participant's scale".into(),
                    actual: "another leaf".into(),
                });
            }
            *read = ClientRead {
                x: raw,
                value_path: update.tree().proof(read.leaf),
                scale,
                ..read.clone()
            };
            scale_paths.push(self.scales_tree.proof(read.participant));
        }
        Ok(StepReads::Clip(ClipReads {
            base_pre: base.pre.commitment(&self.ctx.config_hash()),
            base: Box::new(base),
            scales_root: self.scales_tree.root(),
            scale_paths,
            first: b == 0,
            last: k + 1 == self.ctx.steps(),
        }))
    }
}

impl Execution for ClippedRun {
    fn output(&self) -> &[i32] {
        self.base.output()
    }

    fn input(&self, i: usize) -> &Update {
        self.committed(i)
    }

    fn output_root(&self) -> Digest {
        self.base.output_root()
    }

    fn state(&self, k: u64) -> Result<State> {
        if k <= self.prologue {
            return Ok(self.prologue_state(k));
        }
        let mut state = self.base.state(k - self.prologue)?;
        if k < self.ctx.steps() {
            state.wrap = Some(self.scales_tree.root());
        }
        Ok(state)
    }

    fn witness(&self, k: u64) -> Result<StepWitness> {
        let position = self.ctx.position(k);
        let reads = match position.kind {
            StepKind::Norm => StepReads::Norm(ClientRead::of(
                &self.ctx,
                self.committed(position.row),
                position.row,
                position.col,
            )),
            StepKind::Scale => StepReads::Scale(ScaleReads {
                threshold: self.threshold,
                scale: self.scales[position.row],
                scales_path: self.scales_tree.frontier_proof(position.row),
            }),
            _ => self.clip_witness(k)?,
        };
        Ok(StepWitness {
            step: k,
            position,
            pre: self.state(k)?,
            post: self.state(k + 1)?,
            reads,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Base, RoundConfig, Rule, Trace, UNIT_SCALE, clip_scale, fedavg_native, norm,
        order_mean_native,
    };

    /// `n` updates of `dim` values; participant 0 is all zeros (the zero norm), participant 1
    /// small, the rest large enough to be clipped at `threshold`.
    fn round(rule: Rule, n: usize, dim: usize) -> (RoundContext, Vec<Update>) {
        let updates: Vec<Update> = (0..n)
            .map(|c| {
                Update::from_fixed(
                    (0..dim)
                        .map(|v| match c {
                            0 => 0,
                            1 => (v % 3) as i32 - 1,
                            _ => ((v * 7919 + c * 104_729) % 200_001) as i32 - 100_000,
                        })
                        .collect(),
                )
            })
            .collect();
        crate::round::test_round(rule, updates)
    }

    fn rules(threshold: u32) -> [Rule; 3] {
        [
            Base::FedAvg,
            Base::Median,
            Base::TrimmedMean { beta_bps: 2_500 },
        ]
        .map(|base| Rule::Clipped { threshold, base })
    }

    /// Clips with the pinned arithmetic, then runs the base rule natively.
    fn reference(ctx: &RoundContext, updates: &[Update]) -> Vec<i32> {
        let rule = ctx.config().rule;
        let clipped: Vec<Update> = updates
            .iter()
            .map(|u| {
                let s = clip_scale(norm(u.values()), rule.threshold().unwrap()).unwrap();
                Update::from_fixed(u.values().iter().map(|&v| clip_value(v, s)).collect())
            })
            .collect();
        let base = RoundContext::new(
            RoundConfig {
                rule: rule.base(),
                ..*ctx.config()
            },
            ctx.participants().to_vec(),
        )
        .unwrap();
        if rule.base() == Rule::FedAvg {
            fedavg_native(&base, &clipped).unwrap()
        } else {
            order_mean_native(&base, &clipped).unwrap()
        }
    }

    #[test]
    fn clipped_rules_match_clipping_then_the_base_rule() {
        for rule in rules(200_000) {
            let (ctx, updates) = round(rule, 5, 70);
            let trace = Trace::execute(ctx.clone(), updates.clone()).unwrap();
            assert_eq!(
                trace.output(),
                reference(&ctx, &updates).as_slice(),
                "{rule}"
            );
            // Participants 2.. are clipped, the zero and the small update are not.
            let norms: Vec<u64> = updates.iter().map(|u| norm(u.values())).collect();
            assert_eq!(norms[0], 0);
            assert!(norms[1] < 200_000 && norms[2..].iter().all(|&r| r > 200_000));
        }
    }

    #[test]
    fn a_threshold_above_every_norm_changes_nothing() {
        let (ctx, updates) = round(rules(u32::MAX)[0], 4, 40);
        let trace = Trace::execute(ctx.clone(), updates.clone()).unwrap();
        let plain = RoundContext::new(
            RoundConfig {
                rule: Rule::FedAvg,
                ..*ctx.config()
            },
            ctx.participants().to_vec(),
        )
        .unwrap();
        assert_eq!(trace.output(), fedavg_native(&plain, &updates).unwrap());
        let w = trace.witness(40 / 32 + 1).unwrap();
        let StepReads::Scale(s) = &w.reads else {
            panic!("{:?}", w.kind())
        };
        assert_eq!(s.scale, UNIT_SCALE);
    }

    #[test]
    fn every_witness_checks_and_chains_states() {
        for rule in rules(200_000) {
            let (ctx, updates) = round(rule, 3, 40);
            let trace = Trace::execute(ctx.clone(), updates).unwrap();
            let prologue = 3 * (2 + 1);
            assert_eq!(trace.steps(), prologue + rule.base().steps(3, 40), "{rule}");
            crate::rules::assert_chains(&trace, &ctx, |k, w| {
                let expected = if k < prologue {
                    [StepKind::Norm, StepKind::Norm, StepKind::Scale][(k % 3) as usize]
                } else {
                    StepKind::Clip
                };
                assert_eq!(w.kind(), expected);
                w.instances().unwrap();
            });
        }
    }

    /// Clipping in front of the distance family: the result is the selection over the clipped
    /// updates, and every step, a `Distance` step's two scale openings included, checks and
    /// chains.
    #[test]
    fn the_distance_family_runs_clipped() {
        for (selection, n) in [
            (crate::Selection::Krum { f: 1 }, 5),
            (crate::Selection::MultiKrum { f: 1, keep: 2 }, 5),
            (crate::Selection::Bulyan { f: 1 }, 7),
        ] {
            let rule = Rule::Clipped {
                threshold: 200_000,
                base: Base::Distance(selection),
            };
            assert_eq!(Rule::decode(rule.id(), &rule.params()).unwrap(), rule);
            let (ctx, updates) = round(rule, n, 40);
            let trace = Trace::execute(ctx.clone(), updates.clone()).unwrap();
            let clipped: Vec<Update> = updates
                .iter()
                .map(|u| {
                    let s = clip_scale(norm(u.values()), 200_000).unwrap();
                    Update::from_fixed(u.values().iter().map(|&v| clip_value(v, s)).collect())
                })
                .collect();
            assert_eq!(
                trace.output(),
                crate::distance_native(selection, &clipped).unwrap(),
                "{rule}"
            );
            let mut two_reads = 0;
            crate::rules::assert_chains(&trace, &ctx, |_, w| {
                if let StepReads::Clip(c) = &w.reads
                    && c.scale_paths.len() == 2
                {
                    two_reads += 1;
                }
            });
            assert_eq!(
                two_reads,
                n * (n - 1) / 2 * 2,
                "{rule}: every Distance step"
            );
        }
    }

    #[test]
    fn a_clip_step_refuses_a_scale_that_is_not_the_committed_one() {
        let (ctx, updates) = round(rules(200_000)[0], 3, 40);
        let trace = Trace::execute(ctx.clone(), updates).unwrap();
        // The first base step: Accumulate of participant 0 (scale 1), then participant 2.
        let mut w = trace.witness(9 + 2).unwrap();
        let StepReads::Clip(c) = &mut w.reads else {
            panic!()
        };
        c.base.reads.client_read_mut().unwrap().scale -= 1;
        assert!(w.checked_post_commitment(&ctx).is_err());
    }

    #[test]
    fn clipped_params_round_trip_and_a_zero_threshold_is_refused() {
        for rule in rules(65_536) {
            assert_eq!(Rule::decode(rule.id(), &rule.params()).unwrap(), rule);
            assert_eq!(rule.params().len(), 32 + rule.base().params().len());
        }
        assert_eq!(rules(1).map(Rule::id), [3, 4, 5]);
        let zero = rules(0)[1];
        assert!(matches!(
            Rule::decode(4, &zero.params()),
            Err(VmError::InvalidRuleParams {
                param: "threshold",
                ..
            })
        ));
        assert!(Rule::decode(5, &rules(9)[1].params()).is_err());
        assert!(Rule::decode(3, &[0; 16]).is_err());
        let mut wide = rules(9)[0].params();
        wide[27] = 1; // a threshold word past u32
        assert!(Rule::decode(3, &wide).is_err());
    }

    #[cfg(feature = "adversary")]
    #[test]
    fn a_fault_in_any_kind_diverges_exactly_after_its_step() {
        for rule in rules(200_000) {
            let (ctx, updates) = round(rule, 3, 40);
            let honest = Trace::execute(ctx.clone(), updates.clone()).unwrap();
            // A Norm step of participant 1 (its norm past the threshold; or a negative carry
            // word, a register no checker accepts, which a liar's execution still carries
            // through), its Scale step (from 1 to 1/4) and the last base step.
            for (step, delta) in [(3, 3), (4, -3), (5, 192), (honest.steps() - 1, 3)] {
                let fault = crate::Fault::output(step, 2, delta);
                let liar =
                    Trace::execute_with(ctx.clone(), updates.clone(), Arc::new(fault)).unwrap();
                assert_ne!(
                    liar.output_root(),
                    honest.output_root(),
                    "{rule} step {step}"
                );
                for k in [0, step, step + 1, liar.steps()] {
                    let same = liar.state_hash(k).unwrap() == honest.state_hash(k).unwrap();
                    assert_eq!(same, k <= step, "{rule}: fault at {step}, state {k}");
                }
                let w = liar.witness(step).unwrap();
                assert_ne!(
                    w.checked_post_commitment(&ctx).unwrap(),
                    liar.state_hash(step + 1).unwrap(),
                    "{rule} step {step}"
                );
            }
        }
    }
}
