//! Keccak-256 commitments with domain-separated preimages (ARCHITECTURE §2).

// The assembly keccak (CRYPTOGAMS, via `keccak-asm`) where it exists, the portable `sha3`
// elsewhere: the same function, ~2x faster on x86_64 and aarch64 (BENCHMARKS §1).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
use keccak_asm::{Digest as _, Keccak256};
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
use sha3::{Digest as _, Keccak256};

use crate::LANES;

/// A 32-byte keccak-256 digest.
pub type Digest = [u8; 32];

/// Domain prefix of a value leaf preimage.
pub(crate) const VALUE_LEAF_TAG: u8 = 0x00;
/// Domain prefix of an inner Merkle node preimage.
pub(crate) const NODE_TAG: u8 = 0x01;
/// Domain prefix of a participant leaf preimage.
pub(crate) const PARTICIPANT_LEAF_TAG: u8 = 0x02;
/// Domain prefix of the register preimage.
pub(crate) const REGISTER_TAG: u8 = 0x03;
/// Domain prefix of a clipping scale leaf preimage.
pub(crate) const SCALE_LEAF_TAG: u8 = 0x04;
/// Domain prefix of a distance leaf preimage (the distance family's matrix region).
pub(crate) const DISTANCE_LEAF_TAG: u8 = 0x06;
/// Domain prefix of a selection leaf preimage (the distance family's scores and picks).
pub(crate) const SELECTION_LEAF_TAG: u8 = 0x07;
/// Domain prefix of a clipped-phase state preimage (a base state bound to the scales root).
pub(crate) const CLIPPED_STATE_TAG: u8 = 0x05;

/// keccak-256 of the concatenation of `parts`.
#[must_use]
pub fn keccak256(parts: &[&[u8]]) -> Digest {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Lower-case hex with `0x`, for messages and logs.
#[must_use]
pub fn hex_digest(d: &Digest) -> String {
    format!("0x{}", hex::encode(d))
}

/// `keccak(0x00 ‖ be32(x_0) ‖ … ‖ be32(x_31))`.
#[must_use]
pub fn value_leaf_hash(leaf: &[i32; LANES]) -> Digest {
    let mut buf = [0u8; 1 + 4 * LANES];
    buf[0] = VALUE_LEAF_TAG;
    for (i, v) in leaf.iter().enumerate() {
        buf[1 + 4 * i..5 + 4 * i].copy_from_slice(&v.to_be_bytes());
    }
    keccak256(&[&buf])
}

/// `keccak(0x03 ‖ be64(r_0) ‖ … ‖ be64(r_{m-1}))`: the commitment of a register of `m` words
/// (FedAvg's accumulator: `m = 32`).
#[must_use]
pub fn register_hash(register: &[i64]) -> Digest {
    let mut buf = Vec::with_capacity(1 + 8 * register.len());
    buf.push(REGISTER_TAG);
    for v in register {
        buf.extend_from_slice(&v.to_be_bytes());
    }
    keccak256(&[&buf])
}

/// `keccak(0x02 ‖ updateRoot ‖ be32(weight))`.
#[must_use]
pub fn participant_leaf_hash(update_root: &Digest, weight: u32) -> Digest {
    keccak256(&[&[PARTICIPANT_LEAF_TAG], update_root, &weight.to_be_bytes()])
}

/// `keccak(0x04 ‖ be64(s))`: the leaf of a participant's clipping scale in the scales tree.
#[must_use]
pub fn scale_leaf_hash(scale: u64) -> Digest {
    keccak256(&[&[SCALE_LEAF_TAG], &scale.to_be_bytes()])
}

/// A distance leaf: `keccak(0x06 ‖ be104(D_0) ‖ … ‖ be104(D_7))` (105-byte preimage; a
/// value's low 104 bits, `crate::slot_bytes`), and `bytes32(0)` when every lane is zero — the
/// padding leaf, so an unwritten matrix is the empty tree.
#[must_use]
pub fn distance_leaf_hash(lanes: &[u128; crate::SCORE_LANES]) -> Digest {
    slots_leaf_hash(DISTANCE_LEAF_TAG, lanes, &[])
}

/// A selection leaf: `keccak(0x07 ‖ be104(score_0) ‖ … ‖ be104(score_7) ‖ flags)` (106-byte
/// preimage; bit `l` of `flags` marks lane `l` picked), and `bytes32(0)` for the all-zero
/// leaf (nothing scored or picked yet: the empty tree).
#[must_use]
pub fn selection_leaf_hash(scores: &[u128; crate::SCORE_LANES], flags: u8) -> Digest {
    slots_leaf_hash(SELECTION_LEAF_TAG, scores, &[flags])
}

/// `keccak(tag ‖ be104(slot_0) ‖ … ‖ trailer)`, or `bytes32(0)` when every byte after the tag
/// is zero (the padding leaf).
fn slots_leaf_hash(tag: u8, slots: &[u128; crate::SCORE_LANES], trailer: &[u8]) -> Digest {
    let mut buf = Vec::with_capacity(1 + crate::SCORE_LANES * crate::SLOT_BYTES + trailer.len());
    buf.push(tag);
    for &v in slots {
        buf.extend_from_slice(&crate::slot_bytes(v));
    }
    buf.extend_from_slice(trailer);
    if buf[1..].iter().all(|&b| b == 0) {
        return [0; 32];
    }
    keccak256(&[&buf])
}

/// `keccak(0x05 ‖ baseState ‖ scalesRoot)`: a base program's state while a clipped rule runs
/// it, bound to the scales the prologue wrote.
#[must_use]
pub fn clipped_state_hash(base: &Digest, scales_root: &Digest) -> Digest {
    keccak256(&[&[CLIPPED_STATE_TAG], base, scales_root])
}

/// `keccak(0x01 ‖ left ‖ right)`, the preimage in one buffer (one absorb call instead of
/// three: every Merkle tree of the system is mostly inner nodes).
#[must_use]
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    let mut preimage = [0u8; 65];
    preimage[0] = NODE_TAG;
    preimage[1..33].copy_from_slice(left);
    preimage[33..].copy_from_slice(right);
    keccak256(&[&preimage])
}

/// The `rs_merkle` hasher of this project: keccak-256 with the `0x01` inner-node prefix.
///
/// Leaves are passed to `rs_merkle` already hashed (with their own domain prefix), so
/// [`rs_merkle::Hasher::hash`] is plain keccak and only used for nodes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keccak;

impl rs_merkle::Hasher for Keccak {
    type Hash = Digest;

    fn hash(data: &[u8]) -> Digest {
        keccak256(&[data])
    }

    fn concat_and_hash(left: &Digest, right: Option<&Digest>) -> Digest {
        // Complete trees always have a right sibling; keep rs_merkle's promotion otherwise.
        right.map_or(*left, |r| node_hash(left, r))
    }
}
