//! The round a program runs for: participants, weights, dimension and the config hash that
//! binds every state commitment to one round of one registry.

use std::sync::Arc;

use crate::merkle::depth_for;
use crate::rules::{Program, Shape};
use crate::{
    CompleteTree, Digest, MAX_DIM, MAX_PARTICIPANTS, MAX_WEIGHT, Result, Rule, State, StepPosition,
    VmError, chunk_count, keccak256, participant_leaf_hash,
};

/// What decides a round's semantics besides its participants: where it lives, the rule, the
/// verifying keys of its step kinds and the model dimension. Hashed into the config hash, so
/// no result can be replayed on another chain or registry or read under another rule or
/// verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoundConfig {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Registry contract address.
    pub registry: [u8; 20],
    /// Round id in the registry.
    pub round_id: u64,
    /// Aggregation rule.
    pub rule: Rule,
    /// `keccak(abi.encode(codehash of each step kind's verifier))`.
    pub verifiers_hash: Digest,
    /// Model dimension.
    pub dim: usize,
}

impl RoundConfig {
    /// A FedAvg round.
    #[must_use]
    pub fn fedavg(
        chain_id: u64,
        registry: [u8; 20],
        round_id: u64,
        verifiers_hash: Digest,
        dim: usize,
    ) -> Self {
        Self {
            chain_id,
            registry,
            round_id,
            rule: Rule::FedAvg,
            verifiers_hash,
            dim,
        }
    }
}

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
    config: RoundConfig,
    program: Arc<dyn Program>,
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
    pub fn new(config: RoundConfig, participants: Vec<Participant>) -> Result<Self> {
        let dim = config.dim;
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
        if let Some(p) = participants
            .iter()
            .position(|p| p.weight == 0 || p.weight > MAX_WEIGHT)
        {
            return Err(invalid(
                "weight",
                "1..=16843009 (MAX_WEIGHT)",
                format!("{} for participant {p}", participants[p].weight),
            ));
        }
        // The distance family's n-dependent bounds are checked at `openRound` against the
        // client count; exclusions may shrink the frozen set, which then runs with `f`
        // clamped (`Selection::effective`) rather than failing.
        if !matches!(config.rule.base(), crate::Rule::Distance(_)) {
            config.rule.validate(participants.len())?;
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
            &config,
            &input_tree.root(),
            participants.len(),
            total_weight,
        );
        Ok(Self {
            program: config.rule.program(),
            config,
            participants,
            total_weight,
            input_tree,
            config_hash,
        })
    }

    /// The same round running `program` instead of its rule's (a clipped rule runs its base
    /// rule's program this way): same participants, commitments and config hash.
    #[must_use]
    pub fn with_program(&self, program: Arc<dyn Program>) -> Self {
        Self {
            program,
            ..self.clone()
        }
    }

    /// What the round's semantics depend on besides its participants.
    #[must_use]
    pub fn config(&self) -> &RoundConfig {
        &self.config
    }

    /// Registry the round lives in.
    #[must_use]
    pub fn registry(&self) -> [u8; 20] {
        self.config.registry
    }

    /// Round id in the registry.
    #[must_use]
    pub fn round_id(&self) -> u64 {
        self.config.round_id
    }

    /// Model dimension.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.config.dim
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
        chunk_count(self.config.dim)
    }

    /// Depth of the update and output trees.
    #[must_use]
    pub fn data_depth(&self) -> usize {
        depth_for(self.chunks())
    }

    /// The round's size as its rule's schedule sees it.
    #[must_use]
    pub fn shape(&self) -> Shape {
        Shape {
            participants: self.participants.len(),
            chunks: self.chunks(),
        }
    }

    /// The rule's program.
    #[must_use]
    pub fn program(&self) -> &dyn Program {
        self.program.as_ref()
    }

    /// Program length `T` (FedAvg: `C · (n + 1)`).
    #[must_use]
    pub fn steps(&self) -> u64 {
        self.program.steps(self.shape())
    }

    /// Kind and grid position of step `k < T`.
    #[must_use]
    pub fn position(&self, k: u64) -> StepPosition {
        self.program.position(self.shape(), k)
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

    /// State 0 of the round's program.
    #[must_use]
    pub fn initial_state(&self) -> State {
        self.program.initial_state(self.shape())
    }

    /// `h_0`, as the registry computes it.
    #[must_use]
    pub fn initial_state_hash(&self) -> Digest {
        self.initial_state().commitment(&self.config_hash)
    }

    /// `h_T` implied by a posted output root, as the registry computes it.
    #[must_use]
    pub fn final_state_hash(&self, output_root: &Digest) -> Digest {
        self.program
            .final_state(self.shape(), output_root)
            .commitment(&self.config_hash)
    }
}

