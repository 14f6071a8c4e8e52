//! The distance family's program (Krum, Multi-Krum, Bulyan): distances, then rounds of scoring
//! and picks, then the mean of the picked updates or Bulyan's trim
//! (docs/design/distance-family.md). States commit the phase's register and three regions:
//! the output tree, the distance matrix (8-lane leaves, row-major) and the selection leaves
//! (8 scores and the pick flags per block).
//!
//! The honest path computes the distance matrix once, selects natively (sorting each row, which
//! the scoring steps' radix search reproduces exactly) and commits only the output tree; a
//! state or witness is rebuilt on demand by replaying its row. A run whose hook may alter a
//! write replays every row through the hook and keeps the memory as the liar wrote it.
//!
//! Bulyan's `θ` rounds of one pick end in the trim phase (`kinds::close`) instead of the
//! averaging.

mod plan;

use std::sync::Arc;

pub use plan::{Phase, Plan};

use crate::kinds::{
    CLOSE_PASSES, ClientRead, CloseEmitReads, DistanceOpening, DistanceReads, FinalizeReads,
    PickReads, PickRegister, RANK_PASSES, SCORE_LANES, SCORE_PASSES, SLOT_MAX, ScoreReads,
    ScoreRegister, SelectReads, SelectionOpening, StatRegister, StepReads, TrimReads, block_scores,
    close_emit, close_rank_step, close_sum_step, distance_leaf_index, distance_step, pair_at,
    pair_count, pick_step, rank_step, score_rank_step, score_sum_step, select_values,
};
use crate::rules::rows::foreign_kind;
use crate::rules::{Execution, Program, Shape};
use crate::{
    AccLeaf, CompleteTree, Digest, Distances, LANES, Result, RoundContext, Selection, State,
    StepKind, StepPosition, StepWitness, Tamper, Update, ValueLeaf, accumulate, distance_leaf_hash,
    empty_root, finalize, merkle::depth_for, selection_leaf_hash, slot_value, slot_words,
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
            self.plan(shape).last_phase(),
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
        let distances = Distances::compute(&updates)?;
        let mut run = SelectedRun {
            ctx,
            plan,
            updates,
            tamper,
            matrix: Vec::new(),
            rounds: Vec::new(),
            output: Vec::new(),
            output_tree: CompleteTree::new(&[[0; 32]]),
        };
        if run.tamper.affects(0..plan.steps() + 1) {
            // A liar's run: every row replayed step by step through the hook.
            run.matrix = run.written_matrix(&distances);
            run.rounds = run.replayed_rounds();
            let leaves = (0..plan.chunks)
                .map(|j| run.output_leaf(j))
                .collect::<Result<Vec<_>>>()?;
            run.output = leaves.into_iter().flatten().take(run.ctx.dim()).collect();
        } else {
            // The honest path: the native selection and mean over the one distance matrix.
            run.matrix = full_matrix(&distances);
            run.rounds = honest_rounds(&plan, &run.matrix);
            run.output = crate::distance_native_with(self.selection, &run.updates, &distances)?;
        }
        let mut padded = run.output.clone();
        padded.resize(plan.chunks * LANES, 0);
        run.output_tree = Update::from_fixed(padded).tree();
        Ok(Box::new(run))
    }
}

/// The `n × n` distance matrix, row-major.
fn full_matrix(d: &Distances) -> Vec<u128> {
    let n = d.participants();
    (0..n * n).map(|x| d.get(x / n, x % n)).collect()
}

/// One scoring round as written: the flags before it (one per lane, padding included), every
/// lane's score (padding and picked lanes included, exactly as the steps compute them) and
/// its picks.
#[derive(Debug, Clone)]
struct Round {
    picked_before: Vec<bool>,
    scores: Vec<u128>,
    picks: Vec<usize>,
}

/// The entry of lane `i`'s row at column `j` with `picked` flags: a picked column is masked to
/// `SLOT_MAX`, a padding lane's row is zero.
fn entry(matrix: &[u128], n: usize, picked: &[bool], i: usize, j: usize) -> u128 {
    if picked[j] {
        SLOT_MAX
    } else if i < n {
        matrix[i * n + j]
    } else {
        0
    }
}

