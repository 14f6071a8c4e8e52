//! The distance family's first phase, `Distance` (docs/design/distance-family.md): for each
//! pair of participants `a < b` and each chunk `j`, `acc' = acc + Σ_l (x_al - x_bl)²` in one
//! wide slot; the pair's last chunk writes the total `D_ab` into the distance matrix region
//! (row `a`'s leaf `b / 8`, lane `b % 8`, and, by symmetry, row `b`'s leaf `a / 8`, lane
//! `a % 8`) and resets the slot.
//!
//! Here: the pair order, the step function, the leaf geometry, the two writes with their
//! openings, and the kind's reads, public inputs and native check.

use crate::kinds::select::phase_start;
use crate::kinds::{ClientRead, Kind, StepKind, StepPosition, bad_opening};
use crate::rules::selected::Plan;
use crate::{
    Digest, Instance, Result, RoundContext, State, ValueLeaf, VmError, distance_leaf_hash,
    fold_path, pack_slots, pack_value_leaf, slot_value, slot_words,
};

/// Participants per distance or selection leaf (the lanes of the scoring kinds).
pub const SCORE_LANES: usize = 8;

/// Pairs `a < b` among `n` participants.
#[must_use]
pub fn pair_count(n: usize) -> u64 {
    let n = n as u64;
    n * n.saturating_sub(1) / 2
}

/// Index of pair `(a, b)`, `a < b`, in colexicographic order: `b(b-1)/2 + a` (pairs sorted by
/// their larger member, then the smaller). Independent of `n`, so a round's first pairs are
/// those of any smaller round.
#[must_use]
pub fn pair_index(a: usize, b: usize) -> u64 {
    debug_assert!(a < b, "pairs are ordered");
    let (a, b) = (a as u64, b as u64);
    b * (b - 1) / 2 + a
}

/// The pair `(a, b)`, `a < b`, of index `p` ([`pair_index`]'s inverse, closed form):
/// `b = floor((1 + isqrt(1 + 8p)) / 2)`, `a = p - b(b-1)/2`.
#[must_use]
pub fn pair_at(p: u64) -> (usize, usize) {
    let b = (1 + 8 * u128::from(p)).isqrt().div_ceil(2);
    // b <= 2^33 for any p < 2^64; a < b.
    #[allow(clippy::cast_possible_truncation)]
    let (a, b) = ((u128::from(p) - b * (b - 1) / 2) as usize, b as usize);
    (a, b)
}

/// Blocks of [`SCORE_LANES`] participants: leaves per row of the distance matrix.
#[must_use]
pub fn distance_blocks(n: usize) -> usize {
    n.div_ceil(SCORE_LANES)
}

/// Index in the distance tree of the leaf holding `D_{row, col}` (row-major, [`SCORE_LANES`]
/// columns per leaf), and the lane.
#[must_use]
pub fn distance_leaf_index(n: usize, row: usize, col: usize) -> (u64, usize) {
    (
        (row * distance_blocks(n) + col / SCORE_LANES) as u64,
        col % SCORE_LANES,
    )
}

/// One `Distance` step: `acc + Σ_l (xa_l - xb_l)²`. Each square is below `2^64` and a row has
/// at most `2^23` chunks, so every reachable accumulator is below `2^92`; wrapping only keeps
/// an unreachable one defined.
#[must_use]
pub fn distance_step(acc: u128, xa: &ValueLeaf, xb: &ValueLeaf) -> u128 {
    let squares: u128 = xa
        .iter()
        .zip(xb)
        .map(|(&x, &y)| u128::from((i64::from(x) - i64::from(y)).unsigned_abs()).pow(2))
        .sum();
    acc.wrapping_add(squares)
}

/// A write of one lane of a distance leaf, with the leaf's values before the write and its
/// opening in the distance tree as it is when the write happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistanceOpening {
    /// The leaf's index in the distance tree.
    pub leaf: u64,
    /// The leaf's lanes before the write.
    pub lanes: [u128; SCORE_LANES],
    /// Its sibling path, bottom up.
    pub path: Vec<Digest>,
}

impl DistanceOpening {
    /// Checks that this is leaf `leaf` of the distance tree with `root`.
    ///
    /// # Errors
    /// [`crate::VmError::InvalidRound`] if the index or the opening does not match.
    pub fn verify(&self, root: &Digest, leaf: u64) -> Result<()> {
        if self.leaf != leaf
            || fold_path(distance_leaf_hash(&self.lanes), self.leaf, &self.path) != *root
        {
            return Err(bad_opening("distance_path"));
        }
        Ok(())
    }

