//! The dispute logic both sides share: a pure **game solver** that, from the on-chain game
//! state and one's own trace, says what to do next, and the **leaf prover** that turns the one
//! disputed step into a Halo2 proof plus the openings the leaf arbiter contract checks.
//!
//! Pure: no async, no network, no chain types. The aggregator and challenger crates translate
//! between on-chain views and [`GameView`], and send the [`Action`]s.

mod error;
mod game;
mod prover;
mod solver;

pub use error::{ArbiterError, Result};
pub use game::{GameStatus, GameView, Role};
pub use prover::{LeafProof, LeafProver};
pub use solver::{Action, TraceProvider, solve};
