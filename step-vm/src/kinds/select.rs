//! The distance family's selection kinds (docs/design/distance-family.md): `ScoreRank` and
//! `ScoreSum` compute, for a block of 8 participants (lanes), the Krum score as the sum of the
//! `m + 1` smallest entries of each lane's row of the distance matrix (its own zero distance
//! included) by a radix search that only counts, as `Rank` does for values; `Pick` scans the
//! blocks' scores for the lowest not yet picked.
//!
//! The averaging kinds `SelectAccumulate` and `SelectFinalize` are FedAvg's relations (and
//! circuits) with the participant's pick flag as its weight and the pick count as the total.
//!
//! Like `Rank`, whose ranks come from the round's rule, these kinds take their scalars (the
//! rank of a scoring round, the block count, the pick count) from the program's
//! [`Plan`](crate::rules::selected::Plan).

use crate::kinds::finalize::write_output;
use crate::kinds::{
    ClientRead, FinalizeReads, Kind, SCORE_LANES, StepKind, StepPosition, bad_opening, expect_field,
};
use crate::rules::selected::Plan;
use crate::{
    Digest, Instance, Result, RoundContext, State, VmError, accumulate, accumulate_instances,
    finalize, finalize_instances, fold_path, pack_slots, scalar_instance, selection_leaf_hash,
    slot_value, slot_words, zero_acc,
};

/// Radix passes of the score thresholds: one per bit of a distance (`D < 2^92`).
pub const SCORE_PASSES: usize = 92;

/// The largest slot value, `2^104 - 1`: what a masked distance or score is replaced by (above
/// every real distance `< 2^92` and score `< 2^100`, so it is never counted or picked).
pub const SLOT_MAX: u128 = (1 << 104) - 1;

/// The scoring register: per lane the prefix (threshold), a count and a sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScoreRegister {
    /// Prefix of the threshold (during the radix passes), the threshold (during the sum pass).
    pub prefix: [u128; SCORE_LANES],
    /// Entries below `prefix + 2^b` (radix passes) or below the threshold (sum pass).
    pub count: [u128; SCORE_LANES],
    /// Sum of the entries below the threshold (sum pass).
    pub sum: [u128; SCORE_LANES],
}

impl ScoreRegister {
    /// The register's words (`Slots104`: prefixes, counts, sums, two words per slot).
    #[must_use]
    pub fn words(&self) -> Vec<i64> {
        self.prefix
            .iter()
            .chain(&self.count)
            .chain(&self.sum)
            .flat_map(|&v| slot_words(v))
            .collect()
    }

    /// Reads a register from its words.
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] for a register of another size.
    pub fn of(words: &[i64]) -> Result<Self> {
        if words.len() != 6 * SCORE_LANES {
            return Err(VmError::InvalidRound {
                field: "score register",
                expected: format!("{} words", 6 * SCORE_LANES),
                actual: format!("{} words", words.len()),
            });
        }
        let slot = |s: usize| slot_value(words[2 * s], words[2 * s + 1]);
        let mut reg = Self::default();
        for l in 0..SCORE_LANES {
            reg.prefix[l] = slot(l);
            reg.count[l] = slot(SCORE_LANES + l);
            reg.sum[l] = slot(2 * SCORE_LANES + l);
        }
        Ok(reg)
    }
}

/// One `ScoreRank` step (bit `bit`, entries `v` of column `j` for the block's lanes): per lane
/// `count += [v < prefix + 2^bit]`; at the last column, `prefix += 2^bit` where
/// `count <= rank`, counts reset.
#[must_use]
pub fn score_rank_step(
    reg: &ScoreRegister,
    v: &[u128; SCORE_LANES],
    bit: u32,
    last: bool,
    rank: u128,
) -> ScoreRegister {
    let mut out = *reg;
    for (l, &v) in v.iter().enumerate() {
        let probe = reg.prefix[l].wrapping_add(1 << bit);
        out.count[l] = reg.count[l].wrapping_add(u128::from(v < probe));
        if last {
            if out.count[l] <= rank {
                out.prefix[l] = probe;
            }
            out.count[l] = 0;
        }
    }
    out
}