    /// Checks the opening against `root` and returns the root after writing `value` into
    /// `lane`.
    ///
    /// # Errors
    /// [`crate::VmError::InvalidRound`] if the opening does not lead to `root`.
    pub fn apply(&self, root: &Digest, lane: usize, value: u128) -> Result<Digest> {
        self.verify(root, self.leaf)?;
        let mut lanes = self.lanes;
        lanes[lane] = value;
        Ok(fold_path(distance_leaf_hash(&lanes), self.leaf, &self.path))
    }
}

/// The distance root after a pair's last step writes `D_ab = value` (`a < b`): first row
/// `a`'s leaf, then row `b`'s, each opening taken against the root the previous write left.
///
/// # Errors
/// [`crate::VmError::InvalidRound`] naming a write at the wrong leaf or an opening that does
/// not verify.
pub fn write_distance(
    root: &Digest,
    n: usize,
    (a, b): (usize, usize),
    value: u128,
    writes: &[DistanceOpening; 2],
) -> Result<Digest> {
    let mut root = *root;
    for (write, (row, col)) in writes.iter().zip([(a, b), (b, a)]) {
        let (leaf, lane) = distance_leaf_index(n, row, col);
        if write.leaf != leaf {
            return Err(crate::VmError::InvalidRound {
                field: "distance write",
                expected: format!("leaf {leaf} (row {row}, column {col})"),
                actual: format!("leaf {}", write.leaf),
            });
        }
        root = write.apply(&root, lane, value)?;
    }
    Ok(root)
}

/// What a `Distance` step reads: both participants' leaf `j`, the step's sum, and at the
/// pair's last chunk the two matrix writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistanceReads {
    /// Participant `a`'s leaf (`a < b`).
    pub a: ClientRead,
    /// Participant `b`'s leaf.
    pub b: ClientRead,
    /// `acc + Σ_l (xa_l - xb_l)²`: the register after the step, or at the pair's last chunk
    /// the distance written.
    pub acc_out: u128,
    /// The pair's last chunk: the writes of `D_ab` into rows `a` and `b`.
    pub writes: Option<[DistanceOpening; 2]>,
}

/// The slot a distance-phase register holds.
fn distance_register(state: &State) -> Result<u128> {
    match state.register.as_slice() {
        &[hi, lo] => Ok(slot_value(hi, lo)),
        other => Err(VmError::InvalidRound {
            field: "distance register",
            expected: "2 words (one slot)".into(),
            actual: format!("{} words", other.len()),
        }),
    }
}

/// The `Distance` kind: chunk `j = col` of pair `p = row` (`pair_at`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Distance;

impl Kind for Distance {
    const KIND: StepKind = StepKind::Distance;
    type Reads = DistanceReads;

