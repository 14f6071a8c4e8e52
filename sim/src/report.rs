//! What a simulation reports, as a human summary or one JSON object.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How a scenario's round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The result stood and the round finalised.
    Finalized,
    /// The result was disproven: the aggregator's bond was slashed (part burnt, the rest paying
    /// the winning challengers' costs).
    AggregatorSlashed,
    /// Every dispute failed; the challengers' bonds went to the aggregator and the round
    /// finalised.
    ChallengerSlashed,
    /// No result was posted in time; the round expired.
    Expired,
}

impl Outcome {
    /// Name in reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Finalized => "finalized",
            Self::AggregatorSlashed => "aggregator_slashed",
            Self::ChallengerSlashed => "challenger_slashed",
            Self::Expired => "expired",
        }
    }
}

/// Gas of one kind of on-chain action within a scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ActionGas {
    /// Transactions of this kind.
    pub calls: u32,
    /// Total gas.
    pub total: u64,
    /// Largest single transaction.
    pub max: u64,
}

impl ActionGas {
    /// Mean gas per call.
    #[must_use]
    pub fn mean(&self) -> u64 {
        self.total / u64::from(self.calls.max(1))
    }
}

/// One scenario's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScenarioReport {
    /// Scenario name.
    pub name: String,
    /// How the round ended.
    pub outcome: Outcome,
    /// Round id on chain.
    pub round: u64,
    /// Program length `T`.
    pub steps: u64,
    /// The step a dishonest party corrupted, if any.
    pub corrupted_step: Option<u64>,
    /// The single step the game narrowed the dispute to, if there was a game.
    pub disputed_step: Option<u64>,
    /// Game moves (bisect, respond, proveLeaf, timeout).
    pub moves: u32,
    /// Gas by action.
    pub gas: BTreeMap<String, ActionGas>,
    /// Time spent producing the leaf proof (0 without a dispute).
    pub prove_seconds: f64,
    /// Aggregation time (VM execution and output commitment).
    pub aggregate_seconds: f64,
    /// Wall time of the whole scenario.
    pub wall_seconds: f64,
    /// Participants the chain fixed (committed and not excluded).
    pub participants: usize,
    /// Client indices excluded for unavailable data.
    pub excluded_clients: Vec<u32>,
    /// Games played on the round.
    pub games: usize,
    /// Posts that reverted because the inputs changed after the aggregator read them.
    pub stale_posts: u32,
    /// Reveals the registry refused (data that does not open the committed root).
    pub refused_reveals: u32,
    /// Rounds of game moves (each one block, every open game moving once in it): with the
    /// aggregator defending its games concurrently, this does not grow with their number.
    pub game_rounds: u32,
    /// Chain seconds from the post to the round's final status (finalised, or rejected with
    /// every game ended); `None` without a post.
    pub finality_seconds: Option<u64>,
    /// Ether the registry burnt during the scenario (wei, decimal).
    pub burnt_wei: String,
    /// Net bond flow per role in wei (withdrawn minus posted; gas fees excluded), signed
    /// decimal strings.
    pub bond_net_wei: BTreeMap<String, String>,
    /// Gas fees per role in wei (decimal strings).
    pub fees_wei: BTreeMap<String, String>,
    /// Balance change per role in wei, gas fees included (signed decimal strings): what each
    /// party ends up with.
    pub net_wei: BTreeMap<String, String>,
}

/// A signed wei amount as a decimal string with an explicit sign.
#[must_use]
pub fn signed(gain: alloy::primitives::U256, loss: alloy::primitives::U256) -> String {
    if gain >= loss {
        format!("+{}", gain - loss)
    } else {
        format!("-{}", loss - gain)
    }
}

/// Parses a [`signed`] amount back (for checks in tests and scripts).
///
/// # Errors
/// Not a signed decimal.
pub fn parse_signed(s: &str) -> Result<i128, std::num::ParseIntError> {
    s.trim_start_matches('+').parse()
}

impl ScenarioReport {
    pub(crate) fn record(&mut self, action: &str, gas: u64) {
        let e = self.gas.entry(action.to_owned()).or_default();
        e.calls += 1;
        e.total += gas;
        e.max = e.max.max(gas);
    }
}

/// A whole simulation's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SimReport {
    /// Chain backend.
    pub chain: String,
    /// Clients per round.
    pub clients: usize,
    /// Model dimension.
    pub dim: usize,
    /// Aggregation rule, with its parameters.
    pub rule: String,
    /// Data seed.
    pub seed: u64,
    /// Whether the proving setup is the insecure development SRS.
    pub insecure_dev_srs: bool,
    /// Seconds spent generating the step circuits' keys.
    pub keygen_seconds: f64,
    /// Gas of each deployment transaction.
    pub deploy_gas: BTreeMap<String, u64>,
    /// Runtime bytecode size of each contract.
    pub runtime_bytes: BTreeMap<String, usize>,
    /// One entry per scenario.
    pub scenarios: Vec<ScenarioReport>,
}

impl SimReport {
    /// The human summary.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Dispute simulation on {}: {}, {} clients, d = {}, seed {}{}",
            self.chain,
            self.rule,
            self.clients,
            self.dim,
            self.seed,
            if self.insecure_dev_srs {
                " (INSECURE development SRS)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "Step circuit keys generated in {:.2} s",
            self.keygen_seconds
        );
        let _ = writeln!(s, "Contracts (runtime bytes, deployment gas):");
        for (name, gas) in &self.deploy_gas {
            let bytes = self
                .runtime_bytes
                .get(name)
                .map_or(String::new(), |b| format!("{b:>6} B"));
            let _ = writeln!(s, "  {name:<22} {bytes:>8}  {gas:>10} gas");
        }
        for sc in &self.scenarios {
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "Scenario {:<16} outcome {:<19} round {}  steps {}  moves {}",
                sc.name,
                sc.outcome.as_str(),
                sc.round,
                sc.steps,
                sc.moves
            );
            let _ = writeln!(
                s,
                "  participants {}  excluded {:?}  games {} ({} rounds of moves)  stale posts {}  burnt {} wei  finality {}",
                sc.participants,
                sc.excluded_clients,
                sc.games,
                sc.game_rounds,
                sc.stale_posts,
                sc.burnt_wei,
                sc.finality_seconds
                    .map_or("-".to_owned(), |s| format!("{s} s after the post"))
            );
            if let Some(c) = sc.corrupted_step {
                let _ = writeln!(
                    s,
                    "  corrupted step {c}, dispute narrowed to step {}",
                    sc.disputed_step.map_or("-".into(), |d| d.to_string())
                );
            }
            let _ = writeln!(
                s,
                "  aggregate {:.3} s   prove {:.3} s   wall {:.2} s",
                sc.aggregate_seconds, sc.prove_seconds, sc.wall_seconds
            );
            for (action, g) in &sc.gas {
                let _ = writeln!(
                    s,
                    "  {action:<22} x{:<3} mean {:>9} gas   max {:>9}",
                    g.calls,
                    g.mean(),
                    g.max
                );
            }
            for (role, net) in &sc.net_wei {
                let _ = writeln!(
                    s,
                    "  {role:<12} bonds {:>24}  fees {:>20}  net {:>24} wei",
                    sc.bond_net_wei.get(role).map_or("-", String::as_str),
                    sc.fees_wei.get(role).map_or("-", String::as_str),
                    net
                );
            }
        }
        s
    }
}
