//! Rules: programs of step kinds.
//!
//! A rule implements [`Program`]: its schedule (the step count `T` and the kind and grid
//! position of step `k`, closed-form), its initial and final states, and its execution, which
//! computes the result natively and rebuilds any intermediate state on demand (the honest path
//! never hashes intermediate states). [`Rule`] is the round's choice of rule and parameters as
//! `openRound` fixes them; [`Rule::program`] is the one place that maps it to its program.
//!
//! Adding a rule: a module here implementing [`Program`] and [`Execution`], a variant in
//! [`Rule`] with its id, parameter encoding and validation, and its program contract on chain.

mod fedavg;

use std::sync::Arc;

pub use fedavg::{FedAvg, fedavg_native};

use crate::{
    Digest, Result, RoundContext, State, StepPosition, StepWitness, Tamper, Update, keccak256,
};

/// The aggregation rule of a round and its parameters, as `openRound` fixes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Rule {
    /// Weighted FedAvg (rule id 0, no parameters).
    #[default]
    FedAvg,
}

impl Rule {
    /// The rule's on-chain id (its index in the arbiter's program table).
    #[must_use]
    pub fn id(self) -> u8 {
        match self {
            Self::FedAvg => 0,
        }
    }

    /// The rule's name, as its program contract is named (`FedAvgProgram`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::FedAvg => "FedAvg",
        }
    }

    /// The rule's ABI-encoded parameters, as passed to `openRound`.
    #[must_use]
    pub fn params(self) -> Vec<u8> {
        match self {
            Self::FedAvg => Vec::new(),
        }
    }

    /// `keccak(params)`, as the registry stores it.
    #[must_use]
    pub fn params_hash(self) -> Digest {
        keccak256(&[&self.params()])
    }

    /// Checks the parameters against a round of `participants` clients (mirrors the program
    /// contract's `validate`).
    ///
    /// # Errors
    /// [`VmError::InvalidRuleParams`] naming the rule, the parameter and the bound.
    pub fn validate(self, participants: usize) -> Result<()> {
        let _ = participants;
        match self {
            Self::FedAvg => Ok(()),
        }
    }

    /// Program length `T` of this rule for a round of `participants` clients and `dim`
    /// values.
    #[must_use]
    pub fn steps(self, participants: usize, dim: usize) -> u64 {
        self.program().steps(Shape {
            participants,
            chunks: crate::chunk_count(dim),
        })
    }

    /// The rule's program.
    #[must_use]
    pub fn program(self) -> Arc<dyn Program> {
        match self {
            Self::FedAvg => Arc::new(FedAvg),
        }
    }
}

/// The size of a round as a schedule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Participants `n`.
    pub participants: usize,
    /// 32-lane chunks `C` of the model.
    pub chunks: usize,
}

/// What a rule implements: its schedule and its execution.
pub trait Program: Send + Sync + std::fmt::Debug {
    /// Program length `T`.
    fn steps(&self, shape: Shape) -> u64;

    /// Kind and grid position of step `k < T`.
    fn position(&self, shape: Shape, k: u64) -> StepPosition;

    /// State 0, from the round alone.
    fn initial_state(&self, shape: Shape) -> State;

    /// State `T` implied by a posted output root.
    fn final_state(&self, shape: Shape, output_root: &Digest) -> State;

    /// Runs the rule on the round's updates (dimensions already checked), every step's
    /// writes passed through `tamper`.
    ///
    /// # Errors
    /// An unreachable overflow, or a rule-specific refusal of the inputs.
    fn execute(
        &self,
        ctx: RoundContext,
        updates: Vec<Update>,
        tamper: Arc<dyn Tamper>,
    ) -> Result<Box<dyn Execution>>;
}

/// An executed program: its result and every state on demand.
pub trait Execution: Send + Sync + std::fmt::Debug {
    /// The aggregated model (`dim` values).
    fn output(&self) -> &[i32];

    /// Root of the output tree: what the aggregator posts.
    fn output_root(&self) -> Digest;

    /// State `k` (`0 ..= T`; the caller checks the range).
    ///
    /// # Errors
    /// A rule-specific failure to rebuild the state.
    fn state(&self, k: u64) -> Result<State>;

    /// Witness of step `k` (`0 .. T`; the caller checks the range), from this execution's
    /// states.
    ///
    /// # Errors
    /// A rule-specific failure to rebuild the step.
    fn witness(&self, k: u64) -> Result<StepWitness>;
}
