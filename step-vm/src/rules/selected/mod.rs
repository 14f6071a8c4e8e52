//! The distance family's program (Krum, Multi-Krum; Bulyan's trim phase to come):
//! distances, then rounds of scoring and picks, then the mean of the picked updates
//! (docs/design/distance-family.md). States commit the phase's register and three regions:
//! the output tree, the distance matrix (8-lane leaves, row-major) and the selection leaves
//! (8 scores and the pick flags per block).
//!
//! Work in progress (issue 8): the schedule, the honest execution and every state on demand
//! are here; step witnesses (the reads with their openings) come with the kinds' checks.

mod plan;

use std::sync::Arc;

pub use plan::{Phase, Plan};

use crate::kinds::{
    PickRegister, SCORE_LANES, SCORE_PASSES, SLOT_MAX, ScoreRegister, distance_leaf_index,
    distance_step, pair_at, pick_step, score_rank_step, score_sum_step,
};
use crate::rules::{Execution, Program, Shape};
use crate::{
    CompleteTree, Digest, Distances, LANES, Result, RoundContext, Selection, State, StepKind,
    StepPosition, StepWitness, Tamper, Update, VmError, distance_leaf_hash, empty_root,
    merkle::depth_for, selection_leaf_hash, slot_words,
};

/// The distance family's program for one selection rule.
#[derive(Debug, Clone, Copy)]
pub struct Selected {
    selection: Selection,
}

impl Selected {
    /// The program of `selection`.
    #[must_use]
    pub fn new(selection: Selection) -> Self {
        Self { selection }
    }

    fn plan(&self, shape: Shape) -> Plan {
        Plan::new(self.selection, shape)
    }
}

fn state_of(step: u64, phase: Phase, regions: Vec<Digest>) -> State {
    let (zero, layout) = phase.zero();
    State::new(step, zero, regions).with_layout(layout)
}

impl Program for Selected {
    fn steps(&self, shape: Shape) -> u64 {
        self.plan(shape).steps()
    }

    fn position(&self, shape: Shape, k: u64) -> StepPosition {
        self.plan(shape).position(k)
    }

    fn initial_state(&self, shape: Shape) -> State {
        let plan = self.plan(shape);
        state_of(
            0,
            plan.first_phase(),
            vec![
                empty_root(depth_for(shape.chunks)),
                empty_root(depth_for(shape.participants * plan.blocks)),
                empty_root(depth_for(plan.blocks)),
            ],
        )
    }

    fn final_state(&self, shape: Shape, output_root: &Digest) -> State {
        // The last step clears the working memory: the claim derives from the output root.
        state_of(
            self.steps(shape),
            Phase::Average,
            vec![*output_root, [0; 32], [0; 32]],
        )
    }

    fn execute(
        &self,
        ctx: RoundContext,
        updates: Vec<Update>,
        tamper: Arc<dyn Tamper>,
    ) -> Result<Box<dyn Execution>> {
        crate::trace::check_dims(&ctx, &updates)?;
        let plan = self.plan(ctx.shape());
        if let Selection::Bulyan { .. } = plan.selection {
            return Err(VmError::InvalidRound {
                field: "rule",
                expected: "Krum or MultiKrum (Bulyan's trim phase is in progress, issue 8)".into(),
                actual: "Bulyan".into(),
            });
        }
        if tamper.affects(0..plan.steps()) {
            return Err(VmError::InvalidRound {
                field: "tamper",
                expected: "faults in the distance family's program (issue 8, in progress)".into(),
                actual: "a fault".into(),
            });
        }
        let distances = Distances::compute(&updates)?;
        let rounds = honest_rounds(&plan, &distances);
        let output = crate::distance_native_with(self.selection, &updates, &distances)?;
        let mut padded = output.clone();
        padded.resize(plan.chunks * LANES, 0);
        let output_tree = Update::from_fixed(padded).tree();
        Ok(Box::new(SelectedRun {
            ctx,
            plan,
            updates,
            distances,
            rounds,
            output,
            output_tree,
        }))
    }
}

/// One honest scoring round: the flags before it, every lane's threshold and score (padding
/// and picked lanes included, exactly as the steps compute them), and its picks.
#[derive(Debug, Clone)]
struct Round {
    picked_before: Vec<bool>,
    thresholds: Vec<u128>,
    scores: Vec<u128>,
    picks: Vec<usize>,
}

/// The entry of lane `i`'s row at column `j` in a round with `picked` flags: a picked column
/// is masked to `SLOT_MAX`, a padding lane's row is zero.
fn entry(d: &Distances, picked: &[bool], i: usize, j: usize) -> u128 {
    if picked[j] {
        SLOT_MAX
    } else if i < d.participants() {
        d.get(i, j)
    } else {
        0
    }
}

