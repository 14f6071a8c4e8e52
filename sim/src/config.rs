//! Command-line configuration of the simulation (clap), validated in one place.

use std::path::PathBuf;

use clap::{Args, Parser, ValueEnum};

/// The scenarios a simulation can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioName {
    /// Honest aggregator, honest challenger agrees: the round finalises.
    Honest,
    /// The aggregator corrupts one step; the challenger disputes and wins.
    AggregatorLies,
    /// The challenger disputes an honest result; the aggregator defends and wins.
    ChallengerLies,
    /// A client commits but publishes nothing; the challenger challenges its availability,
    /// nobody reveals, and the client is excluded before the post.
    WithheldUpdate,
    /// A client uploads only to the aggregator; the challenger challenges, the aggregator
    /// reveals it on chain, and the round proceeds with the client in.
    RevealedUpdate,
    /// A client commits a root no data opens; it is challenged and excluded.
    UnprovableRoot,
    /// A client tries a weight that would overflow W; the registry refuses it and the round
    /// completes without it.
    WeightOverflow,
    /// The last commit lands after the aggregator computed its result: the post names the
    /// stale inputs and reverts, nobody is slashed, and the aggregator posts again.
    RacingCommit,
    /// The lying aggregator's own second address challenges and wins first (the aggregator
    /// lets its clock run out); the honest challenger wins too; the aggregator recovers nothing.
    SelfChallenge,
    /// The lying aggregator's second address proves the same leaf as the honest challenger in
    /// its own game; the aggregator recovers nothing.
    CopiedLeaf,
    /// Eight lying challengers dispute an honest result at once; the aggregator discovers and
    /// defends every game concurrently; all lose and the round finalises.
    ManyChallengers,
    /// The aggregator never posts; the round expires and every deposit and bond comes back.
    UnpostedRound,
}

impl ScenarioName {
    /// Every scenario, in the default order.
    pub const ALL: [Self; 12] = [
        Self::Honest,
        Self::AggregatorLies,
        Self::ChallengerLies,
        Self::WithheldUpdate,
        Self::RevealedUpdate,
        Self::UnprovableRoot,
        Self::WeightOverflow,
        Self::RacingCommit,
        Self::SelfChallenge,
        Self::CopiedLeaf,
        Self::ManyChallengers,
        Self::UnpostedRound,
    ];

    /// Name in reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Honest => "honest",
            Self::AggregatorLies => "aggregator_lies",
            Self::ChallengerLies => "challenger_lies",
            Self::WithheldUpdate => "withheld_update",
            Self::RevealedUpdate => "revealed_update",
            Self::UnprovableRoot => "unprovable_root",
            Self::WeightOverflow => "weight_overflow",
            Self::RacingCommit => "racing_commit",
            Self::SelfChallenge => "self_challenge",
            Self::CopiedLeaf => "copied_leaf",
            Self::ManyChallengers => "many_challengers",
            Self::UnpostedRound => "unposted_round",
        }
    }
}

/// Which chain to run on.
#[derive(Debug, Clone, Args)]
pub struct ChainArgs {
    /// JSON-RPC URL of a node (e.g. Anvil). Without it, the embedded in-process revm chain is
    /// used.
    #[arg(long = "rpc-url", env = "FLSIM_RPC_URL")]
    pub rpc_url: Option<String>,
    /// Mnemonic of the accounts to use with --rpc-url (default: the public Anvil/Hardhat
    /// development mnemonic; never use it on a real network).
    #[arg(long, env = "FLSIM_MNEMONIC", default_value = contracts::DEV_MNEMONIC)]
    pub mnemonic: String,
    /// Start a local Anvil from this binary and run against it over JSON-RPC.
    #[arg(long = "anvil", env = "FLSIM_ANVIL", conflicts_with = "rpc_url")]
    pub anvil: Option<PathBuf>,
}

