//! The embedded chain: revm in-process, no external service.
//!
//! Every transaction is its own block; the block number advances by one per transaction and
//! the timestamp only when [`Chain::advance_time`] is called, so windows and clocks are
//! driven explicitly and tests never sleep.

use std::sync::Mutex;

use alloy::primitives::{Address, Bytes, U256, address};
use revm::context::result::{ExecutionResult, Output};
use revm::context::{BlockEnv, Context, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{MainBuilder, MainContext};
use revm::primitives::TxKind;
use revm::state::AccountInfo;
use revm::{DatabaseCommit, DatabaseRef, ExecuteEvm};

use crate::chain::{Chain, ChainLog, LogQuery, TxReceipt};
use crate::{ChainError, Result};

type Db = CacheDB<EmptyDB>;

/// Gas limit of every transaction: the Osaka per-transaction cap (EIP-7825).
pub const TX_GAS_LIMIT: u64 = 1 << 24;
const CHAIN_ID: u64 = 31_337;
const GENESIS_TIME: u64 = 1_700_000_000;
/// Base fee of every block (1 gwei), and the price every transaction pays: gas costs real
/// ether here, so "nobody is out of pocket" is checked against real balances.
pub const BASE_FEE: u64 = 1_000_000_000;
/// The account read-only calls come from (never sends, so its nonce stays 0; funded so the
/// gas price of a call can be covered).
const CALLER: Address = address!("0x00000000000000000000000000000000000ca11e");

/// World state and the current block. The EVM itself is not `Send` (its interpreter memory is
/// reference-counted), so one is built per transaction over the shared state: cheap next to
/// executing the transaction.
struct World {
    db: Db,
    block: BlockEnv,
    logs: Vec<ChainLog>,
}

impl World {
    fn nonce(&self, account: Address) -> u64 {
        self.db
            .basic_ref(account)
            .ok()
            .flatten()
            .map_or(0, |a| a.nonce)
    }

    fn tx(
        &self,
        from: Address,
        kind: TxKind,
        data: Bytes,
        value: U256,
        action: &str,
    ) -> Result<TxEnv> {
        TxEnv::builder()
            .caller(from)
            .kind(kind)
            .data(data)
            .value(value)
            .gas_limit(TX_GAS_LIMIT)
            .gas_price(u128::from(BASE_FEE))
            .nonce(self.nonce(from))
            .chain_id(Some(CHAIN_ID))
            .build()
            .map_err(|e| ChainError::Evm {
                action: action.to_owned(),
                message: format!("{e:?}"),
            })
    }

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
        // Only successful transactions land: a wallet estimates gas first and does not send a
        // transaction that reverts, so over JSON-RPC a revert costs nothing either.
        if commit && out.result.is_success() {
            self.db.commit(out.state);
        }
        Ok(out.result)
    }
}

/// An in-process EVM chain with funded accounts.
pub struct InProcessChain {
    world: Mutex<World>,
    accounts: Vec<Address>,
}

impl std::fmt::Debug for InProcessChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessChain")
            .field("accounts", &self.accounts)
            .finish_non_exhaustive()
    }
}

impl InProcessChain {
    /// A fresh chain with `accounts` accounts of 10,000 ether each.
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
            }),
            accounts,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        // revm commits atomically, so a panic elsewhere cannot leave the world half-written.
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn outcome(action: &str, result: ExecutionResult) -> Result<TxReceipt> {
    match result {
        ExecutionResult::Success {
            gas, logs, output, ..
        } => Ok(TxReceipt {
            gas_used: gas.tx_gas_used(),
            logs,
            created: match output {
                Output::Create(_, addr) => addr,
                Output::Call(_) => None,
            },
            effective_gas_price: u128::from(BASE_FEE),
        }),
        ExecutionResult::Revert { output, .. } => Err(ChainError::Reverted {
            action: action.to_owned(),
            reason: crate::decode_revert(&output),
            data: output,
        }),
        ExecutionResult::Halt { reason, .. } => Err(ChainError::Halted {
            action: action.to_owned(),
            reason: format!("{reason:?}"),
        }),
    }
}

impl Chain for InProcessChain {
    fn accounts(&self) -> &[Address] {
        &self.accounts
    }

    fn name(&self) -> String {
        "revm (in-process)".to_owned()
    }

    async fn send(
        &self,
        action: &str,
        from: Address,
        to: Option<Address>,
        data: Bytes,
        value: U256,
    ) -> Result<TxReceipt> {
        if !self.accounts.contains(&from) {
            return Err(ChainError::UnknownAccount(from));
        }
        let mut world = self.lock();
        let kind = to.map_or(TxKind::Create, TxKind::Call);
        let tx = world.tx(from, kind, data, value, action)?;
        let result = world.execute(tx, true, action)?;
        let block_number: u64 = world.block.number.saturating_to();
        world.block.number += U256::from(1u64);
        let receipt = outcome(action, result)?;
        world.logs.extend(receipt.logs.iter().map(|log| ChainLog {
            block_number,
            log: log.clone(),
        }));
        Ok(receipt)
    }

    async fn call(&self, action: &str, to: Address, data: Bytes) -> Result<Bytes> {
        let mut world = self.lock();
        let tx = world.tx(CALLER, TxKind::Call(to), data, U256::ZERO, action)?;
        match world.execute(tx, false, action)? {
            ExecutionResult::Success { output, .. } => Ok(output.into_data()),
            other => outcome(action, other).map(|_| Bytes::new()),
        }
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

    async fn chain_id(&self) -> Result<u64> {
        Ok(CHAIN_ID)
    }

    async fn block_number(&self) -> Result<u64> {
        // The current block is the one the next transaction lands in; the latest is before it.
        Ok(self.lock().block.number.saturating_to::<u64>() - 1)
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
}