/// The round the crate's unit tests share: `updates` under `rule`, participant `c` with weight
/// `c + 1`, on a fixed chain, registry and round id.
#[cfg(test)]
pub(crate) fn test_round(
    rule: Rule,
    updates: Vec<crate::Update>,
) -> (RoundContext, Vec<crate::Update>) {
    let participants = updates
        .iter()
        .enumerate()
        .map(|(c, u)| Participant {
            update_root: u.root(),
            weight: u32::try_from(c).unwrap() + 1,
        })
        .collect();
    let config = RoundConfig {
        rule,
        ..RoundConfig::fedavg(1, [7; 20], 3, [0; 32], updates[0].dim())
    };
    (RoundContext::new(config, participants).unwrap(), updates)
}

/// `keccak(abi.encode(uint256 chainId, address registry, uint256 roundId, uint8 rule,
/// bytes32 keccak(ruleParams), bytes32 verifiersHash, bytes32 inputRoot, uint256 n, uint256 dim,
/// uint256 W))`: ten 32-byte words.
#[must_use]
pub fn config_hash(
    config: &RoundConfig,
    input_root: &Digest,
    participants: usize,
    total_weight: u32,
) -> Digest {
    let word = |v: u64| {
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&v.to_be_bytes());
        w
    };
    let mut addr = [0u8; 32];
    addr[12..].copy_from_slice(&config.registry);
    keccak256(&[
        &word(config.chain_id),
        &addr,
        &word(config.round_id),
        &word(u64::from(config.rule.id())),
        &config.rule.params_hash(),
        &config.verifiers_hash,
        input_root,
        &word(participants as u64),
        &word(config.dim as u64),
        &word(u64::from(total_weight)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dim: usize) -> RoundConfig {
        RoundConfig::fedavg(1, [0; 20], 1, [0; 32], dim)
    }

    fn p(w: u32) -> Participant {
        Participant {
            update_root: [w as u8; 32],
            weight: w,
        }
    }

    #[test]
    fn rejects_bad_rounds_naming_the_field() {
        let e = RoundContext::new(cfg(0), vec![p(1)]).unwrap_err();
        assert!(matches!(e, VmError::InvalidRound { field: "dim", .. }));
        let e = RoundContext::new(cfg(4), vec![]).unwrap_err();
        assert!(matches!(
            e,
            VmError::InvalidRound {
                field: "participants",
                ..
            }
        ));
        let e = RoundContext::new(cfg(4), vec![p(MAX_WEIGHT + 1), p(1)]).unwrap_err();
        assert!(matches!(
            e,
            VmError::InvalidRound {
                field: "weight",
                ..
            }
        ));
        // 255 participants at the largest weight reach exactly 2^32 - 1: no overflow.
        let full = RoundContext::new(cfg(4), vec![p(MAX_WEIGHT); MAX_PARTICIPANTS]).unwrap();
        assert_eq!(full.total_weight(), u32::MAX);
        let e = RoundContext::new(cfg(4), vec![p(3), p(0)]).unwrap_err();
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
        let r = RoundContext::new(cfg(4096), vec![p(1); 8]).unwrap();
        assert_eq!(r.chunks(), 128);
        assert_eq!(r.steps(), 128 * 9);
        assert_eq!(r.data_depth(), 7);
        assert_eq!(r.total_weight(), 8);
    }

    #[test]
    fn config_hash_binds_chain_rule_verifiers_and_round() {
        let base = RoundContext::new(cfg(64), vec![p(1); 3])
            .unwrap()
            .config_hash();
        let with = |c: RoundConfig| RoundContext::new(c, vec![p(1); 3]).unwrap().config_hash();
        assert_ne!(
            base,
            with(RoundConfig {
                chain_id: 2,
                ..cfg(64)
            })
        );
        assert_ne!(
            base,
            with(RoundConfig {
                registry: [1; 20],
                ..cfg(64)
            })
        );
        assert_ne!(
            base,
            with(RoundConfig {
                round_id: 2,
                ..cfg(64)
            })
        );
        assert_ne!(
            base,
            with(RoundConfig {
                verifiers_hash: [1; 32],
                ..cfg(64)
            })
        );
        assert_ne!(base, with(cfg(65)));
        assert_eq!(base, with(cfg(64)));
    }
}
