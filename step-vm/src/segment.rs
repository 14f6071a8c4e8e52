//! Data segments: the unit in which a client's update is published on chain when its
//! availability is challenged (docs/ARCHITECTURE.md §8).
//!
//! A segment is an aligned subtree of the update tree: `L = 2^min(8, depth)` value leaves
//! (8,192 values, 32 KiB of calldata when full). Its reveal carries the segment's values,
//! unpadded, as big-endian `i32`, and the sibling path from the segment's subtree root up to
//! the update root; the registry rebuilds the subtree (the last leaf zero-padded to 32 lanes,
//! missing leaves `bytes32(0)`) and checks the path against the committed root.

use crate::merkle::depth_for;
use crate::{
    CompleteTree, Digest, LANES, Result, Update, VmError, chunk_count, fold_path, value_leaf_hash,
};

/// Depth of a full segment's subtree (256 value leaves).
pub const SEGMENT_DEPTH: usize = 8;

/// Where one segment of an update lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentLayout {
    /// Leaves of the segment's subtree, padding included (a power of two).
    pub width: usize,
    /// First leaf of the segment.
    pub first_leaf: usize,
    /// Real (non-padding) leaves.
    pub leaves: usize,
    /// First value of the segment.
    pub first_value: usize,
    /// Number of (unpadded) values.
    pub values: usize,
    /// Siblings from the segment's subtree root to the update root.
    pub path_len: usize,
}

impl SegmentLayout {
    /// Bytes of the segment's values in a reveal.
    #[must_use]
    pub fn value_bytes(&self) -> usize {
        self.values * 4
    }
}

fn segment_depth(dim: usize) -> (usize, usize) {
    let depth = depth_for(chunk_count(dim));
    (depth, depth.min(SEGMENT_DEPTH))
}

/// Number of segments of an update of `dim` values.
#[must_use]
pub fn segment_count(dim: usize) -> usize {
    let (_, seg_depth) = segment_depth(dim);
    chunk_count(dim).div_ceil(1 << seg_depth)
}

/// The layout of segment `segment` of an update of `dim` values.
///
/// # Errors
/// [`VmError::BadSegment`] if `segment` is not below [`segment_count`].
pub fn segment_layout(dim: usize, segment: usize) -> Result<SegmentLayout> {
    let count = segment_count(dim);
    if segment >= count {
        return Err(VmError::BadSegment {
            segment,
            reason: format!("out of range: the update has {count} segments"),
        });
    }
    let (depth, seg_depth) = segment_depth(dim);
    let width = 1 << seg_depth;
    let first_leaf = segment * width;
    let end = (first_leaf + width).min(chunk_count(dim));
    let first_value = first_leaf * LANES;
    Ok(SegmentLayout {
        width,
        first_leaf,
        leaves: end - first_leaf,
        first_value,
        values: (end * LANES).min(dim) - first_value,
        path_len: depth - seg_depth,
    })
}

/// One segment of an update as a reveal publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentReveal {
    /// Segment index.
    pub segment: usize,
    /// The segment's values, big-endian `i32`, unpadded.
    pub values: Vec<u8>,
    /// Siblings from the segment's subtree root up to the update root.
    pub path: Vec<Digest>,
}

impl Update {
    /// The reveal of segment `segment`, with its path in `tree` (the update's own tree, passed
    /// in so that revealing many segments builds it once).
    ///
    /// # Errors
    /// `segment` out of range.
    pub fn segment_reveal(&self, tree: &CompleteTree, segment: usize) -> Result<SegmentReveal> {
        let layout = segment_layout(self.dim(), segment)?;
        let values = self.values()[layout.first_value..layout.first_value + layout.values]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let full = tree.proof(layout.first_leaf);
        let path = full[full.len() - layout.path_len..].to_vec();
        Ok(SegmentReveal {
            segment,
            values,
            path,
        })
    }

    /// Rebuilds an update of `dim` values from the values of all its revealed segments (as
    /// `(segment, big-endian i32 bytes)`, any order), and checks the result against `root`.
    ///
    /// # Errors
    /// A missing, duplicated or malformed segment, or data that does not hash to `root`.
    pub fn from_segments(dim: usize, root: &Digest, segments: &[(usize, Vec<u8>)]) -> Result<Self> {
        let count = segment_count(dim);
        let mut values = vec![0i32; dim];
        let mut seen = vec![false; count];
        for (segment, bytes) in segments {
            let layout = segment_layout(dim, *segment)?;
            if std::mem::replace(&mut seen[*segment], true) {
                return Err(VmError::BadSegment {
                    segment: *segment,
                    reason: "revealed twice".into(),
                });
            }
            if bytes.len() != layout.value_bytes() {
                return Err(VmError::BadSegment {
                    segment: *segment,
                    reason: format!(
                        "{} value bytes, expected {}",
                        bytes.len(),
                        layout.value_bytes()
                    ),
                });
            }
            for (k, word) in bytes.chunks_exact(4).enumerate() {
                values[layout.first_value + k] =
                    i32::from_be_bytes(word.try_into().expect("4-byte chunk"));
            }
        }
        if let Some(missing) = seen.iter().position(|s| !s) {
            return Err(VmError::BadSegment {
                segment: missing,
                reason: format!("missing: all {count} segments are needed"),
            });
        }
        let update = Self::from_fixed(values);
        let actual = update.root();
        if actual != *root {
            return Err(VmError::RebuiltRootMismatch {
                expected: crate::hex_digest(root),
                actual: crate::hex_digest(&actual),
            });
        }
        Ok(update)
    }
}

