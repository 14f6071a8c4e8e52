//! The transaction manager: one implementation of [`Chain`] over any [`Node`], as
//! op-challenger's `txmgr` is for its daemons.
//!
//! [`Chain::send`] estimates gas (a revert there is returned and nothing is sent), takes the
//! account's next nonce, journals and submits the transaction, and polls for its receipt. A
//! transaction not mined within [`TxPolicy::receipt_timeout`] is resubmitted with the same
//! nonce and fees raised by [`TxPolicy::fee_bump_bps`] (capped by
//! [`TxPolicy::max_fee_per_gas`]), up to [`TxPolicy::max_fee_bumps`] times; transient node
//! errors are retried with exponential backoff, [`TxPolicy::max_attempts`] times per request.
//! Once mined, the manager waits for [`TxPolicy::confirmations`] blocks; a transaction mined
//! with status 0 is [`ChainError::Reverted`] with the reason recovered by replaying it.
//!
//! Nonces are tracked per account, handed out under a per-account lock held until the node
//! has the transaction (so two sends never take one nonce, and a send that fails before the
//! node has it gives its nonce back), and resynchronised from the node's pending nonce after
//! `nonce too low` or a failed submission. A transaction that waits behind a nonce no live
//! send owns (a gap) fills the gap with a zero-value self-transfer.
//!
//! An intent (sender, recipient, data, value) is never twice in flight: a send whose intent is
//! already in flight, including one a previous process journaled, waits for that transaction
//! and returns its outcome. Each send runs as its own task, so dropping the caller's future
//! does not abandon a transaction half-way.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U256};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, instrument, warn};

use crate::chain::{Chain, ChainLog, LogQuery, TxReceipt};
use crate::journal::{JournalEntry, TxJournal};
use crate::node::{Node, NonceTag, Receipt, TxRequest};
use crate::{ChainError, Result, TxRejection};

/// Gas of a plain transfer, what a gap filler uses.
const TRANSFER_GAS: u64 = 21_000;
/// Windows of [`TxPolicy::receipt_timeout`] a transaction's nonce may be used on chain with
/// none of its hashes showing a receipt before the manager concludes another transaction took
/// the nonce (a receipt can lag behind the nonce it consumed).
const NONCE_TAKEN_WINDOWS: u32 = 2;

/// How the manager sends: confirmations, timeouts, fee bumping and retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxPolicy {
    /// Blocks a transaction must have (its own included) before `send` returns; at least 1.
    /// On the in-process chain, blocks come only from transactions and
    /// [`Chain::advance_time`]: keep 1 there.
    pub confirmations: u64,
    /// How long a submitted transaction may stay unmined before it is resubmitted with
    /// higher fees.
    pub receipt_timeout: Duration,
    /// Pause between two receipt queries.
    pub poll_interval: Duration,
    /// How long one request to the node may take before it counts as a transient failure.
    pub request_timeout: Duration,
    /// How much each resubmission raises both fees, in basis points; at least 1250 (12.5%,
    /// the most a base fee rises per block, and above the 10% nodes require of a replacement).
    pub fee_bump_bps: u32,
    /// The highest fee cap per gas (wei) the manager ever offers.
    pub max_fee_per_gas: u128,
    /// The lowest tip per gas (wei) the manager offers, whatever the node suggests.
    pub min_priority_fee_per_gas: u128,
    /// Resubmissions with higher fees before a send gives up with
    /// [`ChainError::NotMined`].
    pub max_fee_bumps: u32,
    /// Tries of one request to the node on transient errors; at least 1.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled at each retry.
    pub backoff_initial: Duration,
    /// Longest wait between two retries.
    pub backoff_max: Duration,
    /// How long to wait for [`TxPolicy::confirmations`] blocks once mined.
    pub confirmation_timeout: Duration,
}

impl Default for TxPolicy {
    fn default() -> Self {
        Self {
            confirmations: 1,
            receipt_timeout: Duration::from_secs(24),
            poll_interval: Duration::from_millis(250),
            request_timeout: Duration::from_secs(10),
            fee_bump_bps: 1_250,
            max_fee_per_gas: 500_000_000_000,
            min_priority_fee_per_gas: 0,
            max_fee_bumps: 10,
            max_attempts: 5,
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            confirmation_timeout: Duration::from_secs(600),
        }
    }
}

