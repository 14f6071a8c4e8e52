//! Public-input encoding of a step proof (ARCHITECTURE §5).
//!
//! Values are offset by `2^(bits-1)` (the sign bit flipped) so that they are non-negative, then
//! groups of consecutive values are concatenated big-endian into one 32-byte instance:
//! 7 values per instance for `i32`, 3 for `i64`. On-chain this is a slice of the packed calldata
//! XOR a constant mask, so the contract never loops over single values.

use crate::{AccLeaf, LANES, ValueLeaf};

/// A public input of a step proof: a big-endian 256-bit integer, always below 2^224.
pub type Instance = [u8; 32];

/// Packing layout of one kind of leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackLayout {
    /// Bits per value.
    pub bits: u32,
    /// Values per instance.
    pub per_instance: usize,
}

impl PackLayout {
    /// Instances needed for one 32-lane leaf.
    #[must_use]
    pub const fn instances(&self) -> usize {
        LANES.div_ceil(self.per_instance)
    }
}

/// Layout of an `i32` value leaf: 7 per instance (224 bits), 5 instances.
pub const VALUE_PACK: PackLayout = PackLayout {
    bits: 32,
    per_instance: 7,
};
/// Layout of an `i64` accumulator register: 3 per instance (192 bits), 11 instances.
pub const ACC_PACK: PackLayout = PackLayout {
    bits: 64,
    per_instance: 3,
};

/// Packs offset limbs (each below `2^bits`), `per_instance` to an instance, big-endian.
pub(crate) fn pack_limbs(
    offset_limbs: impl ExactSizeIterator<Item = u64>,
    layout: PackLayout,
) -> Vec<Instance> {
    let bytes = (layout.bits / 8) as usize;
    let limbs: Vec<u64> = offset_limbs.collect();
    limbs
        .chunks(layout.per_instance)
        .map(|group| {
            let mut word = [0u8; 32];
            let start = 32 - bytes * group.len();
            for (t, limb) in group.iter().enumerate() {
                let be = limb.to_be_bytes();
                word[start + t * bytes..start + (t + 1) * bytes].copy_from_slice(&be[8 - bytes..]);
            }
            word
        })
        .collect()
}

/// Packs a value leaf into 5 instances.
#[must_use]
pub fn pack_value_leaf(leaf: &ValueLeaf) -> Vec<Instance> {
    // `v as u32` is the two's-complement bit pattern; flipping the sign bit adds 2^31.
    #[allow(clippy::cast_sign_loss)]
    pack_limbs(
        leaf.iter().map(|&v| u64::from(v as u32 ^ 0x8000_0000)),
        VALUE_PACK,
    )
}

/// Packs an accumulator register into 11 instances.
#[must_use]
pub fn pack_acc_leaf(acc: &AccLeaf) -> Vec<Instance> {
    #[allow(clippy::cast_sign_loss)]
    pack_limbs(
        acc.iter().map(|&v| v as u64 ^ 0x8000_0000_0000_0000),
        ACC_PACK,
    )
}

/// Wide slots (`RegisterLayout::Slots104`, values below `2^104`) as public inputs, two to an
/// input: input `t` is the 26 big-endian bytes of slots `2t` and `2t + 1` (a lone last slot
/// takes the low 13 bytes), so each input is a slice of the slots' committed bytes.
#[must_use]
pub fn pack_slots(slots: &[u128]) -> Vec<Instance> {
    slots
        .chunks(2)
        .map(|pair| {
            let mut word = [0u8; 32];
            let start = 32 - crate::SLOT_BYTES * pair.len();
            for (t, &v) in pair.iter().enumerate() {
                let at = start + t * crate::SLOT_BYTES;
                word[at..at + crate::SLOT_BYTES].copy_from_slice(&crate::slot_bytes(v));
            }
            word
        })
        .collect()
}

/// A scalar public input: `v` as a big-endian 256-bit word.
#[must_use]
pub fn scalar_instance(v: u64) -> Instance {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_leaf_packing_is_big_endian_offset_concatenation() {
        let mut leaf = [0i32; LANES];
        for (i, v) in leaf.iter_mut().enumerate() {
            *v = i as i32 - 16;
        }
        let packed = pack_value_leaf(&leaf);
        assert_eq!(packed.len(), 5);
        // First instance: values -16..-9, each as 0x7fff_fff0 + k, in the low 28 bytes.
        assert_eq!(packed[0][..4], [0; 4]);
        assert_eq!(packed[0][4..8], (0x8000_0000u32 - 16).to_be_bytes());
        assert_eq!(packed[0][28..32], (0x8000_0000u32 - 10).to_be_bytes());
        // Last instance holds values 28..31 = 12..15 in its low 16 bytes.
        assert_eq!(packed[4][..16], [0; 16]);
        assert_eq!(packed[4][16..20], (0x8000_0000u32 + 12).to_be_bytes());
        assert_eq!(packed[4][28..32], (0x8000_0000u32 + 15).to_be_bytes());
    }

    #[test]
    fn slots_pack_two_to_an_input_as_slices_of_their_bytes() {
        let slots = [1u128, (1 << 103) + 2, 3];
        let packed = pack_slots(&slots);
        assert_eq!(packed.len(), 2);
        let bytes: Vec<u8> = slots.iter().flat_map(|&v| crate::slot_bytes(v)).collect();
        assert_eq!(packed[0][..6], [0; 6]);
        assert_eq!(packed[0][6..], bytes[..26]);
        assert_eq!(packed[1][..19], [0; 19]);
        assert_eq!(packed[1][19..], bytes[26..]);
    }

    #[test]
    fn acc_packing_has_eleven_instances_with_two_in_the_last() {
        let acc = [i64::MIN; LANES];
        let packed = pack_acc_leaf(&acc);
        assert_eq!(packed.len(), 11);
        assert!(
            packed.iter().all(|w| w.iter().all(|&b| b == 0)),
            "i64::MIN offsets to zero"
        );
        let acc = [-1i64; LANES];
        let last = pack_acc_leaf(&acc)[10];
        assert_eq!(last[..16], [0; 16]);
        assert_eq!(last[16..24], 0x7fff_ffff_ffff_ffffu64.to_be_bytes());
    }
}
