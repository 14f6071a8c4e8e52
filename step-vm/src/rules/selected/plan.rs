//! The distance family's schedule: phases, positions and the register each phase starts from.

use crate::kinds::{SCORE_LANES, SCORE_PASSES, distance_blocks, pair_count};
use crate::rules::Shape;
use crate::{
    RegisterLayout, Result, RoundContext, Rule, Selection, StepKind, StepPosition, VmError,
};

/// A phase of the program, by the register its steps carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// `Distance`: one slot, the pair's running sum.
    Distance,
    /// `ScoreRank`, `ScoreSum`: per lane a prefix, a count and a sum (24 slots).
    Score,
    /// `Pick`: the best score so far and its participant plus one (2 slots).
    Pick,
    /// `SelectAccumulate`, `SelectFinalize`: FedAvg's 32-lane accumulator.
    Average,
    /// Bulyan's `SelectRank`, `CloseRank`, `CloseSum`, `CloseEmit`: the order-statistic
    /// register (5 × 32 `Offset40` words).
    Trim,
}

impl Phase {
    /// The phase's zero register (every row of the phase starts from it) and its layout.
    #[must_use]
    pub fn zero(self) -> (Vec<i64>, RegisterLayout) {
        match self {
            Self::Distance => (vec![0; 2], RegisterLayout::Slots104),
            Self::Score => (vec![0; 2 * 3 * SCORE_LANES], RegisterLayout::Slots104),
            Self::Pick => (vec![0; 4], RegisterLayout::Slots104),
            Self::Average => (vec![0; crate::LANES], RegisterLayout::Be64),
            Self::Trim => (vec![0; crate::STAT_WORDS], RegisterLayout::Offset40),
        }
    }
}

/// The program's shape for one round: `D = n(n-1)/2 · C` distance steps; `R` rounds of
/// scoring (`B` blocks × 93 passes × `n` columns) each followed by `K` picks of `B` steps
/// (Krum and Multi-Krum: one round, `K = m'`; Bulyan: `θ` rounds of one pick); then `C` rows of
/// `n + 1` averaging steps (Krum, Multi-Krum) or `66n + 1` trim steps (Bulyan: 32 passes of
/// `SelectRank`, 33 of `CloseRank`, one of `CloseSum`, then `CloseEmit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The rule, its parameters [`Selection::effective`] for `n`.
    pub selection: Selection,
    /// Participants `n`.
    pub n: usize,
    /// Chunks `C`.
    pub chunks: usize,
    /// Blocks `B = ceil(n / 8)`.
    pub blocks: usize,
    /// Scoring rounds `R`.
    pub rounds: usize,
    /// Picks per round `K`.
    pub picks: usize,
}

impl Plan {
    /// The plan of `selection` over `shape`.
    #[must_use]
    pub fn new(selection: Selection, shape: Shape) -> Self {
        let n = shape.participants;
        let selection = selection.effective(n);
        let (rounds, picks) = match selection {
            Selection::Bulyan { .. } => (selection.picks(n), 1),
            _ => (1, selection.picks(n)),
        };
        Self {
            selection,
            n,
            chunks: shape.chunks,
            blocks: distance_blocks(n),
            rounds,
            picks,
        }
    }