/// The honest rounds, by sorting each row (what the radix replay yields, tested).
fn honest_rounds(plan: &Plan, matrix: &[u128]) -> Vec<Round> {
    let n = plan.n;
    let lanes = plan.blocks * SCORE_LANES;
    let mut picked = vec![false; lanes];
    let mut out = Vec::with_capacity(plan.rounds);
    let cap = (1u128 << SCORE_PASSES) - 1;
    for t in 0..plan.rounds {
        let m = plan.rank(t);
        let mut scores = Vec::with_capacity(lanes);
        let mut row = Vec::with_capacity(n);
        for i in 0..lanes {
            row.clear();
            row.extend((0..n).map(|j| entry(matrix, n, &picked, i, j)));
            row.sort_unstable();
            // The radix search's result: the largest p < 2^92 with #{v < p} <= m.
            #[allow(clippy::cast_possible_truncation)]
            let th = row.get(m as usize).map_or(cap, |&v| v.min(cap));
            let (count, sum) = row
                .iter()
                .filter(|&&v| v < th)
                .fold((0u128, 0u128), |(c, s), &v| (c + 1, s.wrapping_add(v)));
            scores.push(sum.wrapping_add((m + 1).wrapping_sub(count).wrapping_mul(th)));
        }
        let before = picked.clone();
        let mut picks = Vec::with_capacity(plan.picks);
        for _ in 0..plan.picks {
            let mut reg = PickRegister::default();
            for b in 0..plan.blocks {
                reg = pick_step(reg, &masked_scores(plan, &scores, &picked, b), b);
            }
            if let Some(w) = winner(reg.found, lanes) {
                picked[w] = true;
                picks.push(w);
            }
        }
        out.push(Round {
            picked_before: before,
            scores,
            picks,
        });
    }
    out
}

