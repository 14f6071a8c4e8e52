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

/// The state after `step` steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Steps executed so far.
    pub step: u64,
    /// The register: `i64` words, a multiple of [`LANES`] (one word per lane per field).
    pub register: Vec<i64>,
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
        let base = state_hash(config_hash, self.step, &self.register, &self.regions);
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
            regions,
            wrap: None,
        }
    }

    /// The state after a step that wrote only `register` (regions unchanged).
    #[must_use]
    pub fn next(&self, register: Vec<i64>) -> Self {
        Self {
            step: self.step + 1,
            register,
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

/// `keccak(abi.encode(configHash, uint256 step, registerHash, regionRoot…))`.
#[must_use]
pub fn state_hash(config_hash: &Digest, step: u64, register: &[i64], regions: &[Digest]) -> Digest {
    let mut step_word = [0u8; 32];
    step_word[24..].copy_from_slice(&step.to_be_bytes());
    let reg = register_hash(register);
    let mut parts: Vec<&[u8]> = vec![config_hash, &step_word, &reg];
    parts.extend(regions.iter().map(<[u8; 32]>::as_slice));
    keccak256(&parts)
}
