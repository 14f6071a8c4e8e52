//! The executed program of a round, whatever its rule: the result, its commitment, and every
//! state and step witness on demand.
//!
//! [`Trace::execute`] runs the round's rule natively and commits only the output tree; any
//! intermediate state `k` is rebuilt when a dispute asks for it (see each rule's module).
//! Nothing proportional to the number of steps is stored or hashed.

use std::sync::Arc;

use rayon::prelude::*;

use crate::rules::Execution;
use crate::{
    Digest, Honest, Result, RoundContext, State, StepWitness, Tamper, Update, VmError, hex_digest,
};

pub(crate) fn check_dims(ctx: &RoundContext, updates: &[Update]) -> Result<()> {
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

/// The executed program of a round: result, output commitment, and every state on demand.
#[derive(Debug)]
pub struct Trace {
    ctx: RoundContext,
    run: Box<dyn Execution>,
}

impl Trace {
    /// Runs the round's rule honestly.
    ///
    /// # Errors
    /// A dimension mismatch (roots are checked separately by [`check_update_roots`]).
    pub fn execute(ctx: RoundContext, updates: Vec<Update>) -> Result<Self> {
        Self::execute_with(ctx, updates, Arc::new(Honest))
    }

    /// Runs the round's rule with every step's writes passed through `tamper` (an honest
    /// [`Honest`] leaves them alone; adversarial tests and simulations pass their own).
    ///
    /// # Errors
    /// As [`Trace::execute`].
    pub fn execute_with(
        ctx: RoundContext,
        updates: Vec<Update>,
        tamper: Arc<dyn Tamper>,
    ) -> Result<Self> {
        check_dims(&ctx, &updates)?;
        let run = ctx.program().execute(ctx.clone(), updates, tamper)?;
        Ok(Self { ctx, run })
    }

    /// The round.
    #[must_use]
    pub fn context(&self) -> &RoundContext {
        &self.ctx
    }

    /// The aggregated model (`dim` values).
    #[must_use]
    pub fn output(&self) -> &[i32] {
        self.run.output()
    }

    /// Participant `i`'s update as this trace read it (`i < n`).
    #[must_use]
    pub fn input(&self, i: usize) -> &Update {
        self.run.input(i)
    }

    /// Root of the output tree: what the aggregator posts.
    #[must_use]
    pub fn output_root(&self) -> Digest {
        self.run.output_root()
    }

    /// Program length `T`.
    #[must_use]
    pub fn steps(&self) -> u64 {
        self.ctx.steps()
    }

    fn check_range(&self, k: u64, end: u64) -> Result<()> {
        if k > end {
            return Err(VmError::StepOutOfRange {
                step: k,
                steps: self.steps(),
            });
        }
        Ok(())
    }

    /// State `k` (`0 ..= T`).
    ///
    /// # Errors
    /// [`VmError::StepOutOfRange`] past `T`.
    pub fn state(&self, k: u64) -> Result<State> {
        self.check_range(k, self.steps())?;
        self.run.state(k)
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
        if self.steps() == 0 {
            return Err(VmError::StepOutOfRange { step: k, steps: 0 });
        }
        self.check_range(k, self.steps() - 1)?;
        self.run.witness(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fedavg_native;

    /// A test-local liar: adds 2 to lane 3 of whatever step `step` writes.
    #[derive(Debug)]
    struct Liar {
        step: u64,
    }

    impl Tamper for Liar {
        fn register(&self, _: &RoundContext, step: u64, register: &mut [i64]) {
            if step == self.step {
                register[3] += 2 * 6; // W = 6 in `round(3, _)`: moves the output by 2
            }
        }

        fn leaf(&self, _: &RoundContext, step: u64, leaf: &mut crate::ValueLeaf) {
            if step == self.step {
                leaf[3] += 2;
            }
        }
    }

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
        crate::round::test_round(crate::Rule::FedAvg, updates)
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
            let liar =
                Trace::execute_with(ctx.clone(), updates.clone(), Arc::new(Liar { step })).unwrap();
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
