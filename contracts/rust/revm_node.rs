//! The embedded node: revm in-process, no external service, with a mempool.
//!
//! Every executed transaction is its own block; the block number advances by one per
//! transaction and the timestamp only when [`Node::advance_time`] is called, so windows and
//! clocks are driven explicitly and tests never sleep.
//!
//! Transactions follow a real node's rules: a transaction whose nonce is the account's next
//! executes at once (a reverting one too: it is mined with status 0, uses its nonce and pays
//! for its gas); one with a higher nonce waits in the pool until the gap closes; a lower nonce
//! is refused (`nonce too low`); a waiting transaction is replaced only by one whose fee cap
//! and tip are both at least 10% higher; a fee cap below the base fee is refused. There are no
//! signatures: the node executes for any of its accounts, and a request's hash is the keccak
//! of its sender and its unsigned EIP-1559 signing hash, so the same request always has the
//! same hash.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use alloy::consensus::{SignableTransaction, TxEip1559};
use alloy::primitives::{Address, B256, Bytes, TxKind as AlloyTxKind, U256, address, keccak256};
use revm::context::result::{ExecutionResult, Output};
use revm::context::{BlockEnv, Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{MainBuilder, MainContext};
use revm::primitives::TxKind;
use revm::state::AccountInfo;
use revm::{DatabaseCommit, DatabaseRef, ExecuteEvm};
use tracing::{debug, warn};

use crate::chain::{ChainLog, LogQuery};
use crate::node::{FeeSuggestion, Node, NonceTag, Receipt, TxRequest};
use crate::{ChainError, Result, TxRejection};

type Db = CacheDB<EmptyDB>;

/// Gas limit of every transaction: the Osaka per-transaction cap (EIP-7825).
pub const TX_GAS_LIMIT: u64 = 1 << 24;
const CHAIN_ID: u64 = 31_337;
const GENESIS_TIME: u64 = 1_700_000_000;
/// Base fee of every block (1 gwei), and the price every transaction pays when it tips
/// nothing: gas costs real ether here, so "nobody is out of pocket" is checked against real
/// balances.
pub const BASE_FEE: u64 = 1_000_000_000;
/// The account read-only calls come from (never sends, so its nonce stays 0; funded so the
/// gas price of a call can be covered).
const CALLER: Address = address!("0x00000000000000000000000000000000000ca11e");
/// Gas a call may still need after returning, as geth's estimator adds before its first try.
const CALL_STIPEND: u64 = 2_300;

/// One transaction the node executed.
#[derive(Debug, Clone)]
pub struct ExecutedTx {
    /// Its hash.
    pub hash: B256,
    /// The request.
    pub request: TxRequest,
    /// The block it is in.
    pub block_number: u64,
    /// Whether it succeeded.
    pub status: bool,
}

/// World state, the current block and the pool. The EVM itself is not `Send` (its interpreter
/// memory is reference-counted), so one is built per transaction over the shared state: cheap
/// next to executing the transaction.
struct World {
    db: Db,
    block: BlockEnv,
    logs: Vec<ChainLog>,
    /// Waiting transactions by sender and nonce.
    pool: BTreeMap<(Address, u64), (B256, TxRequest)>,
    receipts: HashMap<B256, Receipt>,
    /// Revert data of each reverted transaction by block (one transaction per block).
    reverts: HashMap<u64, Bytes>,
    executed: Vec<ExecutedTx>,
}

impl World {
    fn nonce(&self, account: Address) -> u64 {
        self.db
            .basic_ref(account)
            .ok()
            .flatten()
            .map_or(0, |a| a.nonce)
    }

    fn tx_env(&self, request: &TxRequest, nonce: u64, action: &str) -> Result<TxEnv> {
        TxEnv::builder()
            .tx_type(Some(2))
            .caller(request.from)
            .kind(request.to.map_or(TxKind::Create, TxKind::Call))
            .data(request.data.clone())
            .value(request.value)
            .gas_limit(request.gas_limit)
            .max_fee_per_gas(request.max_fee_per_gas)
            .gas_priority_fee(Some(request.max_priority_fee_per_gas))
            .nonce(nonce)
            .chain_id(Some(CHAIN_ID))
            .build()
            .map_err(|e| ChainError::Evm {
                action: action.to_owned(),
                message: format!("{e:?}"),
            })
    }

    /// Executes `tx` over the current state; commits it (whatever its outcome) if `commit`.
    fn execute(&mut self, tx: TxEnv, commit: bool, action: &str) -> Result<ExecutionResult> {
        let mut evm = Context::mainnet()
            .with_db(&mut self.db)
            .with_block(self.block.clone())
            .modify_cfg_chained(|cfg| cfg.chain_id = CHAIN_ID)
            .build_mainnet();
        let out = evm.transact(tx).map_err(|e| ChainError::Evm {
            action: action.to_owned(),
            message: e.to_string(),
        })?;
        drop(evm);
        if commit {
            self.db.commit(out.state);
        }
        Ok(out.result)
    }

    /// Executes `request` in a block of its own and stores its receipt.
    fn mine(&mut self, hash: B256, request: TxRequest) -> Result<()> {
        let nonce = request.nonce;
        let tx = self.tx_env(&request, nonce, "eth_sendRawTransaction")?;
        let result = self.execute(tx, true, "eth_sendRawTransaction")?;
        let block_number: u64 = self.block.number.saturating_to();
        self.block.number += U256::from(1u64);
        let base_fee = u128::from(self.block.basefee);
        let effective_gas_price = request
            .max_fee_per_gas
            .min(base_fee + request.max_priority_fee_per_gas);
        let gas_used = result.tx_gas_used();
        let (status, logs, created) = match result {
            ExecutionResult::Success { logs, output, .. } => (
                true,
                logs,
                match output {
                    Output::Create(_, addr) => addr,
                    Output::Call(_) => None,
                },
            ),
            ExecutionResult::Revert { output, .. } => {
                self.reverts.insert(block_number, output);
                (false, Vec::new(), None)
            }
            ExecutionResult::Halt { reason, .. } => {
                debug!(?reason, %hash, "transaction halted");
                (false, Vec::new(), None)
            }
        };
        self.logs.extend(logs.iter().map(|log| ChainLog {
            block_number,
            log: log.clone(),
        }));
        self.receipts.insert(
            hash,
            Receipt {
                hash,
                status,
                block_number,
                gas_used,
                logs,
                created,
                effective_gas_price,
            },
        );
        self.executed.push(ExecutedTx {
            hash,
            request,
            block_number,
            status,
        });
        Ok(())
    }

    /// Mines the pool's transactions of `account` whose turn has come.
    fn drain(&mut self, account: Address) {
        loop {
            let next = self.nonce(account);
            let Some((hash, request)) = self.pool.remove(&(account, next)) else {
                return;
            };
            if let Err(e) = self.mine(hash, request) {
                // As a node drops a pooled transaction that became invalid.
                warn!(%account, nonce = next, error = %e, "pooled transaction dropped");
                return;
            }
        }
    }
}

/// An in-process EVM node with funded accounts and a mempool.
pub struct RevmNode {
    world: Mutex<World>,
    accounts: Vec<Address>,
}

impl std::fmt::Debug for RevmNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevmNode")
            .field("accounts", &self.accounts)
            .finish_non_exhaustive()
    }
}

