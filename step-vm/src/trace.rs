//! Execution of the FedAvg program and its trace, materialised on demand.
//!
//! [`Trace::execute`] runs the aggregation natively (per chunk, exact `i64` sums over the
//! participants, chunks in parallel) and commits only the output tree. Any intermediate state
//! `k` is rebuilt when a dispute asks for it: the register by re-summing participants `0..i` of
//! chunk `j`, the output root from the output tree's frontier at `j`. Nothing proportional to
//! the number of steps is stored or hashed.

use rayon::prelude::*;

use crate::fixed::leaf_of;
use crate::{
    AccLeaf, CompleteTree, Digest, Instance, Result, RoundContext, State, StepKind, StepPosition,
    Update, ValueLeaf, VmError, accumulate, accumulate_instances, finalize, finalize_instances,
    fold_path, hex_digest, participant_leaf_hash, state_hash, value_leaf_hash, zero_acc,
};

/// A deliberate error injected into one step, for adversarial tests and simulations of a
/// dishonest executor. After step `step`, lane `lane` of the register (for `Accumulate`) or of
/// the output leaf (for `Finalize`) is off by `delta`; every later step is then executed
/// faithfully from the corrupted state, as a consistent liar would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fault {
    /// Step whose result is corrupted.
    pub step: u64,
    /// Lane that is corrupted.
    pub lane: usize,
    /// Amount added. For `Accumulate` it is scaled by the total weight so that the final
    /// output moves by exactly `delta` units.
    pub delta: i32,
}

/// Weighted FedAvg without any commitment: the baseline the committed execution is measured
/// against.
///
/// # Errors
/// A dimension mismatch or an unreachable overflow.
pub fn fedavg_native(ctx: &RoundContext, updates: &[Update]) -> Result<Vec<i32>> {
    check_dims(ctx, updates)?;
    let w = ctx.total_weight();
    let mut out = vec![0i32; ctx.chunks() * crate::LANES];
    out.par_chunks_mut(crate::LANES)
        .enumerate()
        .try_for_each(|(j, leaf)| {
            let mut acc = zero_acc();
            for (p, u) in ctx.participants().iter().zip(updates) {
                acc = accumulate(&acc, p.weight, &u.leaf(j));
            }
            leaf.copy_from_slice(&finalize(&acc, w)?);
            Ok::<_, VmError>(())
        })?;
    out.truncate(ctx.dim());
    Ok(out)
}

fn check_dims(ctx: &RoundContext, updates: &[Update]) -> Result<()> {
    if updates.len() != ctx.participants().len() {
        return Err(VmError::InvalidRound {
            field: "updates",
            expected: format!("{} (one per participant)", ctx.participants().len()),
            actual: updates.len().to_string(),
        });
    }
    for (i, u) in updates.iter().enumerate() {
        if u.dim() != ctx.dim() {
            return Err(VmError::DimensionMismatch {
                participant: i,
                expected: ctx.dim(),
                actual: u.dim(),
            });
        }
    }
    Ok(())
}

/// Checks every update against the root its client committed (in parallel).
///
/// # Errors
/// The first participant whose data does not match, or a dimension mismatch.
pub fn check_update_roots(ctx: &RoundContext, updates: &[Update]) -> Result<()> {
    check_dims(ctx, updates)?;
    ctx.participants()
        .par_iter()
        .zip(updates)
        .enumerate()
        .try_for_each(|(i, (p, u))| {
            let actual = u.root();
            if actual == p.update_root {
                Ok(())
            } else {
                Err(VmError::RootMismatch {
                    participant: i,
                    expected: hex_digest(&p.update_root),
                    actual: hex_digest(&actual),
                })
            }
        })
}

/// The executed program: result, output commitment, and every state on demand.
#[derive(Debug, Clone)]
pub struct Trace {
    ctx: RoundContext,
    updates: Vec<Update>,
    fault: Option<Fault>,
    output: Vec<i32>,
    output_leaves: Vec<Digest>,
    output_tree: CompleteTree,
}

/// What a step reads besides the register, with its openings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepInput {
    /// Inputs of an `Accumulate` step.
    Accumulate {
        /// Participant index `i`.
        participant: usize,
        /// Its committed update root.
        update_root: Digest,
        /// Its weight.
        weight: u32,
        /// Path of participant leaf `i` in the input tree.
        input_path: Vec<Digest>,
        /// Value leaf `j` of the update.
        x: ValueLeaf,
        /// Path of leaf `j` in the update tree.
        value_path: Vec<Digest>,
    },
    /// Inputs of a `Finalize` step.
    Finalize {
        /// `W`.
        total_weight: u32,
        /// The output leaf written.
        out: ValueLeaf,
        /// Path of (still zero) output leaf `j` in the pre-state output tree.
        output_path: Vec<Digest>,
    },
}