/// The update root a reveal opens (the native twin of the registry's `segmentRoot`).
///
/// # Errors
/// A segment out of range, or values or path of the wrong length.
pub fn segment_root(dim: usize, reveal: &SegmentReveal) -> Result<Digest> {
    let layout = segment_layout(dim, reveal.segment)?;
    let bad = |reason: String| VmError::BadSegment {
        segment: reveal.segment,
        reason,
    };
    if reveal.values.len() != layout.value_bytes() {
        return Err(bad(format!(
            "{} value bytes, expected {}",
            reveal.values.len(),
            layout.value_bytes()
        )));
    }
    if reveal.path.len() != layout.path_len {
        return Err(bad(format!(
            "path of {} siblings, expected {}",
            reveal.path.len(),
            layout.path_len
        )));
    }
    let mut leaves = vec![[0u8; 32]; layout.width];
    for (k, bytes) in reveal.values.chunks(LANES * 4).enumerate() {
        let mut leaf = [0i32; LANES];
        for (l, word) in bytes.chunks_exact(4).enumerate() {
            leaf[l] = i32::from_be_bytes(word.try_into().expect("4-byte chunk"));
        }
        leaves[k] = value_leaf_hash(&leaf);
    }
    let sub = CompleteTree::new(&leaves).root();
    Ok(fold_path(sub, reveal.segment as u64, &reveal.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(dim: usize) -> Update {
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        Update::from_fixed((0..dim).map(|i| (i as i32).wrapping_mul(-7919)).collect())
    }

    #[test]
    fn layouts_cover_the_update_exactly() {
        for dim in [1, 31, 32, 33, 200, 8192, 8193, 8192 * 2 + 100, 100_000] {
            let count = segment_count(dim);
            let mut next = 0;
            for s in 0..count {
                let l = segment_layout(dim, s).unwrap();
                assert_eq!(l.first_value, next, "dim {dim} segment {s}");
                next += l.values;
                assert!(l.leaves <= l.width && l.width <= 1 << SEGMENT_DEPTH);
            }
            assert_eq!(next, dim);
            assert!(segment_layout(dim, count).is_err());
        }
        assert_eq!(segment_count(200), 1);
        assert_eq!(segment_count(8192 * 2 + 100), 3);
    }

    fn pieces(r: &[SegmentReveal]) -> Vec<(usize, Vec<u8>)> {
        r.iter().map(|r| (r.segment, r.values.clone())).collect()
    }

    #[test]
    fn reveals_open_the_root_and_rebuild_the_update() {
        for dim in [1, 200, 8192, 8192 * 2 + 100] {
            let u = update(dim);
            let tree = u.tree();
            let reveals: Vec<_> = (0..segment_count(dim))
                .rev()
                .map(|s| u.segment_reveal(&tree, s).unwrap())
                .collect();
            for r in &reveals {
                assert_eq!(segment_root(dim, r).unwrap(), tree.root());
            }
            let rebuilt = Update::from_segments(dim, &tree.root(), &pieces(&reveals)).unwrap();
            assert_eq!(rebuilt, u);
        }
    }

    #[test]
    fn bad_reveals_are_refused_naming_the_segment() {
        let dim = 8192 * 2 + 100;
        let u = update(dim);
        let tree = u.tree();
        let mut reveals: Vec<_> = (0..3)
            .map(|s| u.segment_reveal(&tree, s).unwrap())
            .collect();
        let root = tree.root();
        // Missing segment.
        let e = Update::from_segments(dim, &root, &pieces(&reveals[..2])).unwrap_err();
        assert!(matches!(e, VmError::BadSegment { segment: 2, .. }), "{e}");
        // Tampered value: the reveal no longer opens the root, nor does the whole update.
        reveals[1].values[5] ^= 1;
        assert_ne!(segment_root(dim, &reveals[1]).unwrap(), root);
        let e = Update::from_segments(dim, &root, &pieces(&reveals)).unwrap_err();
        assert!(matches!(e, VmError::RebuiltRootMismatch { .. }), "{e}");
        reveals[1].values[5] ^= 1;
        // Wrong length.
        reveals[2].values.pop();
        assert!(segment_root(dim, &reveals[2]).is_err());
    }
}