impl TxPolicy {
    /// Checks every field; the error names the first bad one.
    ///
    /// # Errors
    /// [`ChainError::InvalidPolicy`] naming the field, its value and what it must be.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, value: String, expected: &'static str| {
            Err(ChainError::InvalidPolicy {
                field,
                value,
                expected,
            })
        };
        if self.confirmations == 0 {
            return bad("confirmations", "0".into(), "at least 1");
        }
        if self.receipt_timeout.is_zero() {
            return bad("receipt_timeout", "0s".into(), "more than zero");
        }
        if self.poll_interval.is_zero() || self.poll_interval > self.receipt_timeout {
            return bad(
                "poll_interval",
                format!("{:?}", self.poll_interval),
                "more than zero and at most receipt_timeout",
            );
        }
        if self.request_timeout.is_zero() {
            return bad("request_timeout", "0s".into(), "more than zero");
        }
        if !(1_250..=100_000).contains(&self.fee_bump_bps) {
            return bad(
                "fee_bump_bps",
                self.fee_bump_bps.to_string(),
                "between 1250 (12.5%) and 100000 (1000%)",
            );
        }
        if self.max_fee_per_gas == 0 {
            return bad("max_fee_per_gas", "0".into(), "more than zero");
        }
        if self.min_priority_fee_per_gas > self.max_fee_per_gas {
            return bad(
                "min_priority_fee_per_gas",
                self.min_priority_fee_per_gas.to_string(),
                "at most max_fee_per_gas",
            );
        }
        if self.max_attempts == 0 {
            return bad("max_attempts", "0".into(), "at least 1");
        }
        if self.backoff_initial.is_zero() {
            return bad("backoff_initial", "0s".into(), "more than zero");
        }
        if self.backoff_max < self.backoff_initial {
            return bad(
                "backoff_max",
                format!("{:?}", self.backoff_max),
                "at least backoff_initial",
            );
        }
        if self.confirmation_timeout.is_zero() {
            return bad("confirmation_timeout", "0s".into(), "more than zero");
        }
        Ok(())
    }

    /// Wait before retry number `attempt` (1 = the first retry).
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.backoff_initial
            .saturating_mul(factor)
            .min(self.backoff_max)
    }

    /// `value` raised by the bump, by at least 1 wei.
    fn bumped(&self, value: u128) -> u128 {
        let rise = value
            .saturating_mul(u128::from(self.fee_bump_bps))
            .div_ceil(10_000)
            .max(1);
        value.saturating_add(rise)
    }
}

/// Counters of what the manager did, for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxStats {
    /// Requests to submit a transaction (first submissions, retries, rebroadcasts, bumps).
    pub submissions: u64,
    /// Requests retried after a transient error.
    pub retries: u64,
    /// Resubmissions with higher fees.
    pub fee_bumps: u64,
    /// Times a transaction was found waiting behind a lower unmined nonce.
    pub gaps_detected: u64,
    /// Gap fillers submitted (zero-value self-transfers for nonces no send owned).
    pub gap_fills: u64,
    /// Nonce counters resynchronised from the node after `nonce too low`.
    pub nonce_resyncs: u64,
    /// Sends that waited for an identical transaction in flight instead of sending.
    pub deduplicated: u64,
    /// Journaled in-flight transactions of a previous process taken over.
    pub recovered: u64,
}

#[derive(Debug, Default)]
struct Counters {
    submissions: AtomicU64,
    retries: AtomicU64,
    fee_bumps: AtomicU64,
    gaps_detected: AtomicU64,
    gap_fills: AtomicU64,
    nonce_resyncs: AtomicU64,
    deduplicated: AtomicU64,
    recovered: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// What a transaction does, whatever its nonce and fees.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Intent {
    from: Address,
    to: Option<Address>,
    data: Bytes,
    value: U256,
}

impl Intent {
    fn of(request: &TxRequest) -> Self {
        Self {
            from: request.from,
            to: request.to,
            data: request.data.clone(),
            value: request.value,
        }
    }
}

/// Outcome of a send, shared with the sends that waited for it.
type Shared = std::result::Result<TxReceipt, Arc<ChainError>>;

