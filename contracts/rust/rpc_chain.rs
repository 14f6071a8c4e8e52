//! A chain over JSON-RPC (Anvil or any node with unlocked-by-key accounts), through alloy.

use alloy::eips::BlockNumberOrTag;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::signers::local::{LocalSigner, MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use alloy::transports::{RpcError, TransportError};
use std::collections::HashMap;
use std::sync::Arc;

use crate::chain::{Chain, ChainLog, LogQuery, TxReceipt};
use crate::{ChainError, Result};

/// How long to wait for a sent transaction's receipt before giving up with an error.
const RECEIPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// The mnemonic of Anvil's and Hardhat's development accounts (public; for local nodes only).
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// A chain reached over JSON-RPC, signing locally with the given keys.
///
/// Nonces come from the node (`eth_getTransactionCount(pending)`) for every transaction, and
/// each account sends one transaction at a time until the node has accepted it: a transaction
/// whose gas estimation reverts is never sent and uses no nonce (a cached nonce counter would
/// skip one and leave every later transaction of the account stuck behind the gap), and
/// concurrent senders on one account (a defender playing many games) cannot take one nonce
/// twice.
pub struct RpcChain {
    provider: DynProvider,
    accounts: Vec<Address>,
    senders: std::sync::Mutex<HashMap<Address, Arc<tokio::sync::Mutex<()>>>>,
    url: String,
    // Keeps a spawned node alive for as long as the chain; dropping it stops the node.
    _anvil: Option<AnvilInstance>,
}

impl std::fmt::Debug for RpcChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcChain")
            .field("url", &self.url)
            .field("accounts", &self.accounts)
            .finish_non_exhaustive()
    }
}

fn rpc_err(action: &str) -> impl FnOnce(TransportError) -> ChainError + '_ {
    move |e| {
        if let RpcError::ErrorResp(payload) = &e
            && let Some(data) = payload.as_revert_data()
        {
            return ChainError::Reverted {
                action: action.to_owned(),
                reason: crate::decode_revert(&data),
                data,
            };
        }
        ChainError::Rpc {
            action: action.to_owned(),
            source: e,
        }
    }
}

impl RpcChain {
    /// Connects to `url`, signing with `signers` (the first one deploys).
    ///
    /// # Errors
    /// Never at connection time (the transport is lazy); a bad URL fails on first use.
    pub fn connect(url: &str, signers: Vec<PrivateKeySigner>) -> Result<Self> {
        Self::with_node(url, signers, None)
    }

