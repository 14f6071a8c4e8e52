//! A node wrapper that injects the faults a daemon meets over a real network, for tests of
//! the transaction manager (and of anything built on it, in other crates).
//!
//! Faults come from an explicit script (the next submissions' faults, in order) and then from
//! a seeded PRNG (splitmix64), so a failing test replays exactly.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::transports::TransportErrorKind;
use tracing::debug;

use crate::chain::{ChainLog, LogQuery};
use crate::node::{FeeSuggestion, Node, NonceTag, Receipt, TxRequest};
use crate::{ChainError, Result};

/// One fault of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No fault: forwarded, answered.
    None,
    /// The request never reaches the node; the caller gets a transport error.
    DropRequest,
    /// The node gets the transaction; the answer is lost (transport error to the caller).
    LoseResponse,
    /// The answer arrives after this delay.
    Delay(Duration),
    /// The hash is returned but the transaction never reaches the node (a node that accepted
    /// and lost it): its nonce stays unused, a gap for every later one.
    Swallow,
}

/// Random fault rates (each a probability in `[0, 1]`, drawn per request) and standing rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Seed of the PRNG.
    pub seed: u64,
    /// Probability that a submission is dropped before the node.
    pub drop_request: f64,
    /// Probability that a submission's answer is lost.
    pub lose_response: f64,
    /// Probability that a submission's answer is delayed by [`FaultConfig::delay`].
    pub delay_rate: f64,
    /// Delay of delayed answers (submissions and receipts).
    pub delay: Duration,
    /// Probability that a submission is swallowed (hash returned, never forwarded).
    pub swallow: f64,
    /// Probability that a read (estimate, nonce, fees, receipt) fails with a transport error.
    pub read_error: f64,
    /// Queries answered `None` for each mined transaction before its receipt shows.
    pub slow_receipts: u32,
    /// Swallow every submission whose tip is at or below this (wei per gas): a node whose
    /// pool only takes transactions that pay enough, which only fee bumping gets past.
    pub min_priority_fee: Option<u128>,
}

/// How many faults of each kind were injected, and how many submissions went through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Submissions forwarded to the node.
    pub forwarded: u64,
    /// Submissions dropped before the node.
    pub dropped: u64,
    /// Submissions whose answer was lost.
    pub lost: u64,
    /// Answers delayed.
    pub delayed: u64,
    /// Submissions swallowed (by script, at random or for too small a tip).
    pub swallowed: u64,
    /// Submissions swallowed for paying too small a tip.
    pub underpriced: u64,
    /// Reads failed.
    pub read_errors: u64,
    /// Receipt queries answered `None` although the receipt existed.
    pub receipts_hidden: u64,
}

#[derive(Debug)]
struct State {
    rng: u64,
    script: VecDeque<Fault>,
    counts: FaultCounts,
    /// Receipt queries already hidden per hash.
    hidden: HashMap<B256, u32>,
}

/// A [`Node`] that forwards to `N` and injects faults (see the module docs).
#[derive(Debug)]
pub struct FaultyNode<N> {
    inner: N,
    config: FaultConfig,
    state: Mutex<State>,
}

fn transport(action: &str, what: &str) -> ChainError {
    ChainError::Rpc {
        action: action.to_owned(),
        source: TransportErrorKind::custom_str(&format!("injected fault: {what}")),
    }
}

impl<N: Node> FaultyNode<N> {
    /// Wraps `inner` with random faults by `config`.
    #[must_use]
    pub fn new(inner: N, config: FaultConfig) -> Self {
        let rng = config.seed;
        Self {
            inner,
            config,
            state: Mutex::new(State {
                rng,
                script: VecDeque::new(),
                counts: FaultCounts::default(),
                hidden: HashMap::new(),
            }),
        }
    }

    /// Wraps `inner` with no random faults, only the script.
    #[must_use]
    pub fn scripted(inner: N, script: impl IntoIterator<Item = Fault>) -> Self {
        let node = Self::new(inner, FaultConfig::default());
        node.push_script(script);
        node
    }

    /// Appends faults for the next submissions (before any random ones).
    pub fn push_script(&self, script: impl IntoIterator<Item = Fault>) {
        self.lock().script.extend(script);
    }

    /// The wrapped node.
    #[must_use]
    pub fn inner(&self) -> &N {
        &self.inner
    }