fn honest_rounds(plan: &Plan, d: &Distances) -> Vec<Round> {
    let n = plan.n;
    let mut picked = vec![false; n];
    let mut out = Vec::with_capacity(plan.rounds);
    let cap = (1u128 << SCORE_PASSES) - 1;
    for t in 0..plan.rounds {
        let m = plan.rank(t);
        let lanes = plan.blocks * SCORE_LANES;
        let mut thresholds = Vec::with_capacity(lanes);
        let mut scores = Vec::with_capacity(lanes);
        let mut row = Vec::with_capacity(n);
        for i in 0..lanes {
            row.clear();
            row.extend((0..n).map(|j| entry(d, &picked, i, j)));
            row.sort_unstable();
            // The radix search's result: the largest p < 2^92 with #{v < p} <= m.
            #[allow(clippy::cast_possible_truncation)]
            let th = row.get(m as usize).map_or(cap, |&v| v.min(cap));
            let below: Vec<u128> = row.iter().copied().filter(|&v| v < th).collect();
            let count = below.len() as u128;
            let sum: u128 = below.iter().sum();
            thresholds.push(th);
            scores.push(sum.wrapping_add((m + 1).wrapping_sub(count).wrapping_mul(th)));
        }
        let before = picked.clone();
        let mut picks = Vec::with_capacity(plan.picks);
        for _ in 0..plan.picks {
            let mut reg = PickRegister::default();
            for b in 0..plan.blocks {
                reg = pick_step(reg, &masked_scores(plan, &scores, &picked, b), b);
            }
            if let Some(w) = usize::try_from(reg.found)
                .ok()
                .and_then(|f| f.checked_sub(1))
            {
                picked[w] = true;
                picks.push(w);
            }
        }
        out.push(Round {
            picked_before: before,
            thresholds,
            scores,
            picks,
        });
    }
    out
}

/// Block `b`'s scores as a `Pick` step sees them: picked and padding lanes masked.
fn masked_scores(plan: &Plan, scores: &[u128], picked: &[bool], b: usize) -> [u128; SCORE_LANES] {
    std::array::from_fn(|l| {
        let i = b * SCORE_LANES + l;
        if i >= plan.n || picked[i] {
            SLOT_MAX
        } else {
            scores[i]
        }
    })
}

#[derive(Debug)]
struct SelectedRun {
    ctx: RoundContext,
    plan: Plan,
    updates: Vec<Update>,
    distances: Distances,
    rounds: Vec<Round>,
    output: Vec<i32>,
    output_tree: CompleteTree,
}

impl SelectedRun {
    /// The distance tree with the first `pairs` pairs written.
    fn distance_root(&self, pairs: u64) -> Digest {
        let n = self.plan.n;
        let mut leaves = vec![[0u128; SCORE_LANES]; n * self.plan.blocks];
        for p in 0..pairs {
            let (a, b) = pair_at(p);
            let d = self.distances.get(a, b);
            for (row, col) in [(a, b), (b, a)] {
                let (leaf, lane) = distance_leaf_index(n, row, col);
                // Leaves index a matrix of at most 255 × 32 leaves.
                #[allow(clippy::cast_possible_truncation)]
                let leaf = leaf as usize;
                leaves[leaf][lane] = d;
            }
        }
        let hashes: Vec<Digest> = leaves.iter().map(distance_leaf_hash).collect();
        CompleteTree::new(&hashes).root()
    }

    /// The selection tree after round `t`'s first `blocks` score writes and first `picks`
    /// picks (earlier rounds complete).
    fn selection_root(&self, t: usize, blocks: usize, picks: usize) -> Digest {
        let plan = &self.plan;
        let mut scores = vec![0u128; plan.blocks * SCORE_LANES];
        let mut flags = vec![0u8; plan.blocks];
        let mark = |flags: &mut Vec<u8>, i: usize| flags[i / SCORE_LANES] |= 1 << (i % SCORE_LANES);
        for round in &self.rounds[..t] {
            scores.clone_from(&round.scores);
            for &w in &round.picks {
                mark(&mut flags, w);
            }
        }
        if let Some(round) = self.rounds.get(t) {
            let upto = blocks * SCORE_LANES;
            scores[..upto].copy_from_slice(&round.scores[..upto]);
            for &w in round.picks.iter().take(picks) {
                mark(&mut flags, w);
            }
        }
        let leaves: Vec<Digest> = (0..plan.blocks)
            .map(|b| {
                let block: [u128; SCORE_LANES] =
                    std::array::from_fn(|l| scores[b * SCORE_LANES + l]);
                selection_leaf_hash(&block, flags[b])
            })
            .collect();
        CompleteTree::new(&leaves).root()
    }