    /// Connects to `url` with the first `count` accounts derived from `mnemonic`.
    ///
    /// # Errors
    /// An invalid mnemonic.
    pub fn connect_mnemonic(url: &str, mnemonic: &str, count: u32) -> Result<Self> {
        let signers = (0..count)
            .map(|i| {
                MnemonicBuilder::<English>::default()
                    .phrase(mnemonic)
                    .index(i)
                    .and_then(|b| b.build())
                    .map_err(|e| {
                        ChainError::Config(format!("invalid mnemonic for account {i}: {e}"))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Self::connect(url, signers)
    }

    /// Starts a local Anvil from `binary` on a free port with `accounts` funded development
    /// accounts, and connects to it.
    ///
    /// # Errors
    /// [`ChainError::Anvil`] if the node does not start.
    pub fn spawn_anvil_with_accounts(binary: &std::path::Path, accounts: usize) -> Result<Self> {
        let anvil = Anvil::at(binary)
            .args(["--accounts", &accounts.max(1).to_string()])
            .try_spawn()
            .map_err(|source| ChainError::Anvil {
                path: binary.display().to_string(),
                source,
            })?;
        let signers: Vec<PrivateKeySigner> = anvil.keys().iter().map(LocalSigner::from).collect();
        let url = anvil.endpoint();
        Self::with_node(&url, signers, Some(anvil))
    }

    fn with_node(
        url: &str,
        signers: Vec<PrivateKeySigner>,
        anvil: Option<AnvilInstance>,
    ) -> Result<Self> {
        let accounts: Vec<Address> = signers.iter().map(PrivateKeySigner::address).collect();
        let mut signers = signers.into_iter();
        let first = signers
            .next()
            .ok_or_else(|| ChainError::Config("at least one signing key is needed".into()))?;
        let mut wallet = EthereumWallet::new(first);
        for s in signers {
            wallet.register_signer(s);
        }
        let parsed = url
            .parse()
            .map_err(|e| ChainError::Config(format!("invalid RPC URL {url:?}: {e}")))?;
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
            .wallet(wallet)
            .connect_http(parsed)
            .erased();
        Ok(Self {
            provider,
            accounts,
            senders: std::sync::Mutex::new(HashMap::new()),
            url: url.to_owned(),
            _anvil: anvil,
        })
    }
}

impl Chain for RpcChain {
    fn accounts(&self) -> &[Address] {
        &self.accounts
    }

    fn name(&self) -> String {
        format!("json-rpc {}", self.url)
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
        let mut tx = TransactionRequest::default()
            .with_from(from)
            .with_value(value);
        tx = match to {
            Some(to) => tx.with_to(to).with_input(data),
            None => tx.with_deploy_code(data),
        };
        let sender = Arc::clone(
            self.senders
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(from)
                .or_default(),
        );
        let pending = {
            // Held until the node has the transaction, so the next one sees its nonce.
            let _turn = sender.lock().await;
            self.provider
                .send_transaction(tx.clone())
                .await
                .map_err(rpc_err(action))?
        };
        let receipt = pending
            .with_timeout(Some(RECEIPT_TIMEOUT))
            .get_receipt()
            .await
            .map_err(|source| ChainError::Pending {
                action: action.to_owned(),
                source,
            })?;
        if !receipt.status() {
            // Gas estimation passed but the transaction reverted in its block (the state moved
            // in between): replay it there as a call to recover the revert data, so callers
            // can tell which rule refused it.
            let replayed = match receipt.block_number {
                Some(n) => self.provider.call(tx).block(n.into()).await.err(),
                None => None,
            };
            if let Some(ChainError::Reverted { data, reason, .. }) = replayed.map(rpc_err(action)) {
                return Err(ChainError::Reverted {
                    action: action.to_owned(),
                    reason: format!("{reason} (reverted on chain after gas estimation passed)"),
                    data,
                });
            }
            return Err(ChainError::Reverted {
                action: action.to_owned(),
                reason: "reverted on chain after gas estimation passed".into(),
                data: Bytes::new(),
            });
        }
        Ok(TxReceipt {
            gas_used: receipt.gas_used,
            logs: receipt
                .inner
                .logs()
                .iter()
                .map(|l| l.inner.clone())
                .collect(),
            created: receipt.contract_address,
            effective_gas_price: receipt.effective_gas_price,
        })
    }

    async fn call(&self, action: &str, to: Address, data: Bytes) -> Result<Bytes> {
        let tx = TransactionRequest::default().with_to(to).with_input(data);
        self.provider.call(tx).await.map_err(rpc_err(action))
    }

    async fn timestamp(&self) -> Result<u64> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(rpc_err("eth_getBlockByNumber"))?
            .ok_or_else(|| ChainError::Node {
                action: "eth_getBlockByNumber",
                message: "no latest block".into(),
            })?;
        Ok(block.header.timestamp)
    }

    async fn advance_time(&self, secs: u64) -> Result<()> {
        let _: serde_json::Value = self
            .provider
            .raw_request("evm_increaseTime".into(), (secs,))
            .await
            .map_err(rpc_err("evm_increaseTime"))?;
        let _: serde_json::Value = self
            .provider
            .raw_request("evm_mine".into(), ())
            .await
            .map_err(rpc_err("evm_mine"))?;
        Ok(())
    }

    async fn balance(&self, account: Address) -> Result<U256> {
        self.provider
            .get_balance(account)
            .await
            .map_err(rpc_err("eth_getBalance"))
    }

    async fn chain_id(&self) -> Result<u64> {
        self.provider
            .get_chain_id()
            .await
            .map_err(rpc_err("eth_chainId"))
    }

    async fn block_number(&self) -> Result<u64> {
        self.provider
            .get_block_number()
            .await
            .map_err(rpc_err("eth_blockNumber"))
    }

    async fn logs(&self, query: LogQuery) -> Result<Vec<ChainLog>> {
        let mut filter = Filter::new()
            .address(query.address)
            .event_signature(query.event)
            .from_block(query.from_block);
        if let Some(t) = query.topic1 {
            filter = filter.topic1(t);
        }
        if let Some(t) = query.topic2 {
            filter = filter.topic2(t);
        }
        let logs = self
            .provider
            .get_logs(&filter)
            .await
            .map_err(rpc_err("eth_getLogs"))?;
        Ok(logs
            .into_iter()
            .map(|l| ChainLog {
                block_number: l.block_number.unwrap_or_default(),
                log: l.inner,
            })
            .collect())
    }
}
