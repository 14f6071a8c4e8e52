//! Complete (power-of-two, zero-padded) keccak Merkle trees on top of `rs_merkle`.
//!
//! Every tree in the protocol pads its leaves with `bytes32(0)` to the next power of two, so a
//! proof of leaf `i` is exactly `depth` siblings and bit `l` of `i` tells the side at level `l`.
//! That keeps the on-chain verifier a ten-line loop and makes the empty subtree at each level a
//! constant ([`zero_hashes`]), which the trace uses to rebuild past output roots in `O(log C)`.

use rs_merkle::MerkleTree;

use crate::hash::{Digest, Keccak, node_hash};

/// `Z_0 = 0`, `Z_{l+1} = node(Z_l, Z_l)` for `l < depth`: the roots of empty subtrees.
#[must_use]
pub fn zero_hashes(depth: usize) -> Vec<Digest> {
    let mut z = Vec::with_capacity(depth + 1);
    z.push([0u8; 32]);
    for l in 0..depth {
        let next = node_hash(&z[l], &z[l]);
        z.push(next);
    }
    z
}

/// Root of an empty complete tree of the given depth.
#[must_use]
pub fn empty_root(depth: usize) -> Digest {
    zero_hashes(depth)[depth]
}

/// The root obtained by hashing `leaf` at `index` up through `path` (siblings, bottom up).
#[must_use]
pub fn fold_path(leaf: Digest, index: u64, path: &[Digest]) -> Digest {
    let mut node = leaf;
    for (level, sibling) in path.iter().enumerate() {
        node = if (index >> level) & 1 == 0 {
            node_hash(&node, sibling)
        } else {
            node_hash(sibling, &node)
        };
    }
    node
}

/// Depth of the complete tree holding `leaves` leaves (at least one leaf).
#[must_use]
pub(crate) fn depth_for(leaves: usize) -> usize {
    leaves.max(1).next_power_of_two().trailing_zeros() as usize
}

/// Trees of at least `2^PARALLEL_DEPTH` leaves are built as `2^PARTS_DEPTH` subtrees in
/// parallel plus a small tree over their roots (same root and proofs as one tree).
const PARALLEL_DEPTH: usize = 12;
/// log2 of the number of subtrees of a parallel build.
const PARTS_DEPTH: usize = 6;

/// A complete Merkle tree over leaf hashes, held as `rs_merkle` trees: equal-width complete
/// subtrees (built in parallel) under a top tree over their roots.
#[derive(Clone)]
pub struct CompleteTree {
    parts: Vec<MerkleTree<Keccak>>,
    top: MerkleTree<Keccak>,
    /// Depth of each part.
    part_depth: usize,
    leaves: usize,
    depth: usize,
}

impl std::fmt::Debug for CompleteTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompleteTree")
            .field("leaves", &self.leaves)
            .field("depth", &self.depth)
            .field("root", &crate::hex_digest(&self.root()))
            .finish()
    }
}

impl CompleteTree {
    /// Builds the tree over `leaves`, padded with zero leaves to the next power of two.
    #[must_use]
    pub fn new(leaves: &[Digest]) -> Self {
        use rayon::prelude::*;
        let depth = depth_for(leaves.len());
        let part_depth = if depth >= PARALLEL_DEPTH {
            depth - PARTS_DEPTH
        } else {
            depth
        };
        let width = 1usize << part_depth;
        let parts: Vec<MerkleTree<Keccak>> = (0..1usize << (depth - part_depth))
            .into_par_iter()
            .map(|p| {
                let start = (p * width).min(leaves.len());
                let end = ((p + 1) * width).min(leaves.len());
                let mut padded = leaves[start..end].to_vec();
                padded.resize(width, [0u8; 32]);
                MerkleTree::from_leaves(&padded)
            })
            .collect();
        let roots: Vec<Digest> = parts
            .iter()
            .map(|t| t.root().unwrap_or([0u8; 32]))
            .collect();
        Self {
            top: MerkleTree::from_leaves(&roots),
            parts,
            part_depth,
            leaves: leaves.len(),
            depth,
        }
    }

    /// The root.
    #[must_use]
    pub fn root(&self) -> Digest {
        // A complete tree has at least one leaf, so rs_merkle always has a root.
        self.top.root().unwrap_or([0u8; 32])
    }

    /// Depth (number of siblings in a proof).
    #[must_use]
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Number of real (unpadded) leaves.
    #[must_use]
    pub fn len(&self) -> usize {
        self.leaves
    }