    /// Regions while the selection phase runs (every pair written).
    fn selection_regions(&self, t: usize, blocks: usize, picks: usize) -> Vec<Digest> {
        vec![
            empty_root(depth_for(self.plan.chunks)),
            self.distance_root(crate::kinds::pair_count(self.plan.n)),
            self.selection_root(t, blocks, picks),
        ]
    }

    /// The column entries of block `b` at column `j` in round `t`.
    fn column(&self, t: usize, b: usize, j: usize) -> [u128; SCORE_LANES] {
        let picked = &self.rounds[t].picked_before;
        std::array::from_fn(|l| entry(&self.distances, picked, b * SCORE_LANES + l, j))
    }

    /// The scoring register of round `t`, block `b` after its first `cols` columns.
    fn score_register(&self, t: usize, b: usize, cols: usize) -> ScoreRegister {
        let n = self.plan.n;
        let rank = self.plan.rank(t);
        let mut reg = ScoreRegister::default();
        for col in 0..cols {
            let (pass, j) = (col / n, col % n);
            let v = self.column(t, b, j);
            reg = if pass < SCORE_PASSES {
                // pass < 92: the bit fits u32.
                #[allow(clippy::cast_possible_truncation)]
                let bit = (SCORE_PASSES - 1 - pass) as u32;
                score_rank_step(&reg, &v, bit, j == n - 1, rank)
            } else {
                score_sum_step(&reg, &v)
            };
        }
        reg
    }
}

impl Execution for SelectedRun {
    fn output(&self) -> &[i32] {
        &self.output
    }

    fn input(&self, i: usize) -> &Update {
        &self.updates[i]
    }

    fn output_root(&self) -> Digest {
        self.output_tree.root()
    }

    fn state(&self, k: u64) -> Result<State> {
        let plan = &self.plan;
        let steps = plan.steps();
        if k == steps {
            return Ok(self
                .ctx
                .program()
                .final_state(self.ctx.shape(), &self.output_root()));
        }
        let pos = plan.position(k);
        let c = plan.chunks;
        Ok(match pos.kind {
            StepKind::Distance => {
                let (a, b) = pair_at(pos.row as u64);
                let acc = (0..pos.col).fold(0u128, |acc, j| {
                    distance_step(acc, &self.updates[a].leaf(j), &self.updates[b].leaf(j))
                });
                let regions = vec![
                    empty_root(depth_for(c)),
                    self.distance_root(pos.row as u64),
                    empty_root(depth_for(plan.blocks)),
                ];
                let mut state = state_of(k, Phase::Distance, regions);
                state.register = slot_words(acc).to_vec();
                state
            }
            StepKind::ScoreRank | StepKind::ScoreSum => {
                let (t, b) = (pos.row / plan.blocks, pos.row % plan.blocks);
                let mut state = state_of(k, Phase::Score, self.selection_regions(t, b, 0));
                state.register = self.score_register(t, b, pos.col).words();
                state
            }
            StepKind::Pick => {
                let (t, u) = (pos.row / plan.picks, pos.row % plan.picks);
                let mut picked = self.rounds[t].picked_before.clone();
                for &w in self.rounds[t].picks.iter().take(u) {
                    picked[w] = true;
                }
                let mut reg = PickRegister::default();
                for b in 0..pos.col {
                    reg = pick_step(
                        reg,
                        &masked_scores(plan, &self.rounds[t].scores, &picked, b),
                        b,
                    );
                }
                let mut state = state_of(k, Phase::Pick, self.selection_regions(t, plan.blocks, u));
                state.register = reg.words();
                state
            }
            StepKind::SelectAccumulate | StepKind::SelectFinalize => {
                let picked = self.picked();
                let mut acc = [0i64; LANES];
                for i in (0..pos.col).filter(|&i| picked[i]) {
                    for (a, &x) in acc.iter_mut().zip(&self.updates[i].leaf(pos.row)) {
                        *a += i64::from(x);
                    }
                }
                let mut regions = self.selection_regions(plan.rounds, 0, 0);
                regions[0] = self.output_tree.prefix_root(pos.row);
                let mut state = state_of(k, Phase::Average, regions);
                state.register = acc.to_vec();
                state
            }
            other => {
                return Err(VmError::InvalidRound {
                    field: "step kind",
                    expected: "a distance-family kind".into(),
                    actual: other.name().into(),
                });
            }
        })
    }

    fn witness(&self, k: u64) -> Result<StepWitness> {
        Err(VmError::InvalidRound {
            field: "witness",
            expected: "the distance family's step reads (issue 8, in progress)".into(),
            actual: format!("step {k}"),
        })
    }
}

impl SelectedRun {
    /// Every participant's flag after the last round.
    fn picked(&self) -> Vec<bool> {
        let mut picked = vec![false; self.plan.n];
        for round in &self.rounds {
            for &w in &round.picks {
                picked[w] = true;
            }
        }
        picked
    }
}

#[cfg(test)]
mod tests;