/// The lane a pick register's `found` names, if it names one.
fn winner(found: u128, lanes: usize) -> Option<usize> {
    usize::try_from(found)
        .ok()
        .and_then(|f| f.checked_sub(1))
        .filter(|&w| w < lanes)
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

/// An executed distance-family program: the memory as its steps wrote it (the hook applied),
/// every state and witness rebuilt on demand by replaying one row.
#[derive(Debug)]
struct SelectedRun {
    ctx: RoundContext,
    plan: Plan,
    updates: Vec<Update>,
    tamper: Arc<dyn Tamper>,
    /// The distance matrix as written, row-major `n × n` (symmetric).
    matrix: Vec<u128>,
    rounds: Vec<Round>,
    output: Vec<i32>,
    output_tree: CompleteTree,
}

impl SelectedRun {
    /// The register a row starting at step `k0` starts from: `phase`'s zero, as step
    /// `k0 - 1` left it.
    fn start(&self, k0: u64, phase: Phase) -> Vec<i64> {
        let mut zero = phase.zero().0;
        if k0 > 0 {
            self.tamper.register(&self.ctx, k0 - 1, &mut zero);
        }
        zero
    }

    /// `words` as step `k` leaves them.
    fn hooked(&self, k: u64, mut words: Vec<i64>) -> Vec<i64> {
        self.tamper.register(&self.ctx, k, &mut words);
        words
    }

    /// Pair `p`'s register after its first `cols < C` chunks, or with `cols = C` the
    /// distance its last step writes.
    fn pair_sum(&self, p: usize, cols: usize) -> u128 {
        let (a, b) = pair_at(p as u64);
        let k0 = (p * self.plan.chunks) as u64;
        let start = self.start(k0, Phase::Distance);
        let mut acc = slot_value(start[0], start[1]);
        for j in 0..cols {
            acc = distance_step(acc, &self.updates[a].leaf(j), &self.updates[b].leaf(j));
            let k = k0 + j as u64;
            if j + 1 < self.plan.chunks {
                let words = self.hooked(k, slot_words(acc).to_vec());
                acc = slot_value(words[0], words[1]);
            } else {
                self.tamper.slot(&self.ctx, k, 0, &mut acc);
            }
        }
        acc
    }

    /// The matrix a liar's distance phase writes: pairs the hook touches replayed.
    fn written_matrix(&self, d: &Distances) -> Vec<u128> {
        let (n, c) = (self.plan.n, self.plan.chunks as u64);
        let mut matrix = full_matrix(d);
        for p in 0..pair_count(n) {
            if self.tamper.affects((p * c).saturating_sub(1)..(p + 1) * c) {
                // p < 2^15.
                #[allow(clippy::cast_possible_truncation)]
                let v = self.pair_sum(p as usize, self.plan.chunks);
                let (a, b) = pair_at(p);
                matrix[a * n + b] = v;
                matrix[b * n + a] = v;
            }
        }
        matrix
    }

    /// First step of scoring block `b` of round `t`.
    fn block_start(&self, t: usize, b: usize) -> u64 {
        self.plan.round_start(t) + b as u64 * self.plan.block_len()
    }

    /// Round `t`'s flags before its scoring (one per lane).
    fn picked_before(&self, t: usize) -> Vec<bool> {
        let mut picked = vec![false; self.plan.blocks * SCORE_LANES];
        for round in &self.rounds[..t] {
            for &w in &round.picks {
                picked[w] = true;
            }
        }
        picked
    }

    /// Block `b`'s column `j` in a round with flags `picked`.
    fn column(&self, picked: &[bool], b: usize, j: usize) -> [u128; SCORE_LANES] {
        std::array::from_fn(|l| entry(&self.matrix, self.plan.n, picked, b * SCORE_LANES + l, j))
    }

    /// The scoring register of round `t`, block `b` after its first `cols` columns (the
    /// hook applied after each but the last), flags `picked`; with every column, the
    /// register before the last column's reset and the scores written.
    fn score_block(
        &self,
        picked: &[bool],
        t: usize,
        b: usize,
        cols: usize,
    ) -> (ScoreRegister, [u128; SCORE_LANES]) {
        let n = self.plan.n;
        let rank = self.plan.rank(t);
        let k0 = self.block_start(t, b);
        let total = (SCORE_PASSES + 1) * n;
        let mut reg = ScoreRegister::of(&self.start(k0, Phase::Score)).unwrap_or_default();
        let mut scores = [0; SCORE_LANES];
        for col in 0..cols {
            let (pass, j) = (col / n, col % n);
            let v = self.column(picked, b, j);
            reg = if pass < SCORE_PASSES {
                // pass < 92: the bit fits u32.
                #[allow(clippy::cast_possible_truncation)]
                let bit = (SCORE_PASSES - 1 - pass) as u32;
                score_rank_step(&reg, &v, bit, j == n - 1, rank)
            } else {
                score_sum_step(&reg, &v)
            };
            let k = k0 + col as u64;
            if col + 1 < total {
                reg = ScoreRegister::of(&self.hooked(k, reg.words())).unwrap_or_default();
            } else {
                scores = block_scores(&reg, rank);
                for (l, s) in scores.iter_mut().enumerate() {
                    self.tamper.slot(&self.ctx, k, l, s);
                }
            }
        }
        (reg, scores)
    }

    /// Pick `u` of round `t` after its first `cols` blocks over `scores` with flags `picked`
    /// (the hook applied after each but the last), and the lane the last block flags.
    fn pick_scan(
        &self,
        scores: &[u128],
        picked: &[bool],
        t: usize,
        u: usize,
        cols: usize,
    ) -> (PickRegister, Option<usize>) {
        let k0 = self.plan.pick_start(t, u);
        let mut reg = PickRegister::of(&self.start(k0, Phase::Pick)).unwrap_or_default();
        let mut won = None;
        for b in 0..cols {
            reg = pick_step(reg, &masked_scores(&self.plan, scores, picked, b), b);
            let k = k0 + b as u64;
            if b + 1 < self.plan.blocks {
                reg = PickRegister::of(&self.hooked(k, reg.words())).unwrap_or_default();
            } else {
                let mut found = reg.found;
                self.tamper.slot(&self.ctx, k, 0, &mut found);
                won = winner(found, self.plan.blocks * SCORE_LANES);
            }
        }
        (reg, won)
    }

    /// A liar's rounds: every scoring block and pick replayed through the hook.
    fn replayed_rounds(&self) -> Vec<Round> {
        let plan = self.plan;
        let mut rounds: Vec<Round> = Vec::with_capacity(plan.rounds);
        let mut picked = vec![false; plan.blocks * SCORE_LANES];
        for t in 0..plan.rounds {
            let scores: Vec<u128> = (0..plan.blocks)
                .flat_map(|b| {
                    self.score_block(&picked, t, b, (SCORE_PASSES + 1) * plan.n)
                        .1
                })
                .collect();
            let before = picked.clone();
            let mut picks = Vec::new();
            for u in 0..plan.picks {
                if let (_, Some(w)) = self.pick_scan(&scores, &picked, t, u, plan.blocks) {
                    picked[w] = true;
                    picks.push(w);
                }
            }
            rounds.push(Round {
                picked_before: before,
                scores,
                picks,
            });
        }
        rounds
    }

    /// Every lane's flag after the last round.
    fn picked(&self) -> Vec<bool> {
        self.picked_before(self.rounds.len())
    }

    /// Averaging row `j` after its first `cols` steps: the accumulator (`cols <= n`), and with
    /// `cols = n + 1` the output leaf the row's `SelectFinalize` writes.
    fn average_row(&self, j: usize, cols: usize) -> (AccLeaf, Result<ValueLeaf>) {
        let n = self.plan.n;
        let k0 = self.plan.average_start() + (j * (n + 1)) as u64;
        let picked = self.picked();
        let mut acc = AccLeaf::try_from(self.start(k0, Phase::Average)).unwrap_or_default();
        for (i, &flag) in picked.iter().enumerate().take(cols.min(n)) {
            acc = accumulate(&acc, u32::from(flag), &self.updates[i].leaf(j));
            acc = AccLeaf::try_from(self.hooked(k0 + i as u64, acc.to_vec())).unwrap_or_default();
        }
        let out = if cols > n {
            finalize(&acc, self.plan.divisor()).map(|mut out| {
                self.tamper.leaf(&self.ctx, k0 + n as u64, &mut out);
                out
            })
        } else {
            Ok([0; LANES])
        };
        (acc, out)
    }

    /// Output leaf `j` as the last phase's row writes it (replayed through the hook).
    fn output_leaf(&self, j: usize) -> Result<ValueLeaf> {
        if self.plan.trims() {
            self.trim_row(j, self.plan.final_row_len() as usize).1
        } else {
            self.average_row(j, self.plan.n + 1).1
        }
    }

    /// Bulyan's trim parameters: `θ` picked, `β = θ − 2f` kept.
    fn trim_params(&self) -> (u32, u32) {
        let theta = u32::try_from(self.plan.rounds).unwrap_or(u32::MAX);
        (
            theta,
            theta - 2 * u32::try_from(self.plan.selection.byzantine()).unwrap_or(0),
        )
    }

    /// Trim row `j` after its first `cols` steps: the register, and with every column the
    /// output leaf its `CloseEmit` writes.
    fn trim_row(&self, j: usize, cols: usize) -> (StatRegister, Result<ValueLeaf>) {
        let n = self.plan.n;
        let k0 = self.plan.average_start() + j as u64 * self.plan.final_row_len();
        let picked = self.picked();
        let (theta, beta) = self.trim_params();
        let ranks = ((theta - 1) / 2, theta / 2);
        let rank_cols = RANK_PASSES * n;
        let close_cols = (RANK_PASSES + CLOSE_PASSES) * n;
        let total = close_cols + n;
        let words = |reg: &StatRegister, k: u64| {
            StatRegister::of(&State::new(0, self.hooked(k, reg.words()), Vec::new()))
                .unwrap_or_default()
        };
        let mut reg = StatRegister::of(&State::new(0, self.start(k0, Phase::Trim), Vec::new()))
            .unwrap_or_default();
        for col in 0..cols.min(total) {
            let i = col % n;
            let x = self.updates[i].leaf(j);
            let last = i == n - 1;
            reg = if col < rank_cols {
                rank_step(&reg, &select_values(&x, picked[i]), col / n, last, ranks)
            } else if col < close_cols {
                let pass = (col - rank_cols) / n;
                close_rank_step(&reg, &x, picked[i], pass, last, beta - 1)
            } else {
                close_sum_step(&reg, &x, picked[i])
            };
            reg = words(&reg, k0 + col as u64);
        }
        let out = if cols > total {
            close_emit(&reg, beta).map(|mut out| {
                self.tamper.leaf(&self.ctx, k0 + total as u64, &mut out);
                out
            })
        } else {
            Ok([0; LANES])
        };
        (reg, out)
    }

    /// The distance tree's leaves with the first `pairs` pairs written.
    fn distance_leaves(&self, pairs: u64) -> Vec<[u128; SCORE_LANES]> {
        let n = self.plan.n;
        let mut leaves = vec![[0u128; SCORE_LANES]; n * self.plan.blocks];
        for p in 0..pairs {
            let (a, b) = pair_at(p);
            for (row, col) in [(a, b), (b, a)] {
                write_lane(&mut leaves, n, row, col, self.matrix[a * n + b]);
            }
        }
        leaves
    }

    /// The selection leaves after round `t`'s first `blocks` score writes and first `picks`
    /// picks (earlier rounds complete; `t = R`: every round).
    fn selection_leaves(&self, t: usize, blocks: usize, picks: usize) -> Vec<SelectionLeaf> {
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
        (0..plan.blocks)
            .map(|b| SelectionLeaf {
                scores: std::array::from_fn(|l| scores[b * SCORE_LANES + l]),
                flags: flags[b],
            })
            .collect()
    }

    /// The regions of a state of the selection or averaging phase (every pair written).
    fn selection_regions(&self, t: usize, blocks: usize, picks: usize) -> Vec<Digest> {
        vec![
            empty_root(depth_for(self.plan.chunks)),
            distance_tree(&self.distance_leaves(pair_count(self.plan.n))).root(),
            selection_tree(&self.selection_leaves(t, blocks, picks)).root(),
        ]
    }

    /// Where a scoring row `(t, b)` or pick row `(t, u)` is in its round.
    fn score_row(&self, row: usize) -> (usize, usize) {
        (row / self.plan.blocks, row % self.plan.blocks)
    }

    fn pick_row(&self, row: usize) -> (usize, usize) {
        (row / self.plan.picks, row % self.plan.picks)
    }

    /// The flags pick `u` of round `t` scans with.
    fn picked_at(&self, t: usize, u: usize) -> Vec<bool> {
        let mut picked = self.rounds[t].picked_before.clone();
        for &w in self.rounds[t].picks.iter().take(u) {
            picked[w] = true;
        }
        picked
    }
}

/// A selection leaf's contents.
#[derive(Debug, Clone, Copy)]
struct SelectionLeaf {
    scores: [u128; SCORE_LANES],
    flags: u8,
}

impl SelectionLeaf {
    fn opening(&self, tree: &CompleteTree, block: usize) -> SelectionOpening {
        SelectionOpening {
            block,
            scores: self.scores,
            flags: self.flags,
            path: tree.proof(block),
        }
    }
}

fn selection_tree(leaves: &[SelectionLeaf]) -> CompleteTree {
    let hashes: Vec<Digest> = leaves
        .iter()
        .map(|l| selection_leaf_hash(&l.scores, l.flags))
        .collect();
    CompleteTree::new(&hashes)
}

fn distance_tree(leaves: &[[u128; SCORE_LANES]]) -> CompleteTree {
    let hashes: Vec<Digest> = leaves.iter().map(distance_leaf_hash).collect();
    CompleteTree::new(&hashes)
}

/// Writes `D_{row, col}` into the matrix leaves.
fn write_lane(leaves: &mut [[u128; SCORE_LANES]], n: usize, row: usize, col: usize, v: u128) {
    let (leaf, lane) = distance_leaf_index(n, row, col);
    // Leaves index a matrix of at most 255 × 32 leaves.
    #[allow(clippy::cast_possible_truncation)]
    let leaf = leaf as usize;
    leaves[leaf][lane] = v;
}

/// The opening of distance leaf `leaf` in `leaves`' tree.
fn distance_opening(
    leaves: &[[u128; SCORE_LANES]],
    tree: &CompleteTree,
    leaf: u64,
) -> DistanceOpening {
    // Leaves index a matrix of at most 255 × 32 leaves.
    #[allow(clippy::cast_possible_truncation)]
    let at = leaf as usize;
    DistanceOpening {
        leaf,
        lanes: leaves[at],
        path: tree.proof(at),
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
        if k == plan.steps() {
            let mut state = self
                .ctx
                .program()
                .final_state(self.ctx.shape(), &self.output_root());
            state.register = self.start(k, plan.last_phase());
            return Ok(state);
        }
        let pos = plan.position(k);
        let (phase, register, regions) = match pos.kind {
            StepKind::Distance => (
                Phase::Distance,
                slot_words(self.pair_sum(pos.row, pos.col)).to_vec(),
                vec![
                    empty_root(depth_for(plan.chunks)),
                    distance_tree(&self.distance_leaves(pos.row as u64)).root(),
                    empty_root(depth_for(plan.blocks)),
                ],
            ),
            StepKind::ScoreRank | StepKind::ScoreSum => {
                let (t, b) = self.score_row(pos.row);
                let picked = &self.rounds[t].picked_before;
                (
                    Phase::Score,
                    self.score_block(picked, t, b, pos.col).0.words(),
                    self.selection_regions(t, b, 0),
                )
            }
            StepKind::Pick => {
                let (t, u) = self.pick_row(pos.row);
                let picked = self.picked_at(t, u);
                let scores = &self.rounds[t].scores;
                (
                    Phase::Pick,
                    self.pick_scan(scores, &picked, t, u, pos.col).0.words(),
                    self.selection_regions(t, plan.blocks, u),
                )
            }
            StepKind::SelectAccumulate | StepKind::SelectFinalize => {
                let mut regions = self.selection_regions(plan.rounds, 0, 0);
                regions[0] = self.output_tree.prefix_root(pos.row);
                (
                    Phase::Average,
                    self.average_row(pos.row, pos.col).0.to_vec(),
                    regions,
                )
            }
            StepKind::SelectRank
            | StepKind::CloseRank
            | StepKind::CloseSum
            | StepKind::CloseEmit => {
                let mut regions = self.selection_regions(plan.rounds, 0, 0);
                regions[0] = self.output_tree.prefix_root(pos.row);
                (
                    Phase::Trim,
                    self.trim_row(pos.row, pos.col).0.words(),
                    regions,
                )
            }
            other => return Err(foreign_kind("a distance-family kind", other)),
        };
        let mut state = state_of(k, phase, regions);
        state.register = register;
        Ok(state)
    }

    fn witness(&self, k: u64) -> Result<StepWitness> {
        let plan = &self.plan;
        let (n, pos) = (plan.n, plan.position(k));
        let pre = self.state(k)?;
        let reads = match pos.kind {
            StepKind::Distance => {
                let (a, b) = pair_at(pos.row as u64);
                let last = pos.col + 1 == plan.chunks;
                let acc_out = self.pair_sum(pos.row, pos.col + 1);
                let writes = last.then(|| {
                    let mut leaves = self.distance_leaves(pos.row as u64);
                    let (la, _) = distance_leaf_index(n, a, b);
                    let first = distance_opening(&leaves, &distance_tree(&leaves), la);
                    write_lane(&mut leaves, n, a, b, acc_out);
                    let (lb, _) = distance_leaf_index(n, b, a);
                    let second = distance_opening(&leaves, &distance_tree(&leaves), lb);
                    [first, second]
                });
                StepReads::Distance(DistanceReads {
                    a: ClientRead::of(&self.ctx, &self.updates[a], a, pos.col),
                    b: ClientRead::of(&self.ctx, &self.updates[b], b, pos.col),
                    acc_out,
                    writes,
                })
            }
            StepKind::ScoreRank | StepKind::ScoreSum => {
                let (t, b) = self.score_row(pos.row);
                let (pass, j) = (pos.col / n, pos.col % n);
                let distances = self.distance_leaves(pair_count(n));
                let selection = self.selection_leaves(t, b, 0);
                let tree = selection_tree(&selection);
                let last = j == n - 1;
                let picked = &self.rounds[t].picked_before;
                let reads = ScoreReads {
                    j,
                    column: distance_opening(
                        &distances,
                        &distance_tree(&distances),
                        (j * plan.blocks + b) as u64,
                    ),
                    flag: selection[j / SCORE_LANES].opening(&tree, j / SCORE_LANES),
                    // pass < 92 in a rank step.
                    #[allow(clippy::cast_possible_truncation)]
                    bit: SCORE_PASSES.saturating_sub(pass + 1) as u32,
                    last,
                    rank: plan.rank(t),
                    out: score_sum_step(
                        &ScoreRegister::of(&pre.register)?,
                        &self.column(picked, b, j),
                    ),
                    write: (pos.kind == StepKind::ScoreSum && last)
                        .then(|| selection[b].opening(&tree, b)),
                };
                if pos.kind == StepKind::ScoreRank {
                    StepReads::ScoreRank(reads)
                } else {
                    StepReads::ScoreSum(reads)
                }
            }
            StepKind::Pick => {
                let (t, u) = self.pick_row(pos.row);
                let b = pos.col;
                let selection = self.selection_leaves(t, plan.blocks, u);
                let tree = selection_tree(&selection);
                let picked = self.picked_at(t, u);
                let out = pick_step(
                    PickRegister::of(&pre.register)?,
                    &masked_scores(plan, &self.rounds[t].scores, &picked, b),
                    b,
                );
                let last = b + 1 == plan.blocks;
                let write = if last {
                    self.pick_scan(&self.rounds[t].scores, &picked, t, u, plan.blocks)
                        .1
                        .map(|w| selection[w / SCORE_LANES].opening(&tree, w / SCORE_LANES))
                } else {
                    None
                };
                StepReads::Pick(PickReads {
                    n,
                    read: selection[b].opening(&tree, b),
                    last,
                    out,
                    write,
                })
            }
            StepKind::SelectAccumulate => {
                let selection = self.selection_leaves(plan.rounds, 0, 0);
                let tree = selection_tree(&selection);
                let i = pos.col;
                StepReads::SelectAccumulate(SelectReads {
                    read: ClientRead::of(&self.ctx, &self.updates[i], i, pos.row),
                    flag: selection[i / SCORE_LANES].opening(&tree, i / SCORE_LANES),
                })
            }
            StepKind::SelectRank | StepKind::CloseRank | StepKind::CloseSum => {
                let selection = self.selection_leaves(plan.rounds, 0, 0);
                let tree = selection_tree(&selection);
                let (theta, beta) = self.trim_params();
                let i = pos.col % n;
                let rank_cols = RANK_PASSES * n;
                let (pass, ranks) = match pos.kind {
                    StepKind::SelectRank => (pos.col / n, ((theta - 1) / 2, theta / 2)),
                    StepKind::CloseRank => ((pos.col - rank_cols) / n, (beta - 1, 0)),
                    _ => (0, (0, 0)),
                };
                let reads = TrimReads {
                    read: ClientRead::of(&self.ctx, &self.updates[i], i, pos.row),
                    flag: selection[i / SCORE_LANES].opening(&tree, i / SCORE_LANES),
                    pass,
                    last: i == n - 1,
                    ranks,
                };
                match pos.kind {
                    StepKind::SelectRank => StepReads::SelectRank(reads),
                    StepKind::CloseRank => StepReads::CloseRank(reads),
                    _ => StepReads::CloseSum(reads),
                }
            }
            StepKind::CloseEmit => StepReads::CloseEmit(CloseEmitReads {
                beta: self.trim_params().1,
                out: self
                    .trim_row(pos.row, self.plan.final_row_len() as usize)
                    .1?,
                output_path: self.output_tree.frontier_proof(pos.row),
            }),
            StepKind::SelectFinalize => StepReads::SelectFinalize(FinalizeReads {
                total_weight: plan.divisor(),
                out: self.average_row(pos.row, n + 1).1?,
                output_path: self.output_tree.frontier_proof(pos.row),
            }),
            other => return Err(foreign_kind("a distance-family kind", other)),
        };
        Ok(StepWitness {
            step: k,
            position: pos,
            pre,
            post: self.state(k + 1)?,
            reads,
        })
    }
}

#[cfg(test)]
mod tests;