/// Everything the circuit and the leaf arbiter need for one step: the pre-state preimage, the
/// step's reads with their Merkle openings, and the claimed post-state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepWitness {
    /// Step index `k` (pre-state `k`, post-state `k+1`).
    pub step: u64,
    /// Chunk, slot and kind.
    pub position: StepPosition,
    /// State `k`.
    pub pre: State,
    /// State `k + 1` as this trace has it.
    pub post: State,
    /// Reads of the step.
    pub input: StepInput,
}

impl StepWitness {
    /// The step's kind.
    #[must_use]
    pub fn kind(&self) -> StepKind {
        self.position.kind
    }

    /// Public inputs of the step proof, in circuit order.
    #[must_use]
    pub fn instances(&self) -> Vec<Instance> {
        match &self.input {
            StepInput::Accumulate { weight, x, .. } => {
                accumulate_instances(*weight, x, &self.pre.acc, &self.post.acc)
            }
            StepInput::Finalize {
                total_weight, out, ..
            } => finalize_instances(*total_weight, &self.pre.acc, out),
        }
    }

    /// Native reference of the on-chain leaf check: verifies the openings against the
    /// pre-state and returns the post-state commitment that the step function (not the
    /// witness's claim) yields. Used to test the arbiter contract and the circuit in lockstep.
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] naming the opening that does not verify.
    pub fn checked_post_commitment(&self, ctx: &RoundContext) -> Result<Digest> {
        let bad = |field: &'static str| VmError::InvalidRound {
            field,
            expected: "an opening that verifies against the pre-state".into(),
            actual: "a mismatching root".into(),
        };
        let c = ctx.config_hash();
        let chunk = self.position.chunk as u64;
        match &self.input {
            StepInput::Accumulate {
                participant,
                update_root,
                weight,
                input_path,
                x,
                value_path,
            } => {
                let leaf = participant_leaf_hash(update_root, *weight);
                if fold_path(leaf, *participant as u64, input_path) != ctx.input_tree().root() {
                    return Err(bad("input_path"));
                }
                if fold_path(value_leaf_hash(x), chunk, value_path) != *update_root {
                    return Err(bad("value_path"));
                }
                let acc = accumulate(&self.pre.acc, *weight, x);
                Ok(state_hash(&c, self.step + 1, &acc, &self.pre.output_root))
            }
            StepInput::Finalize {
                total_weight,
                output_path,
                ..
            } => {
                if fold_path([0; 32], chunk, output_path) != self.pre.output_root {
                    return Err(bad("output_path"));
                }
                let out = finalize(&self.pre.acc, *total_weight)?;
                let root = fold_path(value_leaf_hash(&out), chunk, output_path);
                Ok(state_hash(&c, self.step + 1, &zero_acc(), &root))
            }
        }
    }
}

impl Trace {
    /// Runs the program honestly.
    ///
    /// # Errors
    /// A dimension mismatch (roots are checked separately by [`check_update_roots`]).
    pub fn execute(ctx: RoundContext, updates: Vec<Update>) -> Result<Self> {
        Self::build(ctx, updates, None)
    }

    /// Runs the program with one corrupted step (see [`Fault`]).
    ///
    /// # Errors
    /// A dimension mismatch, a fault past the end of the program or on a lane that does not
    /// exist.
    pub fn execute_with_fault(
        ctx: RoundContext,
        updates: Vec<Update>,
        fault: Fault,
    ) -> Result<Self> {
        if fault.step >= ctx.steps() {
            return Err(VmError::StepOutOfRange {
                step: fault.step,
                steps: ctx.steps(),
            });
        }
        if fault.lane >= crate::LANES || fault.delta == 0 {
            return Err(VmError::InvalidRound {
                field: "fault",
                expected: "lane < 32 and a nonzero delta".into(),
                actual: format!("lane {} delta {}", fault.lane, fault.delta),
            });
        }
        Self::build(ctx, updates, Some(fault))
    }

    /// Runs the program honestly (`None`) or with one corrupted step: the single entry the
    /// aggregator and challenger roles use, whichever behaviour they were given.
    ///
    /// # Errors
    /// As [`Trace::execute`] and [`Trace::execute_with_fault`].
    pub fn execute_as(
        ctx: RoundContext,
        updates: Vec<Update>,
        fault: Option<Fault>,
    ) -> Result<Self> {
        match fault {
            None => Self::execute(ctx, updates),
            Some(f) => Self::execute_with_fault(ctx, updates, f),
        }
    }

