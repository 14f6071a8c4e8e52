//! What the row-structured programs share: a grid of rows (output chunks) whose register is
//! reset at each row's start and whose last step writes the row's output leaf. A rule provides
//! its [`RowMachine`] (the register after any prefix of a row, the reads of a step); this
//! module turns it into an [`Execution`] (the committed output, any state and witness on
//! demand).

use rayon::prelude::*;

use crate::kinds::StepReads;
use crate::rules::Execution;
use crate::{
    CompleteTree, Digest, RegisterLayout, Result, RoundContext, State, StepPosition, StepWitness,
    Update, ValueLeaf, value_leaf_hash,
};

/// Row and column of step `k` in a grid of `per_row` columns.
pub(crate) fn grid_position(k: u64, per_row: u64) -> (usize, usize) {
    // Rows are chunks (< 2^23) and columns < per_row (< 2^14): both fit usize.
    #[allow(clippy::cast_possible_truncation)]
    ((k / per_row) as usize, (k % per_row) as usize)
}

/// A state at a row boundary: the register `zero` (every row starts and ends with it) and the
/// output root. State 0 has the empty output tree of `C` chunks; state `T` the posted root.
pub(crate) fn boundary_state(step: u64, zero: Vec<i64>, output_root: Digest) -> State {
    State::new(step, zero, vec![output_root])
}

/// The empty output tree's root for `chunks` output leaves.
pub(crate) fn empty_output_root(chunks: usize) -> Digest {
    crate::empty_root(crate::merkle::depth_for(chunks))
}

/// The error of a program asked for a step of a kind that is not one of its own (`expected`
/// names the rule's kinds).
pub(crate) fn foreign_kind(expected: &str, kind: crate::StepKind) -> crate::VmError {
    crate::VmError::InvalidRound {
        field: "step kind",
        expected: expected.into(),
        actual: kind.name().into(),
    }
}

/// A rule's row semantics, as its execution replays them in disputes.
pub(crate) trait RowMachine: Send + Sync + std::fmt::Debug {
    /// The round.
    fn ctx(&self) -> &RoundContext;

    /// The participants' updates the machine reads.
    fn updates(&self) -> &[Update];

    /// How the rule's register is committed.
    fn layout(&self) -> RegisterLayout {
        RegisterLayout::Be64
    }

    /// The register words after the first `cols` steps of row `row` (`cols = 0`: the row's
    /// start; `row = C`: the final state's register).
    fn register(&self, row: usize, cols: usize) -> Vec<i64>;

    /// The reads of the step at `position`, whose row's output leaf is `out` and whose output
    /// opening is `output_path`.
    ///
    /// # Errors
    /// A kind that is not this rule's.
    fn reads(
        &self,
        position: &StepPosition,
        out: impl FnOnce() -> Result<ValueLeaf>,
        output_path: Vec<Digest>,
    ) -> Result<StepReads>;

    /// Output leaf `row` as this execution computes it.
    ///
    /// # Errors
    /// An unreachable overflow.
    fn output_leaf(&self, row: usize) -> Result<ValueLeaf>;
}

/// A row machine executed: its output and output tree; states rebuilt on demand.
#[derive(Debug)]
pub(crate) struct RowRun<M> {
    machine: M,
    output: Vec<i32>,
    output_tree: CompleteTree,
}

impl<M: RowMachine> RowRun<M> {
    /// Commits `blocks` of consecutive output leaves with their hashes (hashed by whoever
    /// computed them).
    pub(crate) fn new(machine: M, blocks: Vec<(Vec<ValueLeaf>, Vec<Digest>)>) -> Self {
        let (leaves, hashes): (Vec<_>, Vec<_>) = blocks.into_iter().unzip();
        let hashes: Vec<Digest> = hashes.into_iter().flatten().collect();
        let output = leaves
            .into_iter()
            .flatten()
            .flatten()
            .take(machine.ctx().dim())
            .collect();
        Self {
            output_tree: CompleteTree::new(&hashes),
            output,
            machine,
        }
    }

    /// Commits every row's leaf computed by `leaf`, rows in parallel.
    pub(crate) fn par_rows(
        machine: M,
        leaf: impl Fn(&M, usize) -> Result<ValueLeaf> + Sync,
    ) -> Result<Self> {
        let leaves: Vec<ValueLeaf> = (0..machine.ctx().chunks())
            .into_par_iter()
            .map(|j| leaf(&machine, j))
            .collect::<Result<_>>()?;
        let hashes = leaves.par_iter().map(value_leaf_hash).collect();
        Ok(Self::new(machine, vec![(leaves, hashes)]))
    }
}

impl<M: RowMachine> Execution for RowRun<M> {
    fn output(&self) -> &[i32] {
        &self.output
    }

    fn input(&self, i: usize) -> &Update {
        &self.machine.updates()[i]
    }

    fn output_root(&self) -> Digest {
        self.output_tree.root()
    }

    fn state(&self, k: u64) -> Result<State> {
        let ctx = self.machine.ctx();
        let (register, written) = if k == ctx.steps() {
            (self.machine.register(ctx.chunks(), 0), ctx.chunks())
        } else {
            let pos = ctx.position(k);
            (self.machine.register(pos.row, pos.col), pos.row)
        };
        Ok(
            State::new(k, register, vec![self.output_tree.prefix_root(written)])
                .with_layout(self.machine.layout()),
        )
    }

    fn witness(&self, k: u64) -> Result<StepWitness> {
        let position = self.machine.ctx().position(k);
        let reads = self.machine.reads(
            &position,
            || self.machine.output_leaf(position.row),
            self.output_tree.frontier_proof(position.row),
        )?;
        Ok(StepWitness {
            step: k,
            position,
            pre: self.state(k)?,
            post: self.state(k + 1)?,
            reads,
        })
    }
}