    /// The plan of a round of a distance-family rule.
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] if the round's rule is not one.
    pub fn of(ctx: &RoundContext) -> Result<Self> {
        // Clipped or not: clipping runs the selection's program unchanged over clipped values.
        match ctx.config().rule.base() {
            Rule::Distance(selection) => Ok(Self::new(selection, ctx.shape())),
            other => Err(VmError::InvalidRound {
                field: "rule",
                expected: "Krum, MultiKrum or Bulyan".into(),
                actual: other.name().into(),
            }),
        }
    }

    /// Steps of the distance phase.
    #[must_use]
    pub fn distance_steps(&self) -> u64 {
        pair_count(self.n) * self.chunks as u64
    }

    /// Columns of one block of a scoring round.
    pub(crate) fn block_len(&self) -> u64 {
        (SCORE_PASSES as u64 + 1) * self.n as u64
    }

    /// Steps of the scoring part of a round.
    fn scoring_steps(&self) -> u64 {
        self.blocks as u64 * self.block_len()
    }

    /// Steps of one round: scoring, then its picks.
    fn round_steps(&self) -> u64 {
        self.scoring_steps() + (self.picks * self.blocks) as u64
    }

    /// First step of the averaging phase.
    #[must_use]
    pub fn average_start(&self) -> u64 {
        self.distance_steps() + self.rounds as u64 * self.round_steps()
    }

    /// Whether the last phase is Bulyan's trim (else the averaging).
    #[must_use]
    pub fn trims(&self) -> bool {
        matches!(self.selection, Selection::Bulyan { .. })
    }

    /// The last phase: the averaging or Bulyan's trim.
    #[must_use]
    pub fn last_phase(&self) -> Phase {
        if self.trims() {
            Phase::Trim
        } else {
            Phase::Average
        }
    }

    /// Columns of one row of the last phase: `n + 1`, or Bulyan's `66n + 1`.
    #[must_use]
    pub fn final_row_len(&self) -> u64 {
        let n = self.n as u64;
        if self.trims() {
            (crate::RANK_PASSES + crate::CLOSE_PASSES + 1) as u64 * n + 1
        } else {
            n + 1
        }
    }

    /// Program length `T`.
    #[must_use]
    pub fn steps(&self) -> u64 {
        self.average_start() + self.chunks as u64 * self.final_row_len()
    }

    /// First step of round `t`.
    #[must_use]
    pub fn round_start(&self, t: usize) -> u64 {
        self.distance_steps() + t as u64 * self.round_steps()
    }

    /// First step of pick `u` of round `t`.
    #[must_use]
    pub fn pick_start(&self, t: usize, u: usize) -> u64 {
        self.round_start(t) + self.scoring_steps() + (u * self.blocks) as u64
    }

    /// Kind and grid position of step `k < T`: `Distance` (row = pair, col = chunk),
    /// `ScoreRank`/`ScoreSum` (row = round·B + block, col = pass·n + column), `Pick`
    /// (row = round·K + pick, col = block), `SelectAccumulate`/`SelectFinalize` (row = chunk,
    /// col = participant, `n` for the emit), Bulyan's trim kinds (row = chunk, col =
    /// `pass·n + participant` through the three passes, `66n` for `CloseEmit`).
    #[must_use]
    pub fn position(&self, k: u64) -> StepPosition {
        // Every index below fits usize: rows and columns of a round of at most 255
        // participants and 2^23 chunks, pairs below 2^15.
        #[allow(clippy::cast_possible_truncation)]
        let at = |row: u64, col: u64, kind| StepPosition {
            row: row as usize,
            col: col as usize,
            kind,
        };
        let c = self.chunks as u64;
        if k < self.distance_steps() {
            return at(k / c, k % c, StepKind::Distance);
        }
        if k < self.average_start() {
            let rel = k - self.distance_steps();
            let (t, r) = (rel / self.round_steps(), rel % self.round_steps());
            if r < self.scoring_steps() {
                let (block, col) = (r / self.block_len(), r % self.block_len());
                let kind = if col < (SCORE_PASSES * self.n) as u64 {
                    StepKind::ScoreRank
                } else {
                    StepKind::ScoreSum
                };
                return at(t * self.blocks as u64 + block, col, kind);
            }
            let p = r - self.scoring_steps();
            let b = self.blocks as u64;
            return at(t * self.picks as u64 + p / b, p % b, StepKind::Pick);
        }
        let rel = k - self.average_start();
        let per = self.final_row_len();
        let (row, col) = (rel / per, rel % per);
        let n = self.n as u64;
        let kind = match (self.trims(), col) {
            (false, c) if c < n => StepKind::SelectAccumulate,
            (false, _) => StepKind::SelectFinalize,
            (true, c) if c < crate::RANK_PASSES as u64 * n => StepKind::SelectRank,
            (true, c) if c < (crate::RANK_PASSES + crate::CLOSE_PASSES) as u64 * n => {
                StepKind::CloseRank
            }
            (true, c) if c < per - 1 => StepKind::CloseSum,
            (true, _) => StepKind::CloseEmit,
        };
        at(row, col, kind)
    }

    /// The phase that follows the last step of a `Distance` row (pair `pair`).
    #[must_use]
    pub fn after_pair(&self, pair: usize) -> Phase {
        if (pair as u64) + 1 < pair_count(self.n) {
            Phase::Distance
        } else {
            Phase::Score
        }
    }

    /// The phase that follows the last `ScoreSum` of block `block` (of any round).
    #[must_use]
    pub fn after_block(&self, block: usize) -> Phase {
        if block + 1 < self.blocks {
            Phase::Score
        } else {
            Phase::Pick
        }
    }

    /// The phase that follows the last step of pick row `row` (`round·K + pick`).
    #[must_use]
    pub fn after_pick(&self, row: usize) -> Phase {
        let (t, u) = (row / self.picks, row % self.picks);
        if u + 1 < self.picks {
            Phase::Pick
        } else if t + 1 < self.rounds {
            Phase::Score
        } else {
            self.last_phase()
        }
    }

    /// The phase the program starts in.
    #[must_use]
    pub fn first_phase(&self) -> Phase {
        if self.distance_steps() > 0 {
            Phase::Distance
        } else {
            Phase::Score
        }
    }

    /// The rank (0-based) of the score threshold in round `t`: the neighbour count
    /// `m_r` among `r = n - t` members (Bulyan's rounds shrink the set; Krum's one round has
    /// `r = n`); the score is the sum of the `m_r + 1` smallest entries of a row, the
    /// member's own zero distance included.
    #[must_use]
    pub fn rank(&self, t: usize) -> u128 {
        self.selection.neighbours(self.n - t) as u128
    }

    /// The divisor of the averaging phase: the number of participants picked.
    #[must_use]
    pub fn divisor(&self) -> u32 {
        u32::try_from(self.rounds * self.picks).unwrap_or(u32::MAX)
    }
}