    /// Whether the tree has no real leaf.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.leaves == 0
    }

    /// Siblings of leaf `index`, bottom up.
    #[must_use]
    pub fn proof(&self, index: usize) -> Vec<Digest> {
        let part = index >> self.part_depth;
        let mut path = if self.part_depth == 0 {
            Vec::new()
        } else {
            let inner = index & ((1 << self.part_depth) - 1);
            self.parts[part].proof(&[inner]).proof_hashes().to_vec()
        };
        if self.depth > self.part_depth {
            path.extend_from_slice(self.top.proof(&[part]).proof_hashes());
        }
        path
    }

    /// Siblings of leaf `index` in the same tree with every leaf at or after `index` replaced
    /// by the zero leaf: left siblings lie wholly before `index` (taken from this tree), right
    /// siblings wholly after it (empty subtrees). `O(depth)`.
    ///
    /// # Panics
    /// If `index` is not below the padded leaf count `2^depth`.
    #[must_use]
    pub fn frontier_proof(&self, index: usize) -> Vec<Digest> {
        assert!(
            index < 1 << self.depth,
            "leaf {index} outside a tree of depth {}",
            self.depth
        );
        let zeros = zero_hashes(self.depth);
        let path = self.proof(index);
        (0..self.depth)
            .map(|l| {
                if (index >> l) & 1 == 1 {
                    path[l]
                } else {
                    zeros[l]
                }
            })
            .collect()
    }

    /// Root of the same tree with every leaf at or after `count` replaced by the zero leaf.
    #[must_use]
    pub fn prefix_root(&self, count: usize) -> Digest {
        if count >= 1 << self.depth {
            return self.root();
        }
        fold_path([0u8; 32], count as u64, &self.frontier_proof(count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u8) -> Digest {
        crate::keccak256(&[&[i]])
    }

    #[test]
    fn proofs_fold_to_root_for_every_leaf_and_size() {
        for n in 1..=9usize {
            let leaves: Vec<_> = (0..n as u8).map(leaf).collect();
            let t = CompleteTree::new(&leaves);
            assert_eq!(t.depth(), depth_for(n));
            for (i, l) in leaves.iter().enumerate() {
                let p = t.proof(i);
                assert_eq!(p.len(), t.depth());
                assert_eq!(fold_path(*l, i as u64, &p), t.root(), "n={n} i={i}");
            }
        }
    }

    #[test]
    fn root_matches_hand_built_tree() {
        let leaves = [leaf(1), leaf(2), leaf(3)];
        let t = CompleteTree::new(&leaves);
        let expected = node_hash(
            &node_hash(&leaves[0], &leaves[1]),
            &node_hash(&leaves[2], &[0; 32]),
        );
        assert_eq!(t.root(), expected);
    }

    #[test]
    fn prefix_root_equals_rebuilt_tree() {
        let leaves: Vec<_> = (0..11u8).map(leaf).collect();
        let t = CompleteTree::new(&leaves);
        for count in 0..=16 {
            let mut partial = leaves.clone();
            partial.truncate(count);
            partial.resize(leaves.len(), [0; 32]);
            assert_eq!(
                t.prefix_root(count),
                CompleteTree::new(&partial).root(),
                "count={count}"
            );
        }
    }

    #[test]
    fn parallel_build_has_the_same_root_and_proofs_as_a_single_tree() {
        for n in [4096usize, 5000, 8192] {
            let leaves: Vec<_> = (0..n)
                .map(|i| crate::keccak256(&[&i.to_be_bytes()]))
                .collect();
            let t = CompleteTree::new(&leaves);
            let mut padded = leaves.clone();
            padded.resize(n.next_power_of_two(), [0; 32]);
            let single = MerkleTree::<Keccak>::from_leaves(&padded);
            assert_eq!(t.root(), single.root().unwrap());
            for i in [0, 63, 64, n / 2, n - 1] {
                assert_eq!(
                    t.proof(i),
                    single.proof(&[i]).proof_hashes().to_vec(),
                    "n={n} i={i}"
                );
                assert_eq!(fold_path(leaves[i], i as u64, &t.proof(i)), t.root());
            }
        }
    }

    #[test]
    fn empty_root_is_all_zero_tree() {
        assert_eq!(empty_root(3), CompleteTree::new(&[[0; 32]; 8]).root());
        assert_eq!(empty_root(0), [0; 32]);
    }
}