/// Per-account nonce state.
#[derive(Debug, Default)]
struct Account {
    /// The next nonce to hand out (`None`: ask the node). Held while submitting.
    cursor: tokio::sync::Mutex<Option<u64>>,
    /// Nonces whose transaction a live send is driving.
    owned: Mutex<BTreeSet<u64>>,
    /// Gap fillers submitted, by nonce (re-submitted with higher fees if still stuck).
    fillers: Mutex<HashMap<u64, TxRequest>>,
    /// Set once the journal's in-flight transactions of the account are taken over.
    recovered: tokio::sync::OnceCell<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What watching a submitted transaction ended in.
enum Watched {
    Mined(Box<(Receipt, TxRequest)>),
    /// Another transaction used the nonce; this one will never be mined.
    NonceTaken,
}

struct Inner<N> {
    node: N,
    policy: TxPolicy,
    journal: Arc<dyn TxJournal>,
    accounts: Mutex<HashMap<Address, Arc<Account>>>,
    in_flight: Mutex<HashMap<Intent, watch::Receiver<Option<Shared>>>>,
    counters: Counters,
}

/// A [`Chain`] over a [`Node`]: nonces, fee bumping, retries, confirmations, deduplication
/// and a journal for restarts (see the module docs).
pub struct TxManager<N: Node> {
    inner: Arc<Inner<N>>,
}

impl<N: Node> std::fmt::Debug for TxManager<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxManager")
            .field("node", &self.inner.node.name())
            .field("policy", &self.inner.policy)
            .field("journal", &self.inner.journal)
            .finish_non_exhaustive()
    }
}

impl<N: Node> TxManager<N> {
    /// A manager over `node` sending by `policy` and journaling to `journal`.
    ///
    /// # Errors
    /// [`ChainError::InvalidPolicy`] if the policy does not validate.
    pub fn with_journal(node: N, policy: TxPolicy, journal: Arc<dyn TxJournal>) -> Result<Self> {
        policy.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                node,
                policy,
                journal,
                accounts: Mutex::new(HashMap::new()),
                in_flight: Mutex::new(HashMap::new()),
                counters: Counters::default(),
            }),
        })
    }

    /// The node underneath.
    #[must_use]
    pub fn node(&self) -> &N {
        &self.inner.node
    }

    /// The policy in force.
    #[must_use]
    pub fn policy(&self) -> &TxPolicy {
        &self.inner.policy
    }

    /// What the manager has done so far.
    #[must_use]
    pub fn stats(&self) -> TxStats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TxStats {
            submissions: get(&c.submissions),
            retries: get(&c.retries),
            fee_bumps: get(&c.fee_bumps),
            gaps_detected: get(&c.gaps_detected),
            gap_fills: get(&c.gap_fills),
            nonce_resyncs: get(&c.nonce_resyncs),
            deduplicated: get(&c.deduplicated),
            recovered: get(&c.recovered),
        }
    }

    /// Takes over the journal's in-flight transactions of every account now (otherwise each
    /// account's are taken over at its first send): mined ones are recorded, the others
    /// rebroadcast and driven to completion in the background.
    ///
    /// # Errors
    /// The journal or the node failed.
    pub async fn recover(&self) -> Result<()> {
        for account in self.inner.node.accounts().to_vec() {
            Inner::recover(&self.inner, account).await?;
        }
        Ok(())
    }
}

impl<N: Node> Inner<N> {
    fn account(&self, address: Address) -> Arc<Account> {
        Arc::clone(lock(&self.accounts).entry(address).or_default())
    }