    fn build(ctx: RoundContext, updates: Vec<Update>, fault: Option<Fault>) -> Result<Self> {
        check_dims(&ctx, &updates)?;
        let mut trace = Self {
            output_tree: CompleteTree::new(&[]),
            ctx,
            updates,
            fault,
            output: Vec::new(),
            output_leaves: Vec::new(),
        };
        let chunks = trace.ctx.chunks();
        let leaves: Vec<ValueLeaf> = (0..chunks)
            .into_par_iter()
            .map(|j| trace.output_leaf(j))
            .collect::<Result<_>>()?;
        trace.output_leaves = leaves.par_iter().map(value_leaf_hash).collect();
        trace.output_tree = CompleteTree::new(&trace.output_leaves);
        trace.output = leaves.into_iter().flatten().take(trace.ctx.dim()).collect();
        Ok(trace)
    }

    /// The round.
    #[must_use]
    pub fn context(&self) -> &RoundContext {
        &self.ctx
    }

    /// The aggregated model (`dim` values).
    #[must_use]
    pub fn output(&self) -> &[i32] {
        &self.output
    }

    /// Root of the output tree: what the aggregator posts.
    #[must_use]
    pub fn output_root(&self) -> Digest {
        self.output_tree.root()
    }

    /// Program length `T`.
    #[must_use]
    pub fn steps(&self) -> u64 {
        self.ctx.steps()
    }

    /// The injected fault, if any.
    #[must_use]
    pub fn fault(&self) -> Option<Fault> {
        self.fault
    }

    fn fault_at(&self, step: u64) -> Option<Fault> {
        self.fault.filter(|f| f.step == step)
    }

    /// Register after the first `slots` steps of chunk `j`.
    fn register(&self, j: usize, slots: usize) -> AccLeaf {
        let base = j as u64 * (self.ctx.participants().len() as u64 + 1);
        let mut acc = zero_acc();
        for (i, (p, u)) in self
            .ctx
            .participants()
            .iter()
            .zip(&self.updates)
            .take(slots)
            .enumerate()
        {
            acc = accumulate(&acc, p.weight, &leaf_of(u.values(), j));
            if let Some(f) = self.fault_at(base + i as u64) {
                acc[f.lane] = acc[f.lane]
                    .wrapping_add(i64::from(f.delta) * i64::from(self.ctx.total_weight()));
            }
        }
        acc
    }

    /// Output leaf `j` as this trace computes it.
    fn output_leaf(&self, j: usize) -> Result<ValueLeaf> {
        let n = self.ctx.participants().len();
        let mut out = finalize(&self.register(j, n), self.ctx.total_weight())?;
        if let Some(f) = self.fault_at(j as u64 * (n as u64 + 1) + n as u64) {
            out[f.lane] = out[f.lane].wrapping_add(f.delta);
        }
        Ok(out)
    }

    /// State `k` (`0 ..= T`).
    ///
    /// # Errors
    /// [`VmError::StepOutOfRange`] past `T`.
    pub fn state(&self, k: u64) -> Result<State> {
        if k > self.steps() {
            return Err(VmError::StepOutOfRange {
                step: k,
                steps: self.steps(),
            });
        }
        let pos = StepPosition::of(k, self.ctx.participants().len());
        let acc = if k == self.steps() {
            zero_acc()
        } else {
            self.register(pos.chunk, pos.slot)
        };
        let written = if k == self.steps() {
            self.ctx.chunks()
        } else {
            pos.chunk
        };
        Ok(State {
            step: k,
            acc,
            output_root: self.output_tree.prefix_root(written),
        })
    }

    /// Commitment `h_k`.
    ///
    /// # Errors
    /// [`VmError::StepOutOfRange`] past `T`.
    pub fn state_hash(&self, k: u64) -> Result<Digest> {
        Ok(self.state(k)?.commitment(&self.ctx.config_hash()))
    }

