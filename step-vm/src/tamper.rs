//! The hook through which a step's writes can be altered: honest executions use [`Honest`],
//! which changes nothing; adversarial tests and simulations plug in their own (step-vm's
//! `adversary` feature has one that corrupts any cell of any step of any rule).
//!
//! Every rule's execution calls the hook after each step it computes, with the step index and
//! the cells the step wrote, and then carries on from whatever the hook left there, as a
//! consistent liar would. The hook is the only place a fault can come from: production code
//! constructs executions with [`Honest`] and has no fault field.

use crate::{RoundContext, ValueLeaf};

/// Alters what a step writes. Both methods default to leaving the cells as computed.
pub trait Tamper: Send + Sync + std::fmt::Debug {
    /// Whether the hook may change any write of steps `steps` (a conservative `true` by
    /// default). Executions compute the rows no hook touches on their fast native path.
    fn affects(&self, steps: std::ops::Range<u64>) -> bool {
        let _ = steps;
        true
    }

    /// Called with the register words a step wrote (its post-state register), for every step
    /// that leaves a register behind.
    fn register(&self, ctx: &RoundContext, step: u64, register: &mut [i64]) {
        let _ = (ctx, step, register);
    }

    /// Called with a memory leaf a step wrote (e.g. an output leaf).
    fn leaf(&self, ctx: &RoundContext, step: u64, leaf: &mut ValueLeaf) {
        let _ = (ctx, step, leaf);
    }

    /// Called with each wide value a distance-family step writes to memory: a pair's distance
    /// (`index` 0), a block's scores (`index` = lane), a pick's winner plus one (`index` 0).
    fn slot(&self, ctx: &RoundContext, step: u64, index: usize, value: &mut u128) {
        let _ = (ctx, step, index, value);
    }

    /// Called with the clipping scale a `Scale` step wrote.
    fn scale(&self, ctx: &RoundContext, step: u64, scale: &mut u64) {
        let _ = (ctx, step, scale);
    }
}

/// The honest behaviour: every step's writes are left as computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Honest;

impl Tamper for Honest {
    fn affects(&self, _: std::ops::Range<u64>) -> bool {
        false
    }
}