    /// Runs `request` against the node with the policy's per-request timeout, retrying
    /// transient failures with backoff.
    async fn retry<T, F, Fut>(&self, action: &str, mut request: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.timed(action, request()).await {
                Err(e) if e.is_transient() && attempt < self.policy.max_attempts => {
                    bump(&self.counters.retries);
                    debug!(action, attempt, error = %e, "retrying");
                    tokio::time::sleep(self.policy.backoff(attempt)).await;
                }
                other => return other,
            }
        }
    }

    async fn timed<T>(&self, action: &str, fut: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::time::timeout(self.policy.request_timeout, fut)
            .await
            .unwrap_or_else(|_| {
                Err(ChainError::Timeout {
                    action: action.to_owned(),
                    after: self.policy.request_timeout,
                })
            })
    }

    /// Submits `request` (whose hash is `hash`), retrying transient failures. `maybe_known`:
    /// the node may already have had it (a rebroadcast or replacement), so `nonce too low`
    /// means it may have been mined, which the receipt watch settles.
    async fn submit(&self, request: &TxRequest, hash: B256, maybe_known: bool) -> Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            bump(&self.counters.submissions);
            let result = self
                .timed("eth_sendRawTransaction", self.node.submit(request))
                .await;
            // After a failed try the node may have the transaction all the same.
            let known = maybe_known || attempt > 1;
            match result {
                Ok(h) => {
                    if h != hash {
                        warn!(expected = %hash, returned = %h, "node returned another hash");
                    }
                    return Ok(());
                }
                Err(ChainError::TxRejected {
                    kind: TxRejection::AlreadyKnown,
                    ..
                }) => return Ok(()),
                Err(ChainError::TxRejected {
                    kind: TxRejection::NonceTooLow,
                    ..
                }) if known => return Ok(()),
                Err(e) if e.is_transient() && attempt < self.policy.max_attempts => {
                    bump(&self.counters.retries);
                    debug!(%hash, attempt, error = %e, "submission failed; retrying");
                    tokio::time::sleep(self.policy.backoff(attempt)).await;
                }
                Err(e) if e.is_transient() => {
                    // Out of tries, and any try may have reached the node (a lost answer
                    // looks like a dropped request): the outcome is unknown, not a failure.
                    // The receipt watch settles it: mined, or rebroadcast and outbid until it
                    // is, or the nonce found used by another transaction.
                    warn!(%hash, attempt, error = %e, "submission outcome unknown; watching for it");
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Initial fees: the node's suggestion, the policy's minimum tip, capped.
    async fn fees(&self, from: Address, nonce: u64) -> Result<(u128, u128)> {
        let s = self.retry("fees", || self.node.fees()).await?;
        let tip = s.priority_fee.max(self.policy.min_priority_fee_per_gas);
        let cap = s
            .base_fee
            .saturating_mul(2)
            .saturating_add(tip)
            .min(self.policy.max_fee_per_gas);
        if cap < s.base_fee {
            return Err(ChainError::TxRejected {
                action: "fees".into(),
                account: from,
                nonce,
                kind: TxRejection::FeeCapTooLow,
                message: format!(
                    "the base fee {} is above TxPolicy::max_fee_per_gas {}",
                    s.base_fee, self.policy.max_fee_per_gas
                ),
            });
        }
        Ok((cap, tip.min(cap)))
    }

    /// `request` with both fees raised by the bump (and at least the node's current
    /// suggestion), capped; `None` when the fee cap is already at the policy's maximum.
    async fn bumped(&self, request: &TxRequest) -> Result<Option<TxRequest>> {
        let s = self.retry("fees", || self.node.fees()).await?;
        let tip = self
            .policy
            .bumped(request.max_priority_fee_per_gas)
            .max(s.priority_fee);
        let cap = self
            .policy
            .bumped(request.max_fee_per_gas)
            .max(s.base_fee.saturating_mul(2).saturating_add(tip))
            .min(self.policy.max_fee_per_gas);
        if cap <= request.max_fee_per_gas {
            return Ok(None);
        }
        Ok(Some(TxRequest {
            max_fee_per_gas: cap,
            max_priority_fee_per_gas: tip.min(cap),
            ..request.clone()
        }))
    }

    fn journal<T>(&self, r: Result<T>) -> Result<T> {
        r.inspect_err(|e| warn!(error = %e, "transaction journal failed"))
    }

    /// Takes a nonce, journals and submits. The cursor stays locked until the node has the
    /// transaction, so the next send sees its nonce taken.
    async fn assign_and_submit(
        &self,
        action: &str,
        account: &Account,
        template: TxRequest,
    ) -> Result<(TxRequest, B256)> {
        let from = template.from;
        let mut cursor = account.cursor.lock().await;
        let mut resyncs = 0;
        loop {
            let nonce = match *cursor {
                Some(n) => n,
                None => self.resync(account, from).await?,
            };
            let (max_fee, tip) = self.fees(from, nonce).await?;
            let request = TxRequest {
                nonce,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: tip,
                ..template.clone()
            };
            let hash = self
                .retry("tx_hash", || self.node.tx_hash(&request))
                .await?;
            self.journal(self.journal.record_submitted(&JournalEntry {
                action: action.to_owned(),
                request: request.clone(),
                hash,
            }))?;
            lock(&account.owned).insert(nonce);
            match self.submit(&request, hash, false).await {
                Ok(()) => {
                    *cursor = Some(nonce + 1);
                    debug!(%from, nonce, %hash, "submitted");
                    return Ok((request, hash));
                }
                Err(e) => {
                    lock(&account.owned).remove(&nonce);
                    self.journal(self.journal.record_dropped(hash))?;
                    let too_low = matches!(
                        e,
                        ChainError::TxRejected {
                            kind: TxRejection::NonceTooLow,
                            ..
                        }
                    );
                    if too_low && resyncs < self.policy.max_attempts {
                        // Another process (or a previous run) used the account.
                        resyncs += 1;
                        bump(&self.counters.nonce_resyncs);
                        info!(%from, nonce, "nonce too low; resynchronising from the node");
                        *cursor = Some(self.resync(account, from).await?);
                        continue;
                    }
                    // Nothing later took a nonce (the cursor is locked): ask the node next time.
                    *cursor = None;
                    return Err(e);
                }
            }
        }
    }

    /// The next free nonce: the node's pending nonce, past any nonce a live send owns.
    async fn resync(&self, account: &Account, from: Address) -> Result<u64> {
        let pending = self
            .retry("eth_getTransactionCount", || {
                self.node.nonce(from, NonceTag::Pending)
            })
            .await?;
        let owned_next = lock(&account.owned).last().map_or(0, |n| n + 1);
        Ok(pending.max(owned_next))
    }

    /// The first receipt of any of `hashes` (newest first) within `window`.
    async fn poll_receipts(
        &self,
        hashes: &[(B256, TxRequest)],
        window: Duration,
    ) -> Result<Option<(Receipt, TxRequest)>> {
        let deadline = Instant::now() + window;
        loop {
            for (hash, request) in hashes.iter().rev() {
                match self
                    .timed("eth_getTransactionReceipt", self.node.receipt(*hash))
                    .await
                {
                    Ok(Some(r)) => return Ok(Some((r, request.clone()))),
                    Ok(None) => {}
                    Err(e) if e.is_transient() => debug!(%hash, error = %e, "receipt query failed"),
                    Err(e) => return Err(e),
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(self.policy.poll_interval.min(deadline - now)).await;
        }
    }

    /// Follows the transaction of `request`/`hash` until one of its versions is mined, its
    /// nonce is taken by another transaction, or fee bumping gives up.
    async fn watch(
        &self,
        action: &str,
        account: &Account,
        request: TxRequest,
        hash: B256,
    ) -> Result<Watched> {
        let nonce = request.nonce;
        let watched = self.watch_owned(action, account, request, hash).await;
        if watched.is_err() {
            // Nobody drives the nonce any more: a later send behind it fills the gap if the
            // node never had this transaction (the journal keeps it in flight for a restart).
            lock(&account.owned).remove(&nonce);
        }
        watched
    }

    async fn watch_owned(
        &self,
        action: &str,
        account: &Account,
        request: TxRequest,
        hash: B256,
    ) -> Result<Watched> {
        let (from, nonce) = (request.from, request.nonce);
        let mut versions = vec![(hash, request)];
        let mut submissions = 1u32;
        let mut consumed_windows = 0;
        let outcome = loop {
            if let Some((receipt, mined)) = self
                .poll_receipts(&versions, self.policy.receipt_timeout)
                .await?
            {
                break Watched::Mined(Box::new((receipt, mined)));
            }
            let latest = self
                .retry("eth_getTransactionCount", || {
                    self.node.nonce(from, NonceTag::Latest)
                })
                .await?;
            let (current_hash, current) = versions.last().cloned().expect("one version at least");
            if latest > nonce {
                consumed_windows += 1;
                if consumed_windows >= NONCE_TAKEN_WINDOWS {
                    break Watched::NonceTaken;
                }
                continue;
            }
            consumed_windows = 0;
            if latest < nonce {
                // Waiting behind a lower nonce: fill what no send owns, and make sure the node
                // still holds ours (bumping would not help).
                bump(&self.counters.gaps_detected);
                info!(%from, nonce, latest, "nonce gap below the transaction");
                self.fill_gaps(account, from, latest, nonce, &current)
                    .await?;
                if let Err(e) = self.submit(&current, current_hash, true).await {
                    warn!(%from, nonce, error = %e, "rebroadcast failed");
                }
                continue;
            }
            // Ours is next and not mined: outbid.
            if submissions > self.policy.max_fee_bumps {
                lock(&account.owned).remove(&nonce);
                return Err(ChainError::NotMined {
                    action: action.to_owned(),
                    account: from,
                    nonce,
                    submissions,
                    last_hash: current_hash,
                    max_fee_per_gas: u64::try_from(current.max_fee_per_gas).unwrap_or(u64::MAX),
                });
            }
            submissions += 1;
            let Some(next) = self.bumped(&current).await? else {
                debug!(%from, nonce, "fee cap reached; rebroadcasting");
                if let Err(e) = self.submit(&current, current_hash, true).await {
                    warn!(%from, nonce, error = %e, "rebroadcast failed");
                }
                continue;
            };
            let next_hash = self.retry("tx_hash", || self.node.tx_hash(&next)).await?;
            self.journal(self.journal.record_submitted(&JournalEntry {
                action: action.to_owned(),
                request: next.clone(),
                hash: next_hash,
            }))?;
            bump(&self.counters.fee_bumps);
            info!(
                %from, nonce, max_fee = next.max_fee_per_gas, tip = next.max_priority_fee_per_gas,
                "not mined in time; resubmitting with higher fees"
            );
            versions.push((next_hash, next.clone()));
            if let Err(e) = self.submit(&next, next_hash, true).await {
                warn!(%from, nonce, error = %e, "fee-bumped resubmission failed");
            }
        };
        lock(&account.owned).remove(&nonce);
        match &outcome {
            Watched::Mined(mined) => {
                let receipt = &mined.0;
                self.journal(
                    self.journal
                        .record_mined(receipt.hash, receipt.block_number),
                )?;
                for (h, _) in versions.iter().filter(|(h, _)| *h != receipt.hash) {
                    self.journal(self.journal.record_dropped(*h))?;
                }
            }
            Watched::NonceTaken => {
                warn!(%from, nonce, "nonce used by another transaction; this one is dropped");
                for (h, _) in &versions {
                    self.journal(self.journal.record_dropped(*h))?;
                }
            }
        }
        Ok(outcome)
    }

    /// Submits a zero-value self-transfer for each nonce in `from..to` that no live send
    /// owns, outbidding an earlier filler of the same nonce.
    async fn fill_gaps(
        &self,
        account: &Account,
        address: Address,
        from: u64,
        to: u64,
        fees: &TxRequest,
    ) -> Result<()> {
        for nonce in from..to {
            if lock(&account.owned).contains(&nonce) {
                continue;
            }
            let previous = lock(&account.fillers).get(&nonce).cloned();
            let filler = match previous {
                Some(p) => self.bumped(&p).await?.unwrap_or(p),
                None => TxRequest {
                    from: address,
                    to: Some(address),
                    data: Bytes::new(),
                    value: U256::ZERO,
                    nonce,
                    gas_limit: TRANSFER_GAS,
                    max_fee_per_gas: fees.max_fee_per_gas,
                    max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
                },
            };
            let hash = self.retry("tx_hash", || self.node.tx_hash(&filler)).await?;
            bump(&self.counters.gap_fills);
            warn!(account = %address, nonce, %hash, "filling a nonce gap no send owns");
            lock(&account.fillers).insert(nonce, filler.clone());
            if let Err(e) = self.submit(&filler, hash, true).await {
                warn!(account = %address, nonce, error = %e, "gap filler failed");
            }
        }
        Ok(())
    }

    /// Waits for confirmations and turns a mined receipt into the caller's answer.
    async fn finish(
        &self,
        action: &str,
        receipt: Receipt,
        request: TxRequest,
    ) -> Result<TxReceipt> {
        let wanted = receipt.block_number + self.policy.confirmations - 1;
        let deadline = Instant::now() + self.policy.confirmation_timeout;
        loop {
            let latest = self
                .retry("eth_blockNumber", || self.node.block_number())
                .await?;
            if latest >= wanted {
                break;
            }
            if Instant::now() >= deadline {
                return Err(ChainError::Timeout {
                    action: format!(
                        "{action}: waiting for {} confirmations of block {}",
                        self.policy.confirmations, receipt.block_number
                    ),
                    after: self.policy.confirmation_timeout,
                });
            }
            tokio::time::sleep(self.policy.poll_interval).await;
        }
        if !receipt.status {
            // Gas estimation passed but the transaction reverted in its block (the state moved
            // in between): replay it there for the revert data, so callers can tell which rule
            // refused it.
            let replayed = self
                .retry("replay", || {
                    self.node.replay(&request, receipt.block_number)
                })
                .await
                .ok()
                .flatten();
            return Err(match replayed {
                Some(data) => ChainError::Reverted {
                    action: action.to_owned(),
                    reason: format!(
                        "{} (reverted on chain after gas estimation passed)",
                        crate::decode_revert(&data)
                    ),
                    data,
                },
                None => ChainError::Reverted {
                    action: action.to_owned(),
                    reason: "reverted on chain after gas estimation passed".into(),
                    data: Bytes::new(),
                },
            });
        }
        Ok(TxReceipt {
            gas_used: receipt.gas_used,
            logs: receipt.logs,
            created: receipt.created,
            effective_gas_price: receipt.effective_gas_price,
        })
    }

    /// A new send, from estimation to the final receipt.
    #[instrument(skip_all, fields(action = %action, from = %intent.from))]
    async fn drive_new(&self, action: &str, intent: &Intent) -> Result<TxReceipt> {
        let template = TxRequest {
            from: intent.from,
            to: intent.to,
            data: intent.data.clone(),
            value: intent.value,
            nonce: 0,
            gas_limit: 0,
            max_fee_per_gas: 0,
            max_priority_fee_per_gas: 0,
        };
        let gas_limit = self
            .retry("eth_estimateGas", || self.node.estimate_gas(&template))
            .await
            .map_err(|e| e.for_action(action))?;
        let template = TxRequest {
            gas_limit,
            ..template
        };
        let account = self.account(intent.from);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (request, hash) = self
                .assign_and_submit(action, &account, template.clone())
                .await?;
            match self.watch(action, &account, request, hash).await? {
                Watched::Mined(mined) => {
                    let (receipt, request) = *mined;
                    return self.finish(action, receipt, request).await;
                }
                Watched::NonceTaken if attempt < self.policy.max_attempts => {
                    // Not executed: send it again with a fresh nonce.
                    *account.cursor.lock().await = None;
                }
                Watched::NonceTaken => {
                    return Err(ChainError::Node {
                        action: "send",
                        message: format!(
                            "{action}: every nonce taken was used by another transaction ({attempt} tries); is another process sending from {}?",
                            intent.from
                        ),
                    });
                }
            }
        }
    }

    /// A transaction a previous process journaled (all versions of one nonce, newest last):
    /// rebroadcast the newest and follow it; if another transaction took its nonce, send the
    /// intent anew.
    async fn drive_recovered(
        &self,
        account: &Account,
        versions: Vec<JournalEntry>,
    ) -> Result<TxReceipt> {
        let newest = versions.last().cloned().expect("one version at least");
        let action = newest.action.clone();
        if let Err(e) = self.submit(&newest.request, newest.hash, true).await {
            warn!(hash = %newest.hash, error = %e, "rebroadcast of a journaled transaction failed");
        }
        // Older versions may be the mined one: watch them all.
        for v in &versions[..versions.len() - 1] {
            if let Some(r) = self.node.receipt(v.hash).await.ok().flatten() {
                lock(&account.owned).remove(&v.request.nonce);
                self.journal(self.journal.record_mined(v.hash, r.block_number))?;
                return self.finish(&action, r, v.request.clone()).await;
            }
        }
        match self
            .watch(&action, account, newest.request.clone(), newest.hash)
            .await?
        {
            Watched::Mined(mined) => {
                let (receipt, request) = *mined;
                self.finish(&action, receipt, request).await
            }
            Watched::NonceTaken => self.drive_new(&action, &Intent::of(&newest.request)).await,
        }
    }

    /// Takes over the journal's in-flight transactions of `address` (once).
    async fn recover(this: &Arc<Self>, address: Address) -> Result<()> {
        let account = this.account(address);
        account
            .recovered
            .get_or_try_init(|| async {
                let mut by_nonce: BTreeMap<u64, Vec<JournalEntry>> = BTreeMap::new();
                for e in this.journal(this.journal.in_flight())? {
                    if e.request.from == address {
                        by_nonce.entry(e.request.nonce).or_default().push(e);
                    }
                }
                for (nonce, versions) in by_nonce {
                    let mut mined = None;
                    for v in &versions {
                        if let Some(r) = this
                            .retry("eth_getTransactionReceipt", || this.node.receipt(v.hash))
                            .await?
                        {
                            mined = Some(r);
                            break;
                        }
                    }
                    if let Some(r) = mined {
                        this.journal(this.journal.record_mined(r.hash, r.block_number))?;
                        for v in versions.iter().filter(|v| v.hash != r.hash) {
                            this.journal(this.journal.record_dropped(v.hash))?;
                        }
                        continue;
                    }
                    bump(&this.counters.recovered);
                    info!(%address, nonce, "taking over a journaled transaction in flight");
                    lock(&account.owned).insert(nonce);
                    let intent = Intent::of(&versions[0].request);
                    let (tx, rx) = watch::channel(None);
                    lock(&this.in_flight).insert(intent.clone(), rx);
                    let inner = Arc::clone(this);
                    let account = Arc::clone(&account);
                    tokio::spawn(async move {
                        let outcome = inner.drive_recovered(&account, versions).await;
                        let _shared = inner.publish(&intent, &tx, outcome);
                    });
                }
                Ok::<(), ChainError>(())
            })
            .await?;
        Ok(())
    }

    /// Publishes the outcome of the send of `intent` to those waiting for it and forgets it.
    fn publish(
        &self,
        intent: &Intent,
        tx: &watch::Sender<Option<Shared>>,
        outcome: Result<TxReceipt>,
    ) -> Shared {
        let shared: Shared = outcome.map_err(Arc::new);
        let mut in_flight = lock(&self.in_flight);
        tx.send_replace(Some(shared.clone()));
        in_flight.remove(intent);
        shared
    }
}

async fn wait_for(action: &str, mut rx: watch::Receiver<Option<Shared>>) -> Result<TxReceipt> {
    let shared = rx
        .wait_for(Option::is_some)
        .await
        .map_err(|_| ChainError::Node {
            action: "send",
            message: format!("{action}: the send it waited for ended without an outcome"),
        })?
        .clone()
        .expect("waited for Some");
    shared.map_err(|e| e.shared(action))
}

impl<N: Node> Chain for TxManager<N> {
    fn accounts(&self) -> &[Address] {
        self.inner.node.accounts()
    }

    fn name(&self) -> String {
        self.inner.node.name()
    }

    #[instrument(skip_all, fields(action = %action, %from))]
    async fn send(
        &self,
        action: &str,
        from: Address,
        to: Option<Address>,
        data: Bytes,
        value: U256,
    ) -> Result<TxReceipt> {
        if !self.accounts().contains(&from) {
            return Err(ChainError::UnknownAccount(from));
        }
        Inner::recover(&self.inner, from).await?;
        let intent = Intent {
            from,
            to,
            data,
            value,
        };
        let sender = {
            let mut in_flight = lock(&self.inner.in_flight);
            if let Some(rx) = in_flight.get(&intent) {
                Err(rx.clone())
            } else {
                let (tx, rx) = watch::channel(None);
                in_flight.insert(intent.clone(), rx);
                Ok(tx)
            }
        };
        let tx = match sender {
            Ok(tx) => tx,
            Err(rx) => {
                bump(&self.inner.counters.deduplicated);
                info!(
                    action,
                    "an identical transaction is in flight; waiting for it"
                );
                return wait_for(action, rx).await;
            }
        };
        let inner = Arc::clone(&self.inner);
        let owned_action = action.to_owned();
        let task = tokio::spawn(async move {
            let outcome = inner.drive_new(&owned_action, &intent).await;
            inner.publish(&intent, &tx, outcome)
        });
        match task.await {
            Ok(shared) => {
                shared.map_err(|e| Arc::try_unwrap(e).unwrap_or_else(|e| e.shared(action)))
            }
            Err(e) => Err(ChainError::Node {
                action: "send",
                message: format!("{action}: the send task failed: {e}"),
            }),
        }
    }

    async fn call(&self, action: &str, to: Address, data: Bytes) -> Result<Bytes> {
        self.inner
            .retry(action, || self.inner.node.call(action, to, data.clone()))
            .await
    }

    async fn timestamp(&self) -> Result<u64> {
        self.inner
            .retry("timestamp", || self.inner.node.timestamp())
            .await
    }

    async fn advance_time(&self, secs: u64) -> Result<()> {
        // Not retried: a lost answer may have advanced the clock already.
        self.inner.node.advance_time(secs).await
    }

    async fn balance(&self, account: Address) -> Result<U256> {
        self.inner
            .retry("eth_getBalance", || self.inner.node.balance(account))
            .await
    }

    async fn chain_id(&self) -> Result<u64> {
        self.inner
            .retry("eth_chainId", || self.inner.node.chain_id())
            .await
    }

    async fn block_number(&self) -> Result<u64> {
        self.inner
            .retry("eth_blockNumber", || self.inner.node.block_number())
            .await
    }

    /// Only logs with [`TxPolicy::confirmations`] blocks on top of them (the latest block
    /// counting as one): a caller never acts on a log a shallow reorg can remove. With the
    /// default of 1, every log up to the latest block.
    async fn logs(&self, query: LogQuery) -> Result<Vec<ChainLog>> {
        let mut logs = self
            .inner
            .retry("eth_getLogs", || self.inner.node.logs(query))
            .await?;
        let depth = self.inner.policy.confirmations - 1;
        if depth > 0 {
            let latest = self
                .inner
                .retry("eth_blockNumber", || self.inner.node.block_number())
                .await?;
            logs.retain(|l| l.block_number + depth <= latest);
        }
        Ok(logs)
    }
}