/// Simulation of one FL round per scenario with disputes settled on-chain.
#[derive(Debug, Clone, Parser)]
#[command(name = "sim", version, about)]
pub struct SimArgs {
    /// Number of synthetic clients.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Model dimension (parameters per update).
    #[arg(long, default_value_t = 4096)]
    pub dim: usize,
    /// Seed of the synthetic client data and of the injected faults.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Step the dishonest aggregator corrupts (default: the middle of the program).
    #[arg(long = "corrupt-step")]
    pub corrupt_step: Option<u64>,
    /// Step kind the dishonest aggregator corrupts: the first step of that kind (e.g.
    /// `Distance`, `ScoreRank`, `Pick`) whose corruption changes the result. Under `--clip`
    /// a base kind names the `Clip` steps that wrap it.
    #[arg(long = "corrupt-kind", value_parser = parse_kind, conflicts_with = "corrupt_step")]
    pub corrupt_kind: Option<step_vm::StepKind>,
    /// The rounds' aggregation rule and its parameters.
    #[command(flatten)]
    pub rules: daemon::config::RuleArgs,
    /// Scenarios to play, in order (default: all of them).
    #[arg(long = "scenario", value_enum)]
    pub scenarios: Vec<ScenarioName>,
    /// A KZG ceremony file in halo2 params format. Without it, an INSECURE development setup
    /// from a fixed seed is used.
    #[arg(long)]
    pub srs: Option<PathBuf>,
    /// Print one JSON object instead of the human summary.
    #[arg(long)]
    pub json: bool,
    /// Chain selection.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// A step kind by its name (`StepKind::name`, case-insensitive).
fn parse_kind(name: &str) -> Result<step_vm::StepKind, String> {
    step_vm::StepKind::ALL
        .into_iter()
        .find(|k| k.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names: Vec<&str> = step_vm::StepKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown step kind {name:?}; one of {}", names.join(", "))
        })
}

impl SimArgs {
    /// The rule of the rounds, with its parameters.
    #[must_use]
    pub fn rule(&self) -> step_vm::Rule {
        self.rules.rule()
    }

    /// The shape of a round of every client.
    fn shape(&self) -> step_vm::Shape {
        step_vm::Shape {
            participants: self.clients,
            chunks: step_vm::chunk_count(self.dim),
        }
    }

    /// Checks every field; the error names the flag, the expected and the actual value.
    ///
    /// # Errors
    /// The first invalid field.
    pub fn validate(&self) -> Result<(), String> {
        if !(2..=step_vm::MAX_PARTICIPANTS).contains(&self.clients) {
            return Err(format!(
                "--clients must be 2..={} (the availability scenarios exclude one client), got {}",
                step_vm::MAX_PARTICIPANTS,
                self.clients
            ));
        }
        if !(1..=step_vm::MAX_DIM).contains(&self.dim) {
            return Err(format!(
                "--dim must be 1..={}, got {}",
                step_vm::MAX_DIM,
                self.dim
            ));
        }
        self.rules.validate(self.clients)?;
        let steps = self.rule().steps(self.clients, self.dim);
        if let Some(step) = self.corrupt_step
            && step >= steps
        {
            return Err(format!(
                "--corrupt-step must be below the program length {steps} of {} clients and dim {}, got {step}",
                self.clients, self.dim
            ));
        }
        if let Some(kind) = self.corrupt_kind
            && !(0..steps).any(|k| self.rule().program().inner_kind(self.shape(), k) == kind)
        {
            return Err(format!(
                "--corrupt-kind {}: the {} program of {} clients and dim {} has no such step",
                kind.name(),
                self.rule(),
                self.clients,
                self.dim
            ));
        }
        if let Some(srs) = &self.srs
            && !srs.is_file()
        {
            return Err(format!("--srs {} is not a readable file", srs.display()));
        }
        Ok(())
    }

    /// The scenarios to play (all of them when none is named).
    #[must_use]
    pub fn scenario_list(&self) -> Vec<ScenarioName> {
        if self.scenarios.is_empty() {
            ScenarioName::ALL.to_vec()
        } else {
            self.scenarios.clone()
        }
    }
}