/// One `ScoreSum` step: per lane `count += [v < t]`, `sum += v·[v < t]` (`t` the prefix);
/// at the last column the block's scores `sum + (rank + 1 - count)·t`.
#[must_use]
pub fn score_sum_step(reg: &ScoreRegister, v: &[u128; SCORE_LANES]) -> ScoreRegister {
    let mut out = *reg;
    for (l, &v) in v.iter().enumerate() {
        let below = v < reg.prefix[l];
        out.count[l] = reg.count[l].wrapping_add(u128::from(below));
        if below {
            out.sum[l] = reg.sum[l].wrapping_add(v);
        }
    }
    out
}

/// The scores a completed sum pass yields: `sum + (rank + 1 - count)·t` per lane (wrapping
/// only on registers no execution reaches).
#[must_use]
pub fn block_scores(reg: &ScoreRegister, rank: u128) -> [u128; SCORE_LANES] {
    std::array::from_fn(|l| {
        reg.sum[l].wrapping_add(
            (rank + 1)
                .wrapping_sub(reg.count[l])
                .wrapping_mul(reg.prefix[l]),
        )
    })
}

/// The pick register: the lowest score seen and its participant plus one (0: none yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PickRegister {
    /// Lowest score so far.
    pub best: u128,
    /// Its participant plus one; 0 before any.
    pub found: u128,
}

impl PickRegister {
    /// The register's words (two slots).
    #[must_use]
    pub fn words(&self) -> Vec<i64> {
        [self.best, self.found]
            .into_iter()
            .flat_map(slot_words)
            .collect()
    }

    /// Reads a register from its words.
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] for a register of another size.
    pub fn of(words: &[i64]) -> Result<Self> {
        match words {
            &[a, b, c, d] => Ok(Self {
                best: slot_value(a, b),
                found: slot_value(c, d),
            }),
            other => Err(VmError::InvalidRound {
                field: "pick register",
                expected: "4 words".into(),
                actual: format!("{} words", other.len()),
            }),
        }
    }
}

/// One `Pick` step over block `block`'s masked scores (a picked or padding lane is
/// `SLOT_MAX`, never taken): a lane replaces the best when strictly lower, or when none
/// is held yet, so the lowest index wins ties.
#[must_use]
pub fn pick_step(reg: PickRegister, scores: &[u128; SCORE_LANES], block: usize) -> PickRegister {
    let mut out = reg;
    for (l, &v) in scores.iter().enumerate() {
        let bar = if out.found == 0 { SLOT_MAX } else { out.best };
        if v < bar {
            out = PickRegister {
                best: v,
                found: (block * SCORE_LANES + l) as u128 + 1,
            };
        }
    }
    out
}

/// A selection leaf with its opening in the selection tree: block `block`'s scores (of the
/// latest scoring) and pick flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionOpening {
    /// The block (the leaf's index).
    pub block: usize,
    /// The block's scores.
    pub scores: [u128; SCORE_LANES],
    /// Bit `l` marks participant `8·block + l` picked.
    pub flags: u8,
    /// Sibling path, bottom up.
    pub path: Vec<Digest>,
}

impl SelectionOpening {
    /// Checks that this is leaf `block` of the tree with `root`.
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] naming `field` if the block or the opening does not match.
    pub fn verify(&self, root: &Digest, block: usize, field: &'static str) -> Result<()> {
        if self.block != block {
            return Err(VmError::InvalidRound {
                field,
                expected: format!("selection leaf {block}"),
                actual: format!("selection leaf {}", self.block),
            });
        }
        if fold_path(self.leaf_hash(), block as u64, &self.path) != *root {
            return Err(bad_opening(field));
        }
        Ok(())
    }

    /// The leaf's hash.
    #[must_use]
    pub fn leaf_hash(&self) -> Digest {
        selection_leaf_hash(&self.scores, self.flags)
    }

    /// Whether participant `i` (of this block) is picked.
    #[must_use]
    pub fn picked(&self, i: usize) -> bool {
        self.flags >> (i % SCORE_LANES) & 1 == 1
    }

    /// The root after replacing this leaf by `(scores, flags)`.
    #[must_use]
    pub fn write(&self, scores: &[u128; SCORE_LANES], flags: u8) -> Digest {
        fold_path(
            selection_leaf_hash(scores, flags),
            self.block as u64,
            &self.path,
        )
    }
}

