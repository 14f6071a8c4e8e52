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
        }
    }

    /// `keccak(0x03 ‖ bytes)`: the register's commitment.
    #[must_use]
    pub fn hash(self, words: &[i64]) -> Digest {
        match self {
            Self::Be64 => register_hash(words),
            Self::Offset40 => keccak256(&[&[crate::hash::REGISTER_TAG], &self.bytes(words)]),
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