    /// `[xa (5), xb (5), (acc, acc')]`: 11 inputs.
    fn instances(reads: &DistanceReads, pre: &State, _post: &State) -> Result<Vec<Instance>> {
        let mut v = pack_value_leaf(&reads.a.values());
        v.extend(pack_value_leaf(&reads.b.values()));
        v.extend(pack_slots(&[distance_register(pre)?, reads.acc_out]));
        Ok(v)
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &DistanceReads,
        pre: &State,
    ) -> Result<State> {
        let plan = Plan::of(ctx)?;
        let (a, b) = pair_at(position.row as u64);
        reads.a.check(ctx, a, position.col)?;
        reads.b.check(ctx, b, position.col)?;
        let acc = distance_step(
            distance_register(pre)?,
            &reads.a.values(),
            &reads.b.values(),
        );
        let last = position.col + 1 == plan.chunks;
        match (&reads.writes, last) {
            (None, false) => Ok(pre.next(slot_words(acc).to_vec())),
            (Some(writes), true) => {
                let mut post = phase_start(pre, plan.after_pair(position.row));
                post.regions[1] = write_distance(&pre.region(1)?, plan.n, (a, b), acc, writes)?;
                Ok(post)
            }
            _ => Err(VmError::InvalidRound {
                field: "distance writes",
                expected: "exactly at a pair's last chunk".into(),
                actual: format!("chunk {}", position.col),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CompleteTree;

    #[test]
    fn pairs_enumerate_colexicographically() {
        let mut p = 0;
        for b in 1..300 {
            for a in 0..b {
                assert_eq!(pair_index(a, b), p);
                assert_eq!(pair_at(p), (a, b), "p = {p}");
                p += 1;
            }
        }
        assert_eq!(pair_count(300), p);
        // The largest index any round reaches, and far beyond it.
        for b in [255usize, 1 << 20, 1 << 31] {
            assert_eq!(pair_at(pair_index(b - 1, b)), (b - 1, b));
            assert_eq!(pair_at(pair_index(0, b)), (0, b));
        }
    }

    #[test]
    fn a_step_adds_the_exact_squared_distance() {
        let xa = [i32::MAX; crate::LANES];
        let xb = [i32::MIN; crate::LANES];
        let full = u128::from(u32::MAX).pow(2);
        assert_eq!(distance_step(0, &xa, &xb), 32 * full);
        assert_eq!(distance_step(7, &xb, &xa), 7 + 32 * full);
        let mut x = [0; crate::LANES];
        x[3] = -5;
        assert_eq!(distance_step(1, &x, &[0; crate::LANES]), 26);
    }

    #[test]
    fn a_pair_writes_both_symmetric_lanes() {
        let n = 11;
        let leaves = n * distance_blocks(n);
        let mut matrix = vec![[0u128; SCORE_LANES]; leaves];
        let tree = |m: &[[u128; SCORE_LANES]]| {
            CompleteTree::new(&m.iter().map(distance_leaf_hash).collect::<Vec<_>>())
        };
        let (a, b, d) = (2, 9, 12_345u128);
        let (la, lane_a) = distance_leaf_index(n, a, b);
        let (lb, lane_b) = distance_leaf_index(n, b, a);
        // Each write opens its leaf in the matrix as the previous write left it.
        let open = |m: &[[u128; SCORE_LANES]], leaf: u64| DistanceOpening {
            leaf,
            lanes: m[leaf as usize],
            path: tree(m).proof(leaf as usize),
        };
        let before = tree(&matrix);
        let first = open(&matrix, la);
        matrix[la as usize][lane_a] = d;
        let second = open(&matrix, lb);
        matrix[lb as usize][lane_b] = d;
        let writes = [first, second];
        assert_eq!(
            write_distance(&before.root(), n, (a, b), d, &writes).expect("opens"),
            tree(&matrix).root()
        );
        // Swapped writes name the wrong leaf; a stale opening does not verify.
        let swapped = [writes[1].clone(), writes[0].clone()];
        assert!(write_distance(&before.root(), n, (a, b), d, &swapped).is_err());
        let mut stale = writes.clone();
        stale[1].path = before.proof(lb as usize);
        assert!(write_distance(&before.root(), n, (a, b), d, &stale).is_err());
    }
}

#[cfg(test)]
mod slot_tests {
    use super::*;
    use crate::{RegisterLayout, SLOT_BYTES, keccak256, slot_bytes, slot_value, slot_words};

    #[test]
    fn slots_round_trip_and_commit_as_13_byte_big_endian_values() {
        for v in [
            0u128,
            1,
            (1 << 64) - 1,
            1 << 64,
            (1 << 92) + 12_345,
            (1 << 104) - 1,
        ] {
            let [hi, lo] = slot_words(v);
            assert_eq!(slot_value(hi, lo), v);
            let bytes = slot_bytes(v);
            assert_eq!(bytes.len(), SLOT_BYTES);
            assert_eq!(bytes.as_slice(), &v.to_be_bytes()[3..]);
        }
        let words: Vec<i64> = [5u128, (1 << 100) + 3]
            .into_iter()
            .flat_map(slot_words)
            .collect();
        let bytes = RegisterLayout::Slots104.bytes(&words);
        assert_eq!(bytes.len(), 2 * SLOT_BYTES);
        assert_eq!(bytes[12], 5);
        assert_eq!(bytes[13], 0x10, "2^100 is bit 4 of the slot's first byte");
        assert_eq!(
            RegisterLayout::Slots104.hash(&words),
            keccak256(&[&[0x03], &bytes])
        );
        // A value past 104 bits keeps its low 104 bits.
        assert_eq!(slot_bytes((1 << 104) + 9), slot_bytes(9));
        let mut lanes = [0u128; SCORE_LANES];
        lanes[7] = 1;
        let mut preimage = vec![0x06];
        preimage.extend([0u8; 7 * SLOT_BYTES + SLOT_BYTES - 1]);
        preimage.push(1);
        assert_eq!(distance_leaf_hash(&lanes), keccak256(&[&preimage]));
        let mut preimage = vec![0x07];
        preimage.extend([0u8; 8 * SLOT_BYTES]);
        preimage.push(0b1000_0001);
        assert_eq!(
            crate::selection_leaf_hash(&[0; SCORE_LANES], 0b1000_0001),
            keccak256(&[&preimage])
        );
        // The all-zero leaves are the padding leaf: unwritten memory is the empty tree.
        assert_eq!(distance_leaf_hash(&[0; SCORE_LANES]), [0; 32]);
        assert_eq!(distance_leaf_hash(&[1 << 104; SCORE_LANES]), [0; 32]);
        assert_eq!(crate::selection_leaf_hash(&[0; SCORE_LANES], 0), [0; 32]);
    }
}