/// What a scoring step (`ScoreRank`, `ScoreSum`) reads: row `j`'s distance leaf of the block
/// (its lanes are the block's distances to `j`, by symmetry), the selection leaf holding `j`'s
/// pick flag, and, for the block's last `ScoreSum`, the block's selection leaf to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreReads {
    /// The column `j`.
    pub j: usize,
    /// Distance leaf `(j, block)`.
    pub column: crate::DistanceOpening,
    /// Selection leaf `j / 8`.
    pub flag: SelectionOpening,
    /// `ScoreRank`: the bit of the pass (`ScoreSum`: 0).
    pub bit: u32,
    /// Whether `j` is the row's last column.
    pub last: bool,
    /// The rank `m_r` of the round's threshold.
    pub rank: u128,
    /// `ScoreSum`: the register after this column, before the last column's reset.
    pub out: ScoreRegister,
    /// `ScoreSum`'s last column: selection leaf `block`, written with the scores.
    pub write: Option<SelectionOpening>,
}

impl ScoreReads {
    /// The column's entries: the distance lanes, or `SLOT_MAX` on every lane if `j` is
    /// picked.
    #[must_use]
    pub fn entries(&self) -> [u128; SCORE_LANES] {
        if self.flag.picked(self.j) {
            [SLOT_MAX; SCORE_LANES]
        } else {
            self.column.lanes
        }
    }

    /// Checks the reads against the position (`j` the column); returns the round and block.
    fn check(
        &self,
        plan: &Plan,
        position: &StepPosition,
        j: usize,
        pre: &State,
    ) -> Result<(usize, usize)> {
        let (t, b) = (position.row / plan.blocks, position.row % plan.blocks);
        expect_field("column", j as u64, self.j as u64)?;
        expect_field("last", u64::from(j == plan.n - 1), u64::from(self.last))?;
        if self.rank != plan.rank(t) {
            return Err(VmError::InvalidRound {
                field: "rank",
                expected: plan.rank(t).to_string(),
                actual: self.rank.to_string(),
            });
        }
        self.column
            .verify(&pre.region(1)?, (j * plan.blocks + b) as u64)?;
        self.flag
            .verify(&pre.region(2)?, j / SCORE_LANES, "flag_path")?;
        Ok((t, b))
    }
}

/// The state after a row's last step: `pre`'s regions and `phase`'s zero register.
pub(crate) fn phase_start(pre: &State, phase: crate::rules::selected::Phase) -> State {
    let (zero, layout) = phase.zero();
    pre.next(zero).with_layout(layout)
}

