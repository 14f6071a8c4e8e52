//! Where the transaction manager writes every transaction it puts in flight, so that a
//! restarted process waits for (or rebroadcasts) what its predecessor left in flight instead
//! of sending the same thing again.
//!
//! The trait is synchronous and object-safe: a daemon implements it on SQLite; tests and
//! short-lived tools use [`MemoryJournal`].

use std::sync::Mutex;

use alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::node::TxRequest;

/// One submitted transaction: the request exactly as signed, and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// What the transaction does (`postResult`, `bisect`, ...).
    pub action: String,
    /// The request as submitted (nonce and fees included).
    pub request: TxRequest,
    /// Its hash.
    pub hash: B256,
}

/// What became of a journaled transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JournalState {
    /// Submitted, outcome unknown.
    InFlight,
    /// Mined in this block (successful or reverted).
    Mined {
        /// The block.
        block_number: u64,
    },
    /// Never mined: replaced by another transaction with its nonce, or refused.
    Dropped,
}

/// Durable record of the transactions in flight. Every method is one small write or read;
/// an error stops the send that needed it.
pub trait TxJournal: Send + Sync + std::fmt::Debug {
    /// Records a transaction about to be submitted (written before the node sees it, so a
    /// crash in between leaves it journaled rather than lost).
    ///
    /// # Errors
    /// The storage failed ([`ChainError::Journal`](crate::ChainError::Journal)).
    fn record_submitted(&self, entry: &JournalEntry) -> Result<()>;

    /// Records that the transaction `hash` was mined in `block_number`.
    ///
    /// # Errors
    /// The storage failed.
    fn record_mined(&self, hash: B256, block_number: u64) -> Result<()>;

    /// Records that the transaction `hash` will never be mined.
    ///
    /// # Errors
    /// The storage failed.
    fn record_dropped(&self, hash: B256) -> Result<()>;

    /// Every transaction still in flight, oldest first.
    ///
    /// # Errors
    /// The storage failed.
    fn in_flight(&self) -> Result<Vec<JournalEntry>>;
}

/// A journal in memory: survives a manager being dropped and rebuilt (share it through an
/// `Arc`), not the process.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    entries: Mutex<Vec<(JournalEntry, JournalState)>>,
}

impl MemoryJournal {
    /// An empty journal.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entry ever recorded with its state, oldest first.
    #[must_use]
    pub fn entries(&self) -> Vec<(JournalEntry, JournalState)> {
        self.lock().clone()
    }

    /// Entries of one account.
    #[must_use]
    pub fn entries_of(&self, account: Address) -> Vec<(JournalEntry, JournalState)> {
        self.lock()
            .iter()
            .filter(|(e, _)| e.request.from == account)
            .cloned()
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(JournalEntry, JournalState)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, hash: B256, state: JournalState) {
        for (entry, s) in self.lock().iter_mut() {
            if entry.hash == hash {
                *s = state;
            }
        }
    }
}

impl TxJournal for MemoryJournal {
    fn record_submitted(&self, entry: &JournalEntry) -> Result<()> {
        let mut entries = self.lock();
        match entries.iter_mut().find(|(e, _)| e.hash == entry.hash) {
            Some((_, state)) => *state = JournalState::InFlight,
            None => entries.push((entry.clone(), JournalState::InFlight)),
        }
        Ok(())
    }

    fn record_mined(&self, hash: B256, block_number: u64) -> Result<()> {
        self.set(hash, JournalState::Mined { block_number });
        Ok(())
    }

    fn record_dropped(&self, hash: B256) -> Result<()> {
        self.set(hash, JournalState::Dropped);
        Ok(())
    }

    fn in_flight(&self) -> Result<Vec<JournalEntry>> {
        Ok(self
            .lock()
            .iter()
            .filter(|(_, s)| *s == JournalState::InFlight)
            .map(|(e, _)| e.clone())
            .collect())
    }
}
