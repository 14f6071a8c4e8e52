//! VM state between steps and its commitment (ARCHITECTURE §3).
//!
//! A state is a small header (the step index and a register of `i64` words) plus the roots of
//! the rule's memory regions (for FedAvg one region, the output tree). Its commitment is
//! `keccak(abi.encode(configHash, uint256 step, registerHash, regionRoot_1, …, regionRoot_m))`
//! with a fixed number of regions per rule, so a leaf opens a bounded amount of memory whatever
//! `n` and `d` are. While a clipped rule runs its base program, each base state is bound to the
//! scales the prologue wrote: `keccak(0x05 ‖ baseCommitment ‖ scalesRoot)` (`State::wrap`).

use crate::hash::clipped_state_hash;
use crate::{AccLeaf, Digest, LANES, Result, VmError, keccak256, register_hash};

/// How a register's words are laid out in its commitment and in leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegisterLayout {
    /// Big-endian `i64` words (FedAvg's accumulator, the clipping norm register).
    #[default]
    Be64,
    /// 5-byte big-endian offset limbs `w + 2^39` (the order-statistic register, whose words
    /// lie in `[-2^39, 2^39)`): exactly the limbs its public inputs pack, so a checker reads
    /// each instance as one 30-byte slice. A word outside the range (no execution reaches one)
    /// wraps to its low 40 bits.
    Offset40,
    /// Wide unsigned slots (the distance family's registers, `docs/design/distance-family.md`):
    /// the words come in pairs, the high and low halves of a `u128` ([`slot_words`]), each
    /// pair committed and carried as its low **13 bytes** big-endian (a slot holds values
    /// below `2^104`: distances below `2^92`, scores below `2^100`). Two slots are one public
    /// input, a 26-byte slice of the bytes. A value of `2^104` or more (no execution reaches
    /// one) wraps to its low 104 bits; a trailing unpaired word is the high half of a slot
    /// whose low half is zero.
    Slots104,
}

/// Bytes of one [`RegisterLayout::Slots104`] slot.
pub const SLOT_BYTES: usize = 13;

/// The two register words holding `v` in a [`RegisterLayout::Slots104`] register: its high
/// and low 64 bits.
#[must_use]
pub fn slot_words(v: u128) -> [i64; 2] {
    // The halves' bit patterns, reinterpreted: slot_value inverts this exactly.
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    [(v >> 64) as u64 as i64, v as u64 as i64]
}

/// The `u128` a pair of [`RegisterLayout::Slots104`] words holds (the inverse of
/// [`slot_words`]).
#[must_use]
pub fn slot_value(hi: i64, lo: i64) -> u128 {
    #[allow(clippy::cast_sign_loss)]
    let (hi, lo) = (u128::from(hi as u64), u128::from(lo as u64));
    (hi << 64) | lo
}

/// The 13 big-endian bytes of a slot (its low 104 bits).
#[must_use]
pub fn slot_bytes(v: u128) -> [u8; SLOT_BYTES] {
    let be = v.to_be_bytes();
    <[u8; SLOT_BYTES]>::try_from(&be[16 - SLOT_BYTES..]).unwrap_or_default()
}

impl RegisterLayout {
    /// The register's bytes in this layout (what leaves carry and the commitment hashes).
    #[must_use]
    pub fn bytes(self, words: &[i64]) -> Vec<u8> {
        match self {
            Self::Be64 => words.iter().flat_map(|w| w.to_be_bytes()).collect(),
            Self::Offset40 => words
                .iter()
                .flat_map(|&w| {
                    let limb = w.wrapping_add(1 << 39).to_be_bytes();
                    // The low 5 bytes of the offset word.
                    <[u8; 5]>::try_from(&limb[3..]).unwrap_or_default()
                })
                .collect(),
            Self::Slots104 => words
                .chunks(2)
                .flat_map(|pair| slot_bytes(slot_value(pair[0], pair.get(1).copied().unwrap_or(0))))
                .collect(),
        }
    }