    /// Faults injected so far.
    #[must_use]
    pub fn counts(&self) -> FaultCounts {
        self.lock().counts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn draw(state: &mut State) -> f64 {
        // splitmix64
        state.rng = state.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        #[allow(clippy::cast_precision_loss)]
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
        unit
    }

    fn next_fault(&self, request: &TxRequest) -> Fault {
        let mut s = self.lock();
        if let Some(f) = s.script.pop_front() {
            return f;
        }
        if self
            .config
            .min_priority_fee
            .is_some_and(|min| request.max_priority_fee_per_gas <= min)
        {
            s.counts.underpriced += 1;
            return Fault::Swallow;
        }
        let c = &self.config;
        let x = Self::draw(&mut s);
        let mut edge = c.drop_request;
        if x < edge {
            return Fault::DropRequest;
        }
        edge += c.lose_response;
        if x < edge {
            return Fault::LoseResponse;
        }
        edge += c.delay_rate;
        if x < edge {
            return Fault::Delay(c.delay);
        }
        edge += c.swallow;
        if x < edge {
            return Fault::Swallow;
        }
        Fault::None
    }

    /// A transport error for a read, at the configured rate.
    fn read_fault(&self, action: &str) -> Result<()> {
        if self.config.read_error <= 0.0 {
            return Ok(());
        }
        let mut s = self.lock();
        if Self::draw(&mut s) < self.config.read_error {
            s.counts.read_errors += 1;
            return Err(transport(action, "read failed"));
        }
        Ok(())
    }
}

impl<N: Node> Node for FaultyNode<N> {
    fn accounts(&self) -> &[Address] {
        self.inner.accounts()
    }

    fn name(&self) -> String {
        format!("faulty {}", self.inner.name())
    }

    async fn chain_id(&self) -> Result<u64> {
        self.inner.chain_id().await
    }

    async fn block_number(&self) -> Result<u64> {
        self.inner.block_number().await
    }

    async fn timestamp(&self) -> Result<u64> {
        self.inner.timestamp().await
    }

    async fn advance_time(&self, secs: u64) -> Result<()> {
        self.inner.advance_time(secs).await
    }

    async fn balance(&self, account: Address) -> Result<U256> {
        self.inner.balance(account).await
    }

    async fn call(&self, action: &str, to: Address, data: Bytes) -> Result<Bytes> {
        self.inner.call(action, to, data).await
    }

    async fn logs(&self, query: LogQuery) -> Result<Vec<ChainLog>> {
        self.inner.logs(query).await
    }

    async fn estimate_gas(&self, request: &TxRequest) -> Result<u64> {
        self.read_fault("eth_estimateGas")?;
        self.inner.estimate_gas(request).await
    }

    async fn nonce(&self, account: Address, tag: NonceTag) -> Result<u64> {
        self.read_fault("eth_getTransactionCount")?;
        self.inner.nonce(account, tag).await
    }

    async fn fees(&self) -> Result<FeeSuggestion> {
        self.read_fault("fees")?;
        self.inner.fees().await
    }

    async fn tx_hash(&self, request: &TxRequest) -> Result<B256> {
        self.inner.tx_hash(request).await
    }

    async fn submit(&self, request: &TxRequest) -> Result<B256> {
        const ACTION: &str = "eth_sendRawTransaction";
        let fault = self.next_fault(request);
        debug!(?fault, nonce = request.nonce, "submission");
        match fault {
            Fault::DropRequest => {
                self.lock().counts.dropped += 1;
                Err(transport(ACTION, "request dropped"))
            }
            Fault::LoseResponse => {
                self.lock().counts.forwarded += 1;
                let result = self.inner.submit(request).await;
                self.lock().counts.lost += 1;
                drop(result);
                Err(transport(ACTION, "response lost"))
            }
            Fault::Swallow => {
                self.lock().counts.swallowed += 1;
                self.inner.tx_hash(request).await
            }
            Fault::Delay(by) => {
                self.lock().counts.forwarded += 1;
                let result = self.inner.submit(request).await;
                self.lock().counts.delayed += 1;
                tokio::time::sleep(by).await;
                result
            }
            Fault::None => {
                self.lock().counts.forwarded += 1;
                self.inner.submit(request).await
            }
        }
    }

    async fn receipt(&self, hash: B256) -> Result<Option<Receipt>> {
        self.read_fault("eth_getTransactionReceipt")?;
        let receipt = self.inner.receipt(hash).await?;
        if receipt.is_some() && self.config.slow_receipts > 0 {
            let mut s = self.lock();
            let hidden = s.hidden.entry(hash).or_default();
            if *hidden < self.config.slow_receipts {
                *hidden += 1;
                s.counts.receipts_hidden += 1;
                return Ok(None);
            }
        }
        Ok(receipt)
    }

    async fn replay(&self, request: &TxRequest, block: u64) -> Result<Option<Bytes>> {
        self.inner.replay(request, block).await
    }
}
