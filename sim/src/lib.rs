//! Dispute simulation: deploys the contracts on a chain (the in-process revm chain by default,
//! or a JSON-RPC node such as Anvil), then plays one federated-learning round per scenario —
//! an honest round that finalises, an aggregator that corrupts one step and is slashed, a
//! challenger that disputes an honest result and is slashed — and reports outcome, moves, gas
//! of every on-chain action, proving time and wall time.

mod clients;
mod config;
mod report;
mod scenario;

pub use clients::{SyntheticClient, generate};
pub use config::{ChainArgs, ScenarioName, SimArgs};
pub use report::{ActionGas, Outcome, ScenarioReport, SimReport};
pub use scenario::{SimError, Simulation, run, run_with_prover};