fn rejected(request: &TxRequest, kind: TxRejection, message: String) -> ChainError {
    ChainError::TxRejected {
        action: "eth_sendRawTransaction".into(),
        account: request.from,
        nonce: request.nonce,
        kind,
        message,
    }
}

/// Whether `new` may replace the waiting `old`: both fee fields at least 10% higher.
fn outbids(new: &TxRequest, old: &TxRequest) -> bool {
    let enough = |new: u128, old: u128| new.saturating_mul(10) >= old.saturating_mul(11);
    enough(new.max_fee_per_gas, old.max_fee_per_gas)
        && enough(new.max_priority_fee_per_gas, old.max_priority_fee_per_gas)
}

impl RevmNode {
    /// A fresh node with `accounts` accounts of 10,000 ether each.
    #[must_use]
    pub fn new(accounts: usize) -> Self {
        let mut db = Db::default();
        let accounts: Vec<Address> = (0..accounts)
            .map(|i| {
                let mut raw = [0u8; 20];
                raw[0] = 0xa0;
                raw[12..].copy_from_slice(&(i as u64 + 1).to_be_bytes());
                Address::from(raw)
            })
            .collect();
        let ether = U256::from(10u64).pow(U256::from(18u64));
        for a in accounts.iter().chain([&CALLER]) {
            db.insert_account_info(*a, AccountInfo::from_balance(U256::from(10_000u64) * ether));
        }
        let block = BlockEnv {
            number: U256::from(1u64),
            timestamp: U256::from(GENESIS_TIME),
            gas_limit: 60_000_000,
            basefee: BASE_FEE,
            ..BlockEnv::default()
        };
        Self {
            world: Mutex::new(World {
                db,
                block,
                logs: Vec::new(),
                pool: BTreeMap::new(),
                receipts: HashMap::new(),
                reverts: HashMap::new(),
                executed: Vec::new(),
            }),
            accounts,
        }
    }

