//! The off-chain side of the protocol that the aggregator and the challenger both run, so that
//! neither role depends on the other (as op-challenger's game players attack and defend alike):
//!
//! - [`round`]: a round's inputs as the chain fixes them (participants after availability
//!   exclusions, the rule, the verifiers' binding), checked against the registry's config hash;
//! - [`availability`]: obtaining every committed update off chain or from on-chain reveals,
//!   challenging what cannot be obtained, answering challenges on data one holds, settling
//!   unanswered ones;
//! - [`GamePlayer`]: one side of one bisection game (reads the game, asks the pure solver,
//!   sends the move, proves the leaf);
//! - [`leaf_input`]: a leaf proof as the arbiter contract's calldata.

pub mod availability;
mod error;
mod leaf;
mod player;
pub mod round;

pub use availability::{
    MemoryBoard, UpdateSource, answer_challenges, challenge_unavailable, gather_updates,
    obtain_update, settle_unanswered,
};
pub use error::{ProtocolError, Result};
pub use leaf::leaf_input;
pub use player::{GamePlayer, Turn};
pub use round::{
    RoundInputs, RoundStatus, check_config_hash, pending_inputs, round_config, round_inputs,
};
