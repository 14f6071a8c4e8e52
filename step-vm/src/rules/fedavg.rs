//! Weighted FedAvg: `out = round_half_up(Σ w_i·x_i / W)` per coordinate.
//!
//! The program is a grid of `C` rows (output chunks) of `n + 1` columns: `Accumulate` for each
//! participant, then `Finalize`, which writes output leaf `j` and resets the register, so
//! `T = C·(n+1)`. One region: the output tree. The execution computes each chunk natively
//! (exact `i64` sums, chunks in parallel) and commits only the output tree; state `k` is
//! rebuilt when a dispute asks for it: the register by re-summing participants `0..i` of chunk
//! `j`, the output root from the output tree's frontier at `j`, in `O(n·LANES + log C)`.

use std::sync::Arc;

use rayon::prelude::*;

use crate::kinds::{ClientRead, FinalizeReads, StepReads};
use crate::merkle::depth_for;
use crate::rules::{Execution, Program, Shape};
use crate::{
    AccLeaf, CompleteTree, Digest, LANES, Result, RoundContext, State, StepKind, StepPosition,
    StepWitness, Tamper, Update, ValueLeaf, VmError, accumulate, empty_root, finalize,
    value_leaf_hash, zero_acc,
};

/// FedAvg's program.
#[derive(Debug, Clone, Copy, Default)]
pub struct FedAvg;

impl Program for FedAvg {
    fn steps(&self, shape: Shape) -> u64 {
        shape.chunks as u64 * (shape.participants as u64 + 1)
    }

    fn position(&self, shape: Shape, k: u64) -> StepPosition {
        let per_row = shape.participants as u64 + 1;
        #[allow(clippy::cast_possible_truncation)]
        let (row, col) = ((k / per_row) as usize, (k % per_row) as usize);
        let kind = if col < shape.participants {
            StepKind::Accumulate
        } else {
            StepKind::Finalize
        };
        StepPosition { row, col, kind }
    }

    fn initial_state(&self, shape: Shape) -> State {
        State {
            step: 0,
            register: zero_acc().to_vec(),
            regions: vec![empty_root(depth_for(shape.chunks))],
        }
    }

    fn final_state(&self, shape: Shape, output_root: &Digest) -> State {
        State {
            step: self.steps(shape),
            register: zero_acc().to_vec(),
            regions: vec![*output_root],
        }
    }

    fn execute(
        &self,
        ctx: RoundContext,
        updates: Vec<Update>,
        tamper: Arc<dyn Tamper>,
    ) -> Result<Box<dyn Execution>> {
        let mut run = FedAvgRun {
            ctx,
            updates,
            tamper,
            output: Vec::new(),
            output_tree: CompleteTree::new(&[]),
        };
        let leaves: Vec<ValueLeaf> = (0..run.ctx.chunks())
            .into_par_iter()
            .map(|j| run.output_leaf(j))
            .collect::<Result<_>>()?;
        let hashes: Vec<Digest> = leaves.par_iter().map(value_leaf_hash).collect();
        run.output_tree = CompleteTree::new(&hashes);
        run.output = leaves.into_iter().flatten().take(run.ctx.dim()).collect();
        Ok(Box::new(run))
    }
}

/// Weighted FedAvg without any commitment: the baseline the committed execution is measured
/// against.
///
/// # Errors
/// A dimension mismatch or an unreachable overflow.
pub fn fedavg_native(ctx: &RoundContext, updates: &[Update]) -> Result<Vec<i32>> {
    crate::trace::check_dims(ctx, updates)?;
    let w = ctx.total_weight();
    let mut out = vec![0i32; ctx.chunks() * LANES];
    out.par_chunks_mut(LANES)
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

#[derive(Debug)]
struct FedAvgRun {
    ctx: RoundContext,
    updates: Vec<Update>,
    tamper: Arc<dyn Tamper>,
    output: Vec<i32>,
    output_tree: CompleteTree,
}

impl FedAvgRun {
    fn per_row(&self) -> u64 {
        self.ctx.participants().len() as u64 + 1
    }

    /// The register at the start of row `j`: zero, as the previous row's `Finalize` left it.
    fn row_start(&self, j: usize) -> AccLeaf {
        let mut acc = zero_acc();
        if j > 0 {
            self.tamper
                .register(&self.ctx, j as u64 * self.per_row() - 1, &mut acc);
        }
        acc
    }

    /// Register after the first `cols` steps of row `j`.
    fn register(&self, j: usize, cols: usize) -> AccLeaf {
        let base = j as u64 * self.per_row();
        let mut acc = self.row_start(j);
        for (i, (p, u)) in self
            .ctx
            .participants()
            .iter()
            .zip(&self.updates)
            .take(cols)
            .enumerate()
        {
            acc = accumulate(&acc, p.weight, &u.leaf(j));
            self.tamper.register(&self.ctx, base + i as u64, &mut acc);
        }
        acc
    }

    /// Output leaf `j` as this execution computes it.
    fn output_leaf(&self, j: usize) -> Result<ValueLeaf> {
        let n = self.ctx.participants().len();
        let mut out = finalize(&self.register(j, n), self.ctx.total_weight())?;
        self.tamper
            .leaf(&self.ctx, j as u64 * self.per_row() + n as u64, &mut out);
        Ok(out)
    }
}

impl Execution for FedAvgRun {
    fn output(&self) -> &[i32] {
        &self.output
    }

    fn output_root(&self) -> Digest {
        self.output_tree.root()
    }

    fn state(&self, k: u64) -> Result<State> {
        let chunks = self.ctx.chunks();
        let (register, written) = if k == self.ctx.steps() {
            (self.row_start(chunks), chunks)
        } else {
            let pos = self.ctx.position(k);
            (self.register(pos.row, pos.col), pos.row)
        };
        Ok(State {
            step: k,
            register: register.to_vec(),
            regions: vec![self.output_tree.prefix_root(written)],
        })
    }

    fn witness(&self, k: u64) -> Result<StepWitness> {
        let position = self.ctx.position(k);
        let j = position.row;
        let reads = match position.kind {
            StepKind::Accumulate => {
                StepReads::Accumulate(ClientRead::of(&self.ctx, &self.updates, position.col, j))
            }
            StepKind::Finalize => StepReads::Finalize(FinalizeReads {
                total_weight: self.ctx.total_weight(),
                out: self.output_leaf(j)?,
                output_path: self.output_tree.frontier_proof(j),
            }),
            other => {
                return Err(VmError::InvalidRound {
                    field: "step kind",
                    expected: "Accumulate or Finalize (FedAvg)".into(),
                    actual: other.name().into(),
                });
            }
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

    #[test]
    fn positions_cycle_through_participants_then_finalize() {
        let shape = Shape {
            participants: 3,
            chunks: 4,
        };
        let at = |k| {
            let p = FedAvg.position(shape, k);
            (p.row, p.col, p.kind)
        };
        assert_eq!(at(0), (0, 0, StepKind::Accumulate));
        assert_eq!(at(3), (0, 3, StepKind::Finalize));
        assert_eq!(at(9), (2, 1, StepKind::Accumulate));
        assert_eq!(FedAvg.steps(shape), 16);
    }
}