    /// `keccak(0x03 ‖ bytes)`: the register's commitment.
    #[must_use]
    pub fn hash(self, words: &[i64]) -> Digest {
        match self {
            Self::Be64 => register_hash(words),
            Self::Offset40 | Self::Slots104 => {
                keccak256(&[&[crate::hash::REGISTER_TAG], &self.bytes(words)])
            }
        }
    }
}

/// The state after `step` steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Steps executed so far.
    pub step: u64,
    /// The register: `i64` words, a multiple of [`LANES`] (one word per lane per field).
    pub register: Vec<i64>,
    /// How the register is committed.
    pub layout: RegisterLayout,
    /// Roots of the rule's memory regions, in the rule's fixed order.
    pub regions: Vec<Digest>,
    /// The scales root a clipped rule binds this (base program) state to, if any: the
    /// commitment is then `keccak(0x05 ‖ baseCommitment ‖ scalesRoot)` and `step` is the base
    /// program's own step index.
    pub wrap: Option<Digest>,
}

impl State {
    /// This state's commitment for the round with `config_hash`.
    #[must_use]
    pub fn commitment(&self, config_hash: &Digest) -> Digest {
        let base = state_hash_of(
            config_hash,
            self.step,
            &self.layout.hash(&self.register),
            &self.regions,
        );
        match &self.wrap {
            Some(scales_root) => clipped_state_hash(&base, scales_root),
            None => base,
        }
    }

    /// A state with `register` and `regions`, not wrapped.
    #[must_use]
    pub fn new(step: u64, register: Vec<i64>, regions: Vec<Digest>) -> Self {
        Self {
            step,
            register,
            layout: RegisterLayout::Be64,
            regions,
            wrap: None,
        }
    }

    /// The same state with its register committed in `layout`.
    #[must_use]
    pub fn with_layout(self, layout: RegisterLayout) -> Self {
        Self { layout, ..self }
    }

    /// The commitment of the register (`keccak(0x03 ‖ register bytes)`).
    #[must_use]
    pub fn register_hash(&self) -> Digest {
        self.layout.hash(&self.register)
    }

    /// The register's bytes as leaves carry them.
    #[must_use]
    pub fn register_bytes(&self) -> Vec<u8> {
        self.layout.bytes(&self.register)
    }

    /// The state after a step that wrote only `register` (regions unchanged).
    #[must_use]
    pub fn next(&self, register: Vec<i64>) -> Self {
        Self {
            step: self.step + 1,
            register,
            layout: self.layout,
            regions: self.regions.clone(),
            wrap: self.wrap,
        }
    }

    /// The register read as one 32-lane accumulator (FedAvg's register).
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] if the register is not exactly one 32-lane word row.
    pub fn acc(&self) -> Result<AccLeaf> {
        AccLeaf::try_from(self.register.as_slice()).map_err(|_| VmError::InvalidRound {
            field: "register",
            expected: format!("{LANES} words"),
            actual: format!("{} words", self.register.len()),
        })
    }

    /// Root of region `index`.
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] if the state has no such region.
    pub fn region(&self, index: usize) -> Result<Digest> {
        self.regions
            .get(index)
            .copied()
            .ok_or_else(|| VmError::InvalidRound {
                field: "regions",
                expected: format!("more than {index} regions"),
                actual: self.regions.len().to_string(),
            })
    }
}

/// `keccak(abi.encode(configHash, uint256 step, registerHash, regionRoot…))` of a state whose
/// register is committed as big-endian words ([`RegisterLayout::Be64`]).
#[must_use]
pub fn state_hash(config_hash: &Digest, step: u64, register: &[i64], regions: &[Digest]) -> Digest {
    state_hash_of(config_hash, step, &register_hash(register), regions)
}

/// `keccak(abi.encode(configHash, uint256 step, registerHash, regionRoot…))` of a register
/// already committed.
fn state_hash_of(config_hash: &Digest, step: u64, reg: &Digest, regions: &[Digest]) -> Digest {
    let mut step_word = [0u8; 32];
    step_word[24..].copy_from_slice(&step.to_be_bytes());
    let mut parts: Vec<&[u8]> = vec![config_hash, &step_word, reg];
    parts.extend(regions.iter().map(<[u8; 32]>::as_slice));
    keccak256(&parts)
}
