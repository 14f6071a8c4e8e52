//! VM state between steps and its commitment.

use crate::{AccLeaf, Digest, acc_hash, keccak256};

/// The state after `step` steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Steps executed so far.
    pub step: u64,
    /// The accumulator register.
    pub acc: AccLeaf,
    /// Root of the output tree (unwritten leaves are zero).
    pub output_root: Digest,
}

impl State {
    /// This state's commitment for the round with `config_hash`.
    #[must_use]
    pub fn commitment(&self, config_hash: &Digest) -> Digest {
        state_hash(config_hash, self.step, &self.acc, &self.output_root)
    }
}

/// `keccak(abi.encode(configHash, uint256 step, accHash, outputRoot))`.
#[must_use]
pub fn state_hash(config_hash: &Digest, step: u64, acc: &AccLeaf, output_root: &Digest) -> Digest {
    let mut step_word = [0u8; 32];
    step_word[24..].copy_from_slice(&step.to_be_bytes());
    keccak256(&[config_hash, &step_word, &acc_hash(acc), output_root])
}
