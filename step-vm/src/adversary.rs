//! Adversarial executions for tests and simulations (feature `adversary`): a [`Fault`] corrupts
//! one cell written by one step of any rule; every later step is then executed faithfully from
//! the corrupted state, as a consistent liar would.

use crate::{LANES, RoundContext, StepKind, Tamper, ValueLeaf};

/// Which cell a [`Fault`] corrupts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Cell {
    /// Word `word` of the register the step leaves behind, by `delta` units.
    Register {
        /// Word index (lane `word % 32` of field `word / 32`).
        word: usize,
    },
    /// Lane `lane` of the memory leaf the step writes (its output leaf), by `delta` units.
    Leaf {
        /// Lane index, below 32.
        lane: usize,
    },
    /// Output lane `lane` of the step's row, moved through whatever the step writes: the
    /// output leaf itself by `delta` when the step writes one, otherwise the register (FedAvg's
    /// accumulator by `delta · W`, so the output moves by exactly `delta`; the order-statistic
    /// bounds by `delta`, which moves the trimmed range; a clipping norm's carry word by
    /// `delta`, i.e. `Σ x²` by `delta · 2^40`), or a `Scale` step's scale by `delta`. The
    /// distance family's wide values (a running distance, a threshold prefix, a score sum,
    /// the scores written) move by `delta · 2^64`, enough to change a selection, a distance
    /// written down by as much (to zero when smaller: two updates made to look alike), and a
    /// pick by `delta` participants; Bulyan's median bounds and closeness prefix move by
    /// `delta · 2^20`, the sum of its closest values by `delta · β`. Under a clipped rule a
    /// base step is corrupted as its own kind would be. Lets a caller corrupt "step `k`"
    /// without knowing the rule's schedule.
    Output {
        /// Lane index, below 32.
        lane: usize,
    },
}

/// One deliberate error: after step `step`, `cell` is off by `delta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fault {
    /// Step whose write is corrupted.
    pub step: u64,
    /// The corrupted cell.
    pub cell: Cell,
    /// Amount added (wrapping; truncated to the cell's width).
    pub delta: i64,
}

impl Fault {
    /// A fault on register word `word` after step `step`.
    #[must_use]
    pub fn register(step: u64, word: usize, delta: i64) -> Self {
        Self {
            step,
            cell: Cell::Register { word },
            delta,
        }
    }

    /// A fault on lane `lane` of the leaf step `step` writes.
    #[must_use]
    pub fn leaf(step: u64, lane: usize, delta: i64) -> Self {
        Self {
            step,
            cell: Cell::Leaf { lane },
            delta,
        }
    }

    /// A fault at step `step` that moves output lane `lane` of its row by `delta` units.
    #[must_use]
    pub fn output(step: u64, lane: usize, delta: i64) -> Self {
        Self {
            step,
            cell: Cell::Output { lane },
            delta,
        }
    }
}

/// Whether a step of this kind writes a value leaf (else only its register, a scale or wide
/// slots).
fn writes_leaf(kind: StepKind) -> bool {
    match kind {
        StepKind::Finalize
        | StepKind::TrimEmit
        | StepKind::SelectFinalize
        | StepKind::CloseEmit => true,
        StepKind::Accumulate
        | StepKind::Rank
        | StepKind::TrimSum
        | StepKind::Norm
        | StepKind::Scale
        | StepKind::Clip
        | StepKind::Distance
        | StepKind::ScoreRank
        | StepKind::ScoreSum
        | StepKind::Pick
        | StepKind::SelectAccumulate
        | StepKind::SelectRank
        | StepKind::CloseRank
        | StepKind::CloseSum => false,
    }
}

/// The wide slots step `step` writes to memory (a row's last `Distance`, `ScoreSum` or
/// `Pick`, or a `Clip` step wrapping one), 0 for any other step.
fn slots_written(ctx: &RoundContext, step: u64) -> usize {
    let Ok(plan) = crate::rules::selected::Plan::of(ctx) else {
        return 0;
    };
    // A `Clip` step sits at its base step's row and column.
    let position = ctx.position(step);
    match kind_at(ctx, step) {
        StepKind::Distance if position.col + 1 == plan.chunks => 1,
        StepKind::ScoreSum if position.col + 1 == (crate::SCORE_PASSES + 1) * plan.n => {
            crate::SCORE_LANES
        }
        StepKind::Pick if position.col + 1 == plan.blocks => 1,
        _ => 0,
    }
}

/// The kind whose step function runs at `step` (a `Clip` step runs its base kind's).
fn kind_at(ctx: &RoundContext, step: u64) -> StepKind {
    ctx.program().inner_kind(ctx.shape(), step)
}