    /// Every transaction executed so far, in order.
    #[must_use]
    pub fn executed(&self) -> Vec<ExecutedTx> {
        self.lock().executed.clone()
    }

    /// Transactions waiting in the pool (nonce gaps ahead of them).
    #[must_use]
    pub fn pooled(&self) -> Vec<TxRequest> {
        self.lock().pool.values().map(|(_, r)| r.clone()).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        // revm commits atomically, so a panic elsewhere cannot leave the world half-written.
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn hash_of(request: &TxRequest) -> B256 {
        let unsigned = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce: request.nonce,
            gas_limit: request.gas_limit,
            max_fee_per_gas: request.max_fee_per_gas,
            max_priority_fee_per_gas: request.max_priority_fee_per_gas,
            to: request.to.map_or(AlloyTxKind::Create, AlloyTxKind::Call),
            value: request.value,
            access_list: alloy::eips::eip2930::AccessList::default(),
            input: request.data.clone(),
        };
        let mut preimage = [0u8; 52];
        preimage[..20].copy_from_slice(request.from.as_slice());
        preimage[20..].copy_from_slice(unsigned.signature_hash().as_slice());
        keccak256(preimage)
    }

    /// Gas the request needs: executed once at the cap, then, like geth's estimator, tried at
    /// `(spent + 2300) · 64/63` and searched upward if that is not enough (a call forwarding a
    /// fixed gas amount, or refunds, can need more than the gas finally used).
    fn estimate(&self, request: &TxRequest) -> Result<u64> {
        const ACTION: &str = "eth_estimateGas";
        let mut world = self.lock();
        let nonce = world.nonce(request.from);
        let at = |world: &mut World, gas_limit: u64| {
            let probe = TxRequest {
                gas_limit,
                max_fee_per_gas: u128::from(BASE_FEE),
                max_priority_fee_per_gas: 0,
                ..request.clone()
            };
            let tx = world.tx_env(&probe, nonce, ACTION)?;
            world.execute(tx, false, ACTION)
        };
        let first = at(&mut world, TX_GAS_LIMIT)?;
        let gas = *first.gas();
        match first {
            ExecutionResult::Success { .. } => {}
            other => return outcome_error(ACTION, other),
        }
        let optimistic = ((gas.total_gas_spent() + CALL_STIPEND) * 64 / 63)
            .max(gas.floor_gas())
            .min(TX_GAS_LIMIT);
        if optimistic == TX_GAS_LIMIT || at(&mut world, optimistic)?.is_success() {
            return Ok(optimistic);
        }
        let (mut lo, mut hi) = (optimistic, TX_GAS_LIMIT);
        while hi - lo > hi / 64 {
            let mid = lo + (hi - lo) / 2;
            if at(&mut world, mid)?.is_success() {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(hi)
    }

    fn accept(&self, request: &TxRequest) -> Result<B256> {
        if !self.accounts.contains(&request.from) {
            return Err(ChainError::UnknownAccount(request.from));
        }
        let hash = Self::hash_of(request);
        let mut world = self.lock();
        let base_fee = u128::from(world.block.basefee);
        if request.max_fee_per_gas < base_fee {
            return Err(rejected(
                request,
                TxRejection::FeeCapTooLow,
                format!(
                    "max fee per gas {} less than block base fee {base_fee}",
                    request.max_fee_per_gas
                ),
            ));
        }
        if request.max_priority_fee_per_gas > request.max_fee_per_gas {
            return Err(rejected(
                request,
                TxRejection::Other,
                "max priority fee per gas higher than max fee per gas".into(),
            ));
        }
        if request.gas_limit > TX_GAS_LIMIT {
            return Err(rejected(
                request,
                TxRejection::Other,
                format!(
                    "gas limit {} above the cap {TX_GAS_LIMIT}",
                    request.gas_limit
                ),
            ));
        }
        let next = world.nonce(request.from);
        if request.nonce < next {
            return Err(rejected(
                request,
                TxRejection::NonceTooLow,
                format!(
                    "nonce too low: next nonce {next}, tx nonce {}",
                    request.nonce
                ),
            ));
        }
        if request.nonce > next {
            let key = (request.from, request.nonce);
            if let Some((old_hash, old)) = world.pool.get(&key) {
                if *old_hash == hash {
                    return Err(rejected(
                        request,
                        TxRejection::AlreadyKnown,
                        "already known".into(),
                    ));
                }
                if !outbids(request, old) {
                    return Err(rejected(
                        request,
                        TxRejection::ReplacementUnderpriced,
                        "replacement transaction underpriced".into(),
                    ));
                }
            }
            world.pool.insert(key, (hash, request.clone()));
            return Ok(hash);
        }
        world.mine(hash, request.clone())?;
        world.drain(request.from);
        Ok(hash)
    }
}

/// The error of a call or estimation that did not succeed.
fn outcome_error<T>(action: &str, result: ExecutionResult) -> Result<T> {
    match result {
        ExecutionResult::Revert { output, .. } => Err(ChainError::Reverted {
            action: action.to_owned(),
            reason: crate::decode_revert(&output),
            data: output,
        }),
        ExecutionResult::Halt { reason, .. } => Err(ChainError::Halted {
            action: action.to_owned(),
            reason: format!("{reason:?}"),
        }),
        ExecutionResult::Success { .. } => Err(ChainError::Node {
            action: "outcome",
            message: "a success reported as a failure".into(),
        }),
    }
}

impl Node for RevmNode {
    fn accounts(&self) -> &[Address] {
        &self.accounts
    }

    fn name(&self) -> String {
        "revm (in-process)".to_owned()
    }

    async fn chain_id(&self) -> Result<u64> {
        Ok(CHAIN_ID)
    }

    async fn block_number(&self) -> Result<u64> {
        // The current block is the one the next transaction lands in; the latest is before it.
        Ok(self.lock().block.number.saturating_to::<u64>() - 1)
    }

    async fn timestamp(&self) -> Result<u64> {
        Ok(self.lock().block.timestamp.saturating_to())
    }

    async fn advance_time(&self, secs: u64) -> Result<()> {
        let mut world = self.lock();
        world.block.timestamp += U256::from(secs);
        world.block.number += U256::from(1u64);
        Ok(())
    }

    async fn balance(&self, account: Address) -> Result<U256> {
        Ok(self
            .lock()
            .db
            .basic_ref(account)
            .ok()
            .flatten()
            .map_or(U256::ZERO, |a| a.balance))
    }

    async fn call(&self, action: &str, to: Address, data: Bytes) -> Result<Bytes> {
        let mut world = self.lock();
        let request = TxRequest {
            from: CALLER,
            to: Some(to),
            data,
            value: U256::ZERO,
            nonce: 0,
            gas_limit: TX_GAS_LIMIT,
            max_fee_per_gas: u128::from(BASE_FEE),
            max_priority_fee_per_gas: 0,
        };
        let nonce = world.nonce(CALLER);
        let tx = world.tx_env(&request, nonce, action)?;
        match world.execute(tx, false, action)? {
            ExecutionResult::Success { output, .. } => Ok(output.into_data()),
            other => outcome_error(action, other),
        }
    }

    async fn logs(&self, query: LogQuery) -> Result<Vec<ChainLog>> {
        Ok(self
            .lock()
            .logs
            .iter()
            .filter(|l| {
                l.block_number >= query.from_block
                    && l.log.address == query.address
                    && l.log.topics().first() == Some(&query.event)
                    && query
                        .topic1
                        .is_none_or(|t| l.log.topics().get(1) == Some(&t))
                    && query
                        .topic2
                        .is_none_or(|t| l.log.topics().get(2) == Some(&t))
            })
            .cloned()
            .collect())
    }

    async fn estimate_gas(&self, request: &TxRequest) -> Result<u64> {
        if !self.accounts.contains(&request.from) {
            return Err(ChainError::UnknownAccount(request.from));
        }
        self.estimate(request)
    }

    async fn nonce(&self, account: Address, _tag: NonceTag) -> Result<u64> {
        // A transaction whose turn has come is mined at once, so the pool holds only
        // transactions behind a gap: the pending nonce is the latest.
        Ok(self.lock().nonce(account))
    }

    async fn fees(&self) -> Result<FeeSuggestion> {
        Ok(FeeSuggestion {
            base_fee: u128::from(self.lock().block.basefee),
            priority_fee: 0,
        })
    }

    async fn tx_hash(&self, request: &TxRequest) -> Result<B256> {
        Ok(Self::hash_of(request))
    }

    async fn submit(&self, request: &TxRequest) -> Result<B256> {
        self.accept(request)
    }

    async fn receipt(&self, hash: B256) -> Result<Option<Receipt>> {
        Ok(self.lock().receipts.get(&hash).cloned())
    }

    async fn replay(&self, _request: &TxRequest, block: u64) -> Result<Option<Bytes>> {
        // One transaction per block: the revert kept for the block is exactly the replay.
        Ok(self.lock().reverts.get(&block).cloned())
    }
}

/// The in-process chain: the transaction manager over a [`RevmNode`].
pub type InProcessChain = crate::TxManager<RevmNode>;

impl InProcessChain {
    /// A fresh chain with `accounts` accounts of 10,000 ether each, the default
    /// [`TxPolicy`](crate::TxPolicy) and an in-memory journal.
    #[must_use]
    pub fn new(accounts: usize) -> Self {
        Self::with_journal(
            RevmNode::new(accounts),
            crate::TxPolicy::default(),
            std::sync::Arc::new(crate::MemoryJournal::new()),
        )
        .expect("the default policy is valid")
    }

    /// A fresh chain with `accounts` accounts, sending by `policy` and journaling to `journal`.
    ///
    /// # Errors
    /// [`ChainError::InvalidPolicy`] if the policy does not validate.
    pub fn with_policy(
        accounts: usize,
        policy: crate::TxPolicy,
        journal: std::sync::Arc<dyn crate::TxJournal>,
    ) -> Result<Self> {
        Self::with_journal(RevmNode::new(accounts), policy, journal)
    }
}
