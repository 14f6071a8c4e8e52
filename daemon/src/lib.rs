//! What a long-running role process needs, shared by the aggregator and challenger daemons:
//!
//! - [`Store`]: the embedded SQLite database (updates held, per-round progress, games,
//!   cursors) that makes a daemon survive SIGKILL and restarts;
//! - [`wire`]: the update wire format and [`UpdateDigest`], the update root computed as the
//!   bytes arrive;
//! - [`http`]: the data-availability HTTP API (uploads checked against on-chain commitments
//!   as they arrive, updates served to anyone, health, metrics) and [`DaClient`];
//! - [`Metrics`]: Prometheus metrics;
//! - [`config`]: layered configuration (defaults, TOML file, `FL_*` environment, dotted flags)
//!   and the deployment file;
//! - [`logging`]: `tracing` set-up, human or JSON;
//! - [`follow_new_rounds`] and [`round_turns`]: the role-independent part of a daemon's loop.
//!
//! The roles' decisions live in their own crates; this crate holds no protocol logic.

pub mod config;
mod error;
pub mod http;
pub mod logging;
mod metrics;
pub mod runtime;
mod schedule;
mod signals;
mod store;
pub mod wire;

pub use config::{
    ChainConfig, DaemonSettings, DeploymentFile, ResolvedSettings, RuleArgs, RuleName, read_toml,
};
pub use error::{DaemonError, Result};
pub use http::{DaClient, DaService, serve};
pub use metrics::{Metrics, ether};
pub use runtime::{Started, prove_setup, spinner, start};
pub use schedule::{
    Core, FollowError, Pacing, RoundRole, follow_new_rounds, round_turns, run_rounds, tick,
};
pub use signals::{shutdown_on_signals, until_true};
pub use store::{Binding, Store};
pub use wire::UpdateDigest;
