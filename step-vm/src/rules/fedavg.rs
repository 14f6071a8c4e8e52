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
use crate::rules::rows::{
    RowMachine, RowRun, boundary_state, empty_output_root, foreign_kind, grid_position,
};
use crate::rules::{Execution, Program, Shape};
use crate::{
    AccLeaf, Digest, LANES, Result, RoundContext, State, StepKind, StepPosition, Tamper, Update,
    ValueLeaf, accumulate, finalize, value_leaf_hash, zero_acc,
};

/// FedAvg's program.
#[derive(Debug, Clone, Copy, Default)]
pub struct FedAvg;

impl Program for FedAvg {
    fn steps(&self, shape: Shape) -> u64 {
        shape.chunks as u64 * (shape.participants as u64 + 1)
    }

    fn position(&self, shape: Shape, k: u64) -> StepPosition {
        let (row, col) = grid_position(k, shape.participants as u64 + 1);
        let kind = if col < shape.participants {
            StepKind::Accumulate
        } else {
            StepKind::Finalize
        };
        StepPosition { row, col, kind }
    }

    fn initial_state(&self, shape: Shape) -> State {
        boundary_state(0, zero_acc().to_vec(), empty_output_root(shape.chunks))
    }

    fn final_state(&self, shape: Shape, output_root: &Digest) -> State {
        boundary_state(self.steps(shape), zero_acc().to_vec(), *output_root)
    }

    fn execute(
        &self,
        ctx: RoundContext,
        updates: Vec<Update>,
        tamper: Arc<dyn Tamper>,
    ) -> Result<Box<dyn Execution>> {
        let run = FedAvgRun {
            ctx,
            updates,
            tamper,
        };
        let chunks = run.ctx.chunks();
        // Each block's leaves are hashed by the worker that computed them, while in cache.
        let blocks: Vec<(Vec<ValueLeaf>, Vec<Digest>)> = (0..chunks.div_ceil(BLOCK_CHUNKS))
            .into_par_iter()
            .map(|b| {
                let rows = b * BLOCK_CHUNKS..((b + 1) * BLOCK_CHUNKS).min(chunks);
                let per_row = run.per_row();
                let steps =
                    (rows.start as u64 * per_row).saturating_sub(1)..rows.end as u64 * per_row;
                let leaves = if run.tamper.affects(steps) {
                    rows.map(|j| run.output_leaf(j))
                        .collect::<Result<Vec<_>>>()?
                } else {
                    fedavg_block(&run.ctx, &run.updates, rows)?
                };
                let hashes = leaves.iter().map(value_leaf_hash).collect();
                Ok((leaves, hashes))
            })
            .collect::<Result<_>>()?;
        Ok(Box::new(RowRun::new(run, blocks)))
    }
}

/// Output chunks per block of the native kernel: 256 chunks = 8,192 `i64` accumulators
/// (64 KiB), streamed through by each participant's contiguous values.
const BLOCK_CHUNKS: usize = 256;

/// Output leaves of `rows` computed natively: each participant's contiguous values are
/// multiply-added into a block of `i64` accumulators (vectorisable, cache-resident), then
/// each chunk is finalised. Exactly the step semantics without the per-step bookkeeping.
fn fedavg_block(
    ctx: &RoundContext,
    updates: &[Update],
    rows: std::ops::Range<usize>,
) -> Result<Vec<ValueLeaf>> {
    let start = rows.start * LANES;
    let end = (rows.end * LANES).min(ctx.dim());
    let mut acc = vec![0i64; rows.len() * LANES];
    for (p, u) in ctx.participants().iter().zip(updates) {
        // MAX_WEIGHT < 2^31: every weight is an i32.
        let w = i32::try_from(p.weight).unwrap_or(i32::MAX);
        multiply_add(&mut acc, w, &u.values()[start..end]);
    }
    let w = ctx.total_weight();
    acc.chunks_exact(LANES)
        .map(|lanes| {
            let mut reg = zero_acc();
            reg.copy_from_slice(lanes);
            finalize(&reg, w)
        })
        .collect()
}

/// `acc += w · x`, lane-wise, compiled for the widest SIMD the CPU has (chosen at run time;
/// integer arithmetic, so every version gives the same bits). Exact: `|Σ w·x| < 2^63` for
/// every reachable round (`MAX_WEIGHT`).
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq",
    "x86_64+avx2",
    "x86_64+sse4.1"
))]
fn multiply_add(acc: &mut [i64], w: i32, x: &[i32]) {
    // Both factors are sign-extended 32-bit values: one 32x32->64 multiply per lane.
    for (a, &v) in acc.iter_mut().zip(x) {
        *a = a.wrapping_add(i64::from(w) * i64::from(v));
    }
}

/// Weighted FedAvg without any commitment: the baseline the committed execution is measured
/// against.
///
/// # Errors
/// A dimension mismatch or an unreachable overflow.
pub fn fedavg_native(ctx: &RoundContext, updates: &[Update]) -> Result<Vec<i32>> {
    crate::trace::check_dims(ctx, updates)?;
    let chunks = ctx.chunks();
    let blocks: Vec<Vec<ValueLeaf>> = (0..chunks.div_ceil(BLOCK_CHUNKS))
        .into_par_iter()
        .map(|b| {
            fedavg_block(
                ctx,
                updates,
                b * BLOCK_CHUNKS..((b + 1) * BLOCK_CHUNKS).min(chunks),
            )
        })
        .collect::<Result<_>>()?;
    let mut out: Vec<i32> = blocks.into_iter().flatten().flatten().collect();
    out.truncate(ctx.dim());
    Ok(out)
}

#[derive(Debug)]
struct FedAvgRun {
    ctx: RoundContext,
    updates: Vec<Update>,
    tamper: Arc<dyn Tamper>,
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

impl RowMachine for FedAvgRun {
    fn ctx(&self) -> &RoundContext {
        &self.ctx
    }

    fn updates(&self) -> &[Update] {
        &self.updates
    }

    fn register(&self, row: usize, cols: usize) -> Vec<i64> {
        FedAvgRun::register(self, row, cols).to_vec()
    }

    fn reads(
        &self,
        position: &StepPosition,
        out: impl FnOnce() -> Result<ValueLeaf>,
        output_path: Vec<Digest>,
    ) -> Result<StepReads> {
        Ok(match position.kind {
            StepKind::Accumulate => StepReads::Accumulate(ClientRead::of(
                &self.ctx,
                &self.updates[position.col],
                position.col,
                position.row,
            )),
            StepKind::Finalize => StepReads::Finalize(FinalizeReads {
                total_weight: self.ctx.total_weight(),
                out: out()?,
                output_path,
            }),
            other => return Err(foreign_kind("Accumulate or Finalize (FedAvg)", other)),
        })
    }

    fn output_leaf(&self, row: usize) -> Result<ValueLeaf> {
        FedAvgRun::output_leaf(self, row)
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
