//! The round a program runs for: participants, weights, dimension and the config hash that
//! binds every state commitment to one round of one registry.

use crate::merkle::depth_for;
use crate::{
    CompleteTree, Digest, MAX_DIM, MAX_PARTICIPANTS, Result, VmError, chunk_count, empty_root,
    keccak256, participant_leaf_hash, state_hash, zero_acc,
};

/// A participant as the registry fixed it when the result was posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Participant {
    /// Root of the participant's committed update.
    pub update_root: Digest,
    /// Its FedAvg weight (example count), at least 1.
    pub weight: u32,
}

/// Everything about a round that the program depends on.
#[derive(Debug, Clone)]
pub struct RoundContext {
    registry: [u8; 20],
    round_id: u64,
    dim: usize,
    participants: Vec<Participant>,
    total_weight: u32,
    input_tree: CompleteTree,
    config_hash: Digest,
}

impl RoundContext {
    /// Validates the round and derives its commitments.
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] naming the bad field.
    pub fn new(
        registry: [u8; 20],
        round_id: u64,
        dim: usize,
        participants: Vec<Participant>,
    ) -> Result<Self> {
        let invalid = |field, expected: &str, actual: String| VmError::InvalidRound {
            field,
            expected: expected.to_owned(),
            actual,
        };
        if dim == 0 || dim > MAX_DIM {
            return Err(invalid("dim", "1..=2^28", dim.to_string()));
        }
        if participants.is_empty() || participants.len() > MAX_PARTICIPANTS {
            return Err(invalid(
                "participants",
                "1..=255",
                participants.len().to_string(),
            ));
        }
        if let Some(p) = participants.iter().position(|p| p.weight == 0) {
            return Err(invalid(
                "weight",
                "at least 1",
                format!("0 for participant {p}"),
            ));
        }
        let total: u64 = participants.iter().map(|p| u64::from(p.weight)).sum();
        let total_weight = u32::try_from(total)
            .map_err(|_| invalid("total weight", "at most 2^32-1", total.to_string()))?;
        let leaves: Vec<Digest> = participants
            .iter()
            .map(|p| participant_leaf_hash(&p.update_root, p.weight))
            .collect();
        let input_tree = CompleteTree::new(&leaves);
        let config_hash = config_hash(
            &registry,
            round_id,
            &input_tree.root(),
            participants.len(),
            dim,
            total_weight,
        );
        Ok(Self {
            registry,
            round_id,
            dim,
            participants,
            total_weight,
            input_tree,
            config_hash,
        })
    }

    /// Registry the round lives in.
    #[must_use]
    pub fn registry(&self) -> [u8; 20] {
        self.registry
    }

    /// Round id in the registry.
    #[must_use]
    pub fn round_id(&self) -> u64 {
        self.round_id
    }

    /// Model dimension.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Participants in program order.
    #[must_use]
    pub fn participants(&self) -> &[Participant] {
        &self.participants
    }

    /// `W = Σ w_i`.
    #[must_use]
    pub fn total_weight(&self) -> u32 {
        self.total_weight
    }

    /// Number of 32-lane chunks `C`.
    #[must_use]
    pub fn chunks(&self) -> usize {
        chunk_count(self.dim)
    }

    /// Depth of the update and output trees.
    #[must_use]
    pub fn data_depth(&self) -> usize {
        depth_for(self.chunks())
    }

    /// Program length `T = C · (n + 1)`.
    #[must_use]
    pub fn steps(&self) -> u64 {
        self.chunks() as u64 * (self.participants.len() as u64 + 1)
    }

    /// Tree over the participant leaves.
    #[must_use]
    pub fn input_tree(&self) -> &CompleteTree {
        &self.input_tree
    }

    /// The config hash every state commitment starts with.
    #[must_use]
    pub fn config_hash(&self) -> Digest {
        self.config_hash
    }

    /// `h_0`: zero register, empty output tree.
    #[must_use]
    pub fn initial_state_hash(&self) -> Digest {
        state_hash(
            &self.config_hash,
            0,
            &zero_acc(),
            &empty_root(self.data_depth()),
        )
    }

    /// `h_T` implied by a posted output root.
    #[must_use]
    pub fn final_state_hash(&self, output_root: &Digest) -> Digest {
        state_hash(&self.config_hash, self.steps(), &zero_acc(), output_root)
    }
}

/// `keccak(abi.encode(address registry, uint256 roundId, bytes32 inputRoot, uint256 n,
/// uint256 dim, uint256 W))`.
#[must_use]
pub fn config_hash(
    registry: &[u8; 20],
    round_id: u64,
    input_root: &Digest,
    participants: usize,
    dim: usize,
    total_weight: u32,
) -> Digest {
    let word = |v: u64| {
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&v.to_be_bytes());
        w
    };
    let mut addr = [0u8; 32];
    addr[12..].copy_from_slice(registry);
    keccak256(&[
        &addr,
        &word(round_id),
        input_root,
        &word(participants as u64),
        &word(dim as u64),
        &word(u64::from(total_weight)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(w: u32) -> Participant {
        Participant {
            update_root: [w as u8; 32],
            weight: w,
        }
    }

    #[test]
    fn rejects_bad_rounds_naming_the_field() {
        let e = RoundContext::new([0; 20], 1, 0, vec![p(1)]).unwrap_err();
        assert!(matches!(e, VmError::InvalidRound { field: "dim", .. }));
        let e = RoundContext::new([0; 20], 1, 4, vec![]).unwrap_err();
        assert!(matches!(
            e,
            VmError::InvalidRound {
                field: "participants",
                ..
            }
        ));
        let e = RoundContext::new([0; 20], 1, 4, vec![p(u32::MAX), p(1)]).unwrap_err();
        assert!(matches!(
            e,
            VmError::InvalidRound {
                field: "total weight",
                ..
            }
        ));
        let e = RoundContext::new([0; 20], 1, 4, vec![p(3), p(0)]).unwrap_err();
        assert!(matches!(
            e,
            VmError::InvalidRound {
                field: "weight",
                ..
            }
        ));
    }

    #[test]
    fn steps_and_chunks() {
        let r = RoundContext::new([0; 20], 1, 4096, vec![p(1); 8]).unwrap();
        assert_eq!(r.chunks(), 128);
        assert_eq!(r.steps(), 128 * 9);
        assert_eq!(r.data_depth(), 7);
        assert_eq!(r.total_weight(), 8);
    }
}