/// The register words an `Output` fault moves at a step of `kind`, and by how much.
fn output_words(
    ctx: &RoundContext,
    step: u64,
    kind: StepKind,
    lane: usize,
    delta: i64,
) -> Vec<(usize, i64)> {
    let slot_lane = lane % crate::SCORE_LANES;
    // The distance family's wide registers: words 2s and 2s + 1 are the high and low halves
    // of slot s. A wide value moves by delta·2^64 (its high word), which changes a selection.
    if slots_written(ctx, step) > 0 {
        return Vec::new();
    }
    match kind {
        // The pair's running distance.
        StepKind::Distance => vec![(0, delta)],
        // The lane's threshold prefix (the radix search goes on from it), or its sum.
        StepKind::ScoreRank => vec![(2 * slot_lane, delta)],
        StepKind::ScoreSum => vec![(2 * (2 * crate::SCORE_LANES + slot_lane), delta)],
        // The pick so far: another participant (the low word of `found`).
        StepKind::Pick => vec![(3, delta)],
        StepKind::SelectAccumulate => {
            let picks = crate::rules::selected::Plan::of(ctx).map_or(1, |p| p.divisor());
            vec![(lane, delta.wrapping_mul(i64::from(picks)))]
        }
        // Bulyan's trim: both median bounds, or the closeness prefix, by delta·2^20 (16 real
        // units: enough to change which values are closest); the sum of the closest values by
        // delta·β, so the output moves by exactly delta.
        StepKind::SelectRank => vec![
            (lane, delta.wrapping_shl(20)),
            (LANES + lane, delta.wrapping_shl(20)),
        ],
        StepKind::CloseRank => vec![(2 * LANES + lane, delta.wrapping_shl(20))],
        StepKind::CloseSum => {
            let beta = crate::rules::selected::Plan::of(ctx)
                .map_or(1, |p| p.rounds.saturating_sub(2 * p.selection.byzantine()));
            vec![(4 * LANES + lane, delta.wrapping_mul(beta as i64))]
        }
        StepKind::SelectFinalize | StepKind::CloseEmit => Vec::new(),
        // acc / W is the output: move acc by delta · W.
        StepKind::Accumulate => vec![(lane, delta.wrapping_mul(i64::from(ctx.total_weight())))],
        // Both bounds of the trimmed range: the order statistics (and so the mean) move.
        StepKind::Rank | StepKind::TrimSum => vec![(lane, delta), (LANES + lane, delta)],
        // The carry word: Σ x² moves by delta · 2^40, so the norm (and a scale below 1) moves.
        StepKind::Norm => vec![(1, delta)],
        StepKind::Finalize | StepKind::TrimEmit | StepKind::Scale | StepKind::Clip => Vec::new(),
    }
}

fn add_to_lane(leaf: &mut ValueLeaf, lane: usize, delta: i64) {
    if lane < LANES {
        // Truncation to the lane's width is the corruption's own business.
        #[allow(clippy::cast_possible_truncation)]
        let d = delta as i32;
        leaf[lane] = leaf[lane].wrapping_add(d);
    }
}

impl Tamper for Fault {
    fn affects(&self, steps: std::ops::Range<u64>) -> bool {
        steps.contains(&self.step)
    }

    fn register(&self, ctx: &RoundContext, step: u64, register: &mut [i64]) {
        if step != self.step {
            return;
        }
        let words = match self.cell {
            Cell::Register { word } => vec![(word, self.delta)],
            Cell::Output { lane } => output_words(ctx, step, kind_at(ctx, step), lane, self.delta),
            Cell::Leaf { .. } => return,
        };
        for (word, delta) in words {
            if let Some(w) = register.get_mut(word) {
                *w = w.wrapping_add(delta);
            }
        }
    }

    fn leaf(&self, ctx: &RoundContext, step: u64, leaf: &mut ValueLeaf) {
        if step != self.step {
            return;
        }
        match self.cell {
            Cell::Leaf { lane } => add_to_lane(leaf, lane, self.delta),
            Cell::Output { lane } if writes_leaf(kind_at(ctx, step)) => {
                add_to_lane(leaf, lane, self.delta);
            }
            Cell::Output { .. } | Cell::Register { .. } => {}
        }
    }

    fn slot(&self, ctx: &RoundContext, step: u64, index: usize, value: &mut u128) {
        let written = slots_written(ctx, step);
        if step != self.step || written == 0 {
            return;
        }
        // Two's complement: a negative delta lowers the slot.
        #[allow(clippy::cast_sign_loss)]
        let delta = i128::from(self.delta) as u128;
        match self.cell {
            Cell::Leaf { lane } if index == lane % written => *value = value.wrapping_add(delta),
            Cell::Output { lane } if index == lane % written => match kind_at(ctx, step) {
                // A pick by delta participants.
                StepKind::Pick => *value = value.wrapping_add(delta),
                // A distance down by delta·2^64, to zero when smaller: two updates made to
                // look alike (raising a distance rarely changes Krum's pick).
                StepKind::Distance => {
                    let by = u128::from(self.delta.unsigned_abs()) << 64;
                    *value = if self.delta >= 0 {
                        value.saturating_sub(by)
                    } else {
                        value.saturating_add(by)
                    };
                }
                // A score by delta·2^64.
                _ => *value = value.wrapping_add(delta.wrapping_shl(64)),
            },
            _ => {}
        }
    }

    // Two's complement: a negative delta moves the scale up.
    #[allow(clippy::cast_sign_loss)]
    fn scale(&self, ctx: &RoundContext, step: u64, scale: &mut u64) {
        if step == self.step
            && matches!(self.cell, Cell::Output { .. } | Cell::Leaf { .. })
            && kind_at(ctx, step) == StepKind::Scale
        {
            *scale = scale.wrapping_sub(self.delta.wrapping_shl(24) as u64);
        }
    }
}