/// A `u128` scalar public input (big-endian in the low 16 bytes).
fn wide_instance(v: u128) -> Instance {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

/// The scoring register's slots: prefixes, counts, sums.
fn register_slots(reg: &ScoreRegister) -> Vec<u128> {
    reg.prefix
        .iter()
        .chain(&reg.count)
        .chain(&reg.sum)
        .copied()
        .collect()
}

/// The `ScoreRank` kind: column `pass·n + j` of scoring row `t·B + b`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScoreRank;

impl Kind for ScoreRank {
    const KIND: StepKind = StepKind::ScoreRank;
    type Reads = ScoreReads;

    /// `[2^bit, last, rank, entries (4), register (12), register' (12)]`: 31 inputs.
    fn instances(reads: &ScoreReads, pre: &State, post: &State) -> Result<Vec<Instance>> {
        let mut v = vec![
            wide_instance(1u128 << reads.bit),
            scalar_instance(u64::from(reads.last)),
            wide_instance(reads.rank),
        ];
        v.extend(pack_slots(&reads.entries()));
        v.extend(pack_slots(&register_slots(&ScoreRegister::of(
            &pre.register,
        )?)));
        v.extend(pack_slots(&register_slots(&ScoreRegister::of(
            &post.register,
        )?)));
        Ok(v)
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &ScoreReads,
        pre: &State,
    ) -> Result<State> {
        let plan = Plan::of(ctx)?;
        let (pass, j) = (position.col / plan.n, position.col % plan.n);
        expect_field(
            "bit",
            (SCORE_PASSES - 1 - pass) as u64,
            u64::from(reads.bit),
        )?;
        reads.check(&plan, position, j, pre)?;
        let reg = score_rank_step(
            &ScoreRegister::of(&pre.register)?,
            &reads.entries(),
            reads.bit,
            reads.last,
            reads.rank,
        );
        Ok(pre.next(reg.words()))
    }
}

/// The `ScoreSum` kind: column `92n + j` of scoring row `t·B + b`; the last writes the
/// block's scores into selection leaf `b` and leaves the next phase's zero register.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScoreSum;

impl Kind for ScoreSum {
    const KIND: StepKind = StepKind::ScoreSum;
    type Reads = ScoreReads;

    /// `[rank, entries (4), register (12), register after the column (12), its scores (4)]`:
    /// 33 inputs.
    fn instances(reads: &ScoreReads, pre: &State, _post: &State) -> Result<Vec<Instance>> {
        let mut v = vec![wide_instance(reads.rank)];
        v.extend(pack_slots(&reads.entries()));
        v.extend(pack_slots(&register_slots(&ScoreRegister::of(
            &pre.register,
        )?)));
        v.extend(pack_slots(&register_slots(&reads.out)));
        v.extend(pack_slots(&block_scores(&reads.out, reads.rank)));
        Ok(v)
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &ScoreReads,
        pre: &State,
    ) -> Result<State> {
        let plan = Plan::of(ctx)?;
        let j = position.col - SCORE_PASSES * plan.n;
        let (_, b) = reads.check(&plan, position, j, pre)?;
        let reg = score_sum_step(&ScoreRegister::of(&pre.register)?, &reads.entries());
        match (&reads.write, reads.last) {
            (None, false) => Ok(pre.next(reg.words())),
            (Some(write), true) => {
                write.verify(&pre.region(2)?, b, "selection_path")?;
                let mut post = phase_start(pre, plan.after_block(b));
                post.regions[2] = write.write(&block_scores(&reg, reads.rank), write.flags);
                Ok(post)
            }
            _ => Err(VmError::InvalidRound {
                field: "selection write",
                expected: "exactly at a block's last column".into(),
                actual: format!("column {j}"),
            }),
        }
    }
}

/// What a `Pick` step reads: selection leaf `b`, and at the round's last block the leaf of the
/// winner, whose flag it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickReads {
    /// Participants `n` (lanes at or past it are padding).
    pub n: usize,
    /// Selection leaf `b`.
    pub read: SelectionOpening,
    /// Whether `b` is the last block.
    pub last: bool,
    /// The register after the block (before the last block's reset).
    pub out: PickRegister,
    /// The last block: the winner's selection leaf, written with its flag set.
    pub write: Option<SelectionOpening>,
}

impl PickReads {
    /// The block's scores as the scan sees them: picked and padding lanes `SLOT_MAX`.
    #[must_use]
    pub fn masked(&self, n: usize) -> [u128; SCORE_LANES] {
        std::array::from_fn(|l| {
            let i = self.read.block * SCORE_LANES + l;
            if i >= n || self.read.picked(i) {
                SLOT_MAX
            } else {
                self.read.scores[l]
            }
        })
    }
}

/// The `Pick` kind: block `b` of pick row `t·K + u`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pick;

impl Kind for Pick {
    const KIND: StepKind = StepKind::Pick;
    type Reads = PickReads;

