//! Dispute simulation: deploys the contracts on a chain (the in-process revm chain by default,
//! or a JSON-RPC node such as Anvil), then plays one federated-learning round per scenario —
//! an honest round, a lying aggregator, a lying challenger, withheld, revealed and unprovable
//! client data, an overflowing weight, a commit racing the post, sybil challengers of a slashed
//! aggregator, eight concurrent lying challengers, an unposted round — and reports outcome,
//! moves, gas of every on-chain action, who paid and got what, proving time and wall time.

mod clients;
mod config;
mod report;
mod scenario;

pub use clients::{SyntheticClient, generate};
pub use config::{ChainArgs, ScenarioName, SimArgs};
pub use daemon::config::RuleName;
pub use report::{ActionGas, Outcome, ScenarioReport, SimReport, parse_signed, signed};
pub use scenario::{SimError, Simulation, run, run_with_prover};