    /// Witness of step `k` (`0 .. T`), from this trace's states.
    ///
    /// # Errors
    /// [`VmError::StepOutOfRange`] at or past `T`.
    pub fn witness(&self, k: u64) -> Result<StepWitness> {
        if k >= self.steps() {
            return Err(VmError::StepOutOfRange {
                step: k,
                steps: self.steps(),
            });
        }
        let position = StepPosition::of(k, self.ctx.participants().len());
        let pre = self.state(k)?;
        let post = self.state(k + 1)?;
        let j = position.chunk;
        let input = match position.kind {
            StepKind::Accumulate => {
                let i = position.slot;
                let p = self.ctx.participants()[i];
                let update_tree = self.updates[i].tree();
                StepInput::Accumulate {
                    participant: i,
                    update_root: p.update_root,
                    weight: p.weight,
                    input_path: self.ctx.input_tree().proof(i),
                    x: self.updates[i].leaf(j),
                    value_path: update_tree.proof(j),
                }
            }
            StepKind::Finalize => StepInput::Finalize {
                total_weight: self.ctx.total_weight(),
                out: self.output_leaf(j)?,
                output_path: self.output_tree.frontier_proof(j),
            },
        };
        Ok(StepWitness {
            step: k,
            position,
            pre,
            post,
            input,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Participant;

    fn round(n: usize, dim: usize) -> (RoundContext, Vec<Update>) {
        let updates: Vec<Update> = (0..n)
            .map(|c| {
                Update::from_fixed(
                    (0..dim)
                        .map(|v| ((v * 7919 + c * 104_729) % 200_001) as i32 - 100_000)
                        .collect(),
                )
            })
            .collect();
        let participants = updates
            .iter()
            .enumerate()
            .map(|(c, u)| Participant {
                update_root: u.root(),
                weight: c as u32 + 1,
            })
            .collect();
        (
            RoundContext::new(
                crate::RoundConfig::fedavg(1, [7; 20], 3, [0; 32], dim),
                participants,
            )
            .unwrap(),
            updates,
        )
    }

    #[test]
    fn committed_execution_matches_native_fedavg() {
        let (ctx, updates) = round(5, 100);
        let native = fedavg_native(&ctx, &updates).unwrap();
        let trace = Trace::execute(ctx, updates).unwrap();
        assert_eq!(trace.output(), native.as_slice());
    }

    #[test]
    fn end_states_match_the_round_commitments() {
        let (ctx, updates) = round(3, 70);
        let trace = Trace::execute(ctx.clone(), updates).unwrap();
        assert_eq!(trace.state_hash(0).unwrap(), ctx.initial_state_hash());
        assert_eq!(
            trace.state_hash(trace.steps()).unwrap(),
            ctx.final_state_hash(&trace.output_root())
        );
    }

    #[test]
    fn every_witness_checks_and_chains_states() {
        let (ctx, updates) = round(3, 70);
        check_update_roots(&ctx, &updates).unwrap();
        let trace = Trace::execute(ctx.clone(), updates).unwrap();
        for k in 0..trace.steps() {
            let w = trace.witness(k).unwrap();
            assert_eq!(
                w.pre.commitment(&ctx.config_hash()),
                trace.state_hash(k).unwrap()
            );
            assert_eq!(
                w.checked_post_commitment(&ctx).unwrap(),
                trace.state_hash(k + 1).unwrap(),
                "step {k}"
            );
        }
    }

    #[test]
    fn a_fault_diverges_exactly_after_its_step_and_changes_the_result() {
        let (ctx, updates) = round(3, 70);
        let honest = Trace::execute(ctx.clone(), updates.clone()).unwrap();
        for step in [0, 5, 7, honest.steps() - 1] {
            let liar = Trace::execute_with_fault(
                ctx.clone(),
                updates.clone(),
                Fault {
                    step,
                    lane: 3,
                    delta: 2,
                },
            )
            .unwrap();
            assert_ne!(liar.output_root(), honest.output_root());
            for k in 0..=honest.steps() {
                let same = liar.state_hash(k).unwrap() == honest.state_hash(k).unwrap();
                assert_eq!(same, k <= step, "fault at {step}, state {k}");
            }
            // The liar's claimed post-state at the faulty step is not what the step yields.
            let w = liar.witness(step).unwrap();
            assert_ne!(
                w.checked_post_commitment(&ctx).unwrap(),
                liar.state_hash(step + 1).unwrap()
            );
        }
    }

    #[test]
    fn wrong_update_data_is_rejected() {
        let (ctx, mut updates) = round(2, 40);
        updates[1] = Update::from_fixed(vec![1; 40]);
        assert!(matches!(
            check_update_roots(&ctx, &updates),
            Err(VmError::RootMismatch { participant: 1, .. })
        ));
        updates[1] = Update::from_fixed(vec![1; 39]);
        assert!(matches!(
            check_update_roots(&ctx, &updates),
            Err(VmError::DimensionMismatch { participant: 1, .. })
        ));
    }
}