    /// `[8b, (best, found), masked scores (4), (best', found')]`: 7 inputs. `n` is implied
    /// by the masked scores.
    fn instances(reads: &PickReads, pre: &State, _post: &State) -> Result<Vec<Instance>> {
        let reg = PickRegister::of(&pre.register)?;
        let mut v = vec![scalar_instance((reads.read.block * SCORE_LANES) as u64)];
        v.extend(pack_slots(&[reg.best, reg.found]));
        v.extend(pack_slots(&reads.masked(reads.n)));
        v.extend(pack_slots(&[reads.out.best, reads.out.found]));
        Ok(v)
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &PickReads,
        pre: &State,
    ) -> Result<State> {
        let plan = Plan::of(ctx)?;
        let b = position.col;
        expect_field(
            "last",
            u64::from(b == plan.blocks - 1),
            u64::from(reads.last),
        )?;
        expect_field("n", plan.n as u64, reads.n as u64)?;
        reads.read.verify(&pre.region(2)?, b, "selection_path")?;
        let reg = pick_step(PickRegister::of(&pre.register)?, &reads.masked(plan.n), b);
        match (&reads.write, reads.last) {
            (None, false) => Ok(pre.next(reg.words())),
            (write, true) => {
                let mut post = phase_start(pre, plan.after_pick(position.row));
                // found = 0 (every participant picked: no execution reaches it) writes nothing.
                if let Some(winner) = usize::try_from(reg.found)
                    .ok()
                    .and_then(|f| f.checked_sub(1))
                {
                    let write = write.as_ref().ok_or(bad_opening("winner_path"))?;
                    write.verify(&pre.region(2)?, winner / SCORE_LANES, "winner_path")?;
                    let flags = write.flags | 1 << (winner % SCORE_LANES);
                    post.regions[2] = write.write(&write.scores, flags);
                }
                Ok(post)
            }
            (Some(_), false) => Err(VmError::InvalidRound {
                field: "pick write",
                expected: "only at the last block".into(),
                actual: format!("block {b}"),
            }),
        }
    }
}

/// What a `SelectAccumulate` step reads: participant `i`'s leaf `j` and its pick flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectReads {
    /// The participant's leaf.
    pub read: ClientRead,
    /// Selection leaf `i / 8`.
    pub flag: SelectionOpening,
}

impl SelectReads {
    /// The participant's weight in the mean: its pick flag.
    #[must_use]
    pub fn weight(&self) -> u32 {
        u32::from(self.flag.picked(self.read.participant))
    }
}

/// The `SelectAccumulate` kind (`Accumulate`'s circuit and verifier): `acc += flag_i · x`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectAccumulate;

impl Kind for SelectAccumulate {
    const KIND: StepKind = StepKind::SelectAccumulate;
    type Reads = SelectReads;

    fn instances(reads: &SelectReads, pre: &State, post: &State) -> Result<Vec<Instance>> {
        Ok(accumulate_instances(
            reads.weight(),
            &reads.read.values(),
            &pre.acc()?,
            &post.acc()?,
        ))
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &SelectReads,
        pre: &State,
    ) -> Result<State> {
        reads.read.check(ctx, position.col, position.row)?;
        reads
            .flag
            .verify(&pre.region(2)?, position.col / SCORE_LANES, "flag_path")?;
        Ok(pre.next(accumulate(&pre.acc()?, reads.weight(), &reads.read.values()).to_vec()))
    }
}

/// The `SelectFinalize` kind (`Finalize`'s circuit and verifier): output leaf `j` is the
/// accumulator over the pick count `m'`; the last one clears the working memory (the final
/// state derives from the output root alone).
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectFinalize;

impl Kind for SelectFinalize {
    const KIND: StepKind = StepKind::SelectFinalize;
    type Reads = FinalizeReads;

    fn instances(reads: &FinalizeReads, pre: &State, _post: &State) -> Result<Vec<Instance>> {
        Ok(finalize_instances(
            reads.total_weight,
            &pre.acc()?,
            &reads.out,
        ))
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &FinalizeReads,
        pre: &State,
    ) -> Result<State> {
        let plan = Plan::of(ctx)?;
        expect_field(
            "pick count",
            u64::from(plan.divisor()),
            u64::from(reads.total_weight),
        )?;
        let out = finalize(&pre.acc()?, reads.total_weight)?;
        let mut post = pre.next(zero_acc().to_vec());
        post.regions[0] = write_output(position.row, &reads.output_path, &out, pre)?;
        if position.row + 1 == plan.chunks {
            post.regions[1] = [0; 32];
            post.regions[2] = [0; 32];
        }
        Ok(post)
    }
}
