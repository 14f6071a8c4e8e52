//! The challenger: watches a round's updates for availability (challenging what it cannot
//! obtain), re-executes posted results in the step VM, disputes a wrong one with a bond,
//! plays the bisection game, proves the disputed step and collects.
//!
//! What it shares with the aggregator (reading a round, data availability, the game player)
//! lives in the `protocol` crate; this crate is only the challenger's own decisions.

pub mod cli;
mod error;
pub mod service;
mod watcher;

pub use error::{ChallengerError, Result};
pub use service::ChallengerDaemon;
pub use watcher::{Challenger, Verdict};
