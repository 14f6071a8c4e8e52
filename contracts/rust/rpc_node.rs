//! A node over JSON-RPC (Anvil or any node), through alloy, signing locally: transactions
//! are EIP-1559, signed with the account's key (RFC 6979, so the same request always signs to
//! the same hash) and sent with `eth_sendRawTransaction`.

use alloy::consensus::{TxEip1559, TypedTransaction};
use alloy::eips::BlockNumberOrTag;
use alloy::eips::eip2718::Encodable2718;
use alloy::network::{Ethereum, EthereumWallet, NetworkWallet, TransactionBuilder};
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::signers::local::{LocalSigner, MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use alloy::transports::{RpcError, TransportError};
use tokio::sync::OnceCell;

use crate::chain::{ChainLog, LogQuery};
use crate::node::{FeeSuggestion, Node, NonceTag, Receipt, TxRequest};
use crate::{ChainError, Result, TxRejection};

/// The mnemonic of Anvil's and Hardhat's development accounts (public; for local nodes only).
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// A node reached over JSON-RPC, signing locally with the given keys.
pub struct RpcNode {
    provider: DynProvider,
    wallet: EthereumWallet,
    accounts: Vec<Address>,
    chain_id: OnceCell<u64>,
    url: String,
    // Keeps a spawned node alive for as long as the chain; dropping it stops the node.
    _anvil: Option<AnvilInstance>,
}

impl std::fmt::Debug for RpcNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcNode")
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

fn call_request(request: &TxRequest) -> TransactionRequest {
    let tx = TransactionRequest::default()
        .with_from(request.from)
        .with_value(request.value);
    match request.to {
        Some(to) => tx.with_to(to).with_input(request.data.clone()),
        None => tx.with_deploy_code(request.data.clone()),
    }
}

impl RpcNode {
    /// Connects to `url`, signing with `signers` (the first one deploys).
    ///
    /// # Errors
    /// No signer, or an unparsable URL; an unreachable node fails on first use.
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
            .connect_http(parsed)
            .erased();
        Ok(Self {
            provider,
            wallet,
            accounts,
            chain_id: OnceCell::new(),
            url: url.to_owned(),
            _anvil: anvil,
        })
    }

    async fn sign(&self, request: &TxRequest) -> Result<alloy::consensus::TxEnvelope> {
        if !self.accounts.contains(&request.from) {
            return Err(ChainError::UnknownAccount(request.from));
        }
        let unsigned = TxEip1559 {
            chain_id: self.chain_id().await?,
            nonce: request.nonce,
            gas_limit: request.gas_limit,
            max_fee_per_gas: request.max_fee_per_gas,
            max_priority_fee_per_gas: request.max_priority_fee_per_gas,
            to: request.to.map_or(TxKind::Create, TxKind::Call),
            value: request.value,
            access_list: alloy::eips::eip2930::AccessList::default(),
            input: request.data.clone(),
        };
        NetworkWallet::<Ethereum>::sign_transaction_from(
            &self.wallet,
            request.from,
            TypedTransaction::Eip1559(unsigned),
        )
        .await
        .map_err(|e| ChainError::Config(format!("signing for {} failed: {e}", request.from)))
    }
}

impl Node for RpcNode {
    fn accounts(&self) -> &[Address] {
        &self.accounts
    }

    fn name(&self) -> String {
        format!("json-rpc {}", self.url)
    }

    async fn chain_id(&self) -> Result<u64> {
        self.chain_id
            .get_or_try_init(|| async {
                self.provider
                    .get_chain_id()
                    .await
                    .map_err(rpc_err("eth_chainId"))
            })
            .await
            .copied()
    }

    async fn block_number(&self) -> Result<u64> {
        self.provider
            .get_block_number()
            .await
            .map_err(rpc_err("eth_blockNumber"))
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

    async fn call(&self, action: &str, to: Address, data: Bytes) -> Result<Bytes> {
        let tx = TransactionRequest::default().with_to(to).with_input(data);
        self.provider.call(tx).await.map_err(rpc_err(action))
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

    async fn estimate_gas(&self, request: &TxRequest) -> Result<u64> {
        if !self.accounts.contains(&request.from) {
            return Err(ChainError::UnknownAccount(request.from));
        }
        self.provider
            .estimate_gas(call_request(request))
            .await
            .map_err(rpc_err("eth_estimateGas"))
    }

    async fn nonce(&self, account: Address, tag: NonceTag) -> Result<u64> {
        let call = self.provider.get_transaction_count(account);
        match tag {
            NonceTag::Latest => call.latest().await,
            NonceTag::Pending => call.pending().await,
        }
        .map_err(rpc_err("eth_getTransactionCount"))
    }

    async fn fees(&self) -> Result<FeeSuggestion> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(rpc_err("eth_getBlockByNumber"))?
            .ok_or_else(|| ChainError::Node {
                action: "eth_getBlockByNumber",
                message: "no latest block".into(),
            })?;
        let base_fee = block
            .header
            .base_fee_per_gas
            .ok_or_else(|| ChainError::Node {
                action: "eth_getBlockByNumber",
                message: "the latest block has no base fee (a pre-London chain?)".into(),
            })?;
        let priority_fee = self
            .provider
            .get_max_priority_fee_per_gas()
            .await
            .map_err(rpc_err("eth_maxPriorityFeePerGas"))?;
        Ok(FeeSuggestion {
            base_fee: u128::from(base_fee),
            priority_fee,
        })
    }

    async fn tx_hash(&self, request: &TxRequest) -> Result<B256> {
        Ok(*self.sign(request).await?.tx_hash())
    }

    async fn submit(&self, request: &TxRequest) -> Result<B256> {
        const ACTION: &str = "eth_sendRawTransaction";
        let envelope = self.sign(request).await?;
        let hash = *envelope.tx_hash();
        let raw = envelope.encoded_2718();
        match self.provider.send_raw_transaction(&raw).await {
            Ok(_) => Ok(hash),
            Err(RpcError::ErrorResp(payload)) => {
                let message = payload.message.to_string();
                match TxRejection::classify(&message) {
                    Some(kind) => Err(ChainError::TxRejected {
                        action: ACTION.into(),
                        account: request.from,
                        nonce: request.nonce,
                        kind,
                        message,
                    }),
                    None => Err(rpc_err(ACTION)(RpcError::ErrorResp(payload))),
                }
            }
            Err(e) => Err(rpc_err(ACTION)(e)),
        }
    }

    async fn receipt(&self, hash: B256) -> Result<Option<Receipt>> {
        let Some(r) = self
            .provider
            .get_transaction_receipt(hash)
            .await
            .map_err(rpc_err("eth_getTransactionReceipt"))?
        else {
            return Ok(None);
        };
        let Some(block_number) = r.block_number else {
            return Ok(None);
        };
        Ok(Some(Receipt {
            hash,
            status: r.status(),
            block_number,
            gas_used: r.gas_used,
            logs: r.inner.logs().iter().map(|l| l.inner.clone()).collect(),
            created: r.contract_address,
            effective_gas_price: r.effective_gas_price,
        }))
    }

    async fn replay(&self, request: &TxRequest, block: u64) -> Result<Option<Bytes>> {
        match self
            .provider
            .call(call_request(request))
            .block(block.into())
            .await
            .map_err(rpc_err("eth_call"))
        {
            Err(ChainError::Reverted { data, .. }) => Ok(Some(data)),
            Ok(_) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The JSON-RPC chain: the transaction manager over an [`RpcNode`].
pub type RpcChain = crate::TxManager<RpcNode>;

fn managed(node: RpcNode) -> RpcChain {
    RpcChain::with_journal(
        node,
        crate::TxPolicy::default(),
        std::sync::Arc::new(crate::MemoryJournal::new()),
    )
    .expect("the default policy is valid")
}

impl RpcChain {
    /// Connects to `url`, signing with `signers` (the first one deploys), with the default
    /// [`TxPolicy`](crate::TxPolicy) and an in-memory journal.
    ///
    /// # Errors
    /// As [`RpcNode::connect`].
    pub fn connect(url: &str, signers: Vec<PrivateKeySigner>) -> Result<Self> {
        RpcNode::connect(url, signers).map(managed)
    }

    /// Connects to `url` with the first `count` accounts derived from `mnemonic`.
    ///
    /// # Errors
    /// An invalid mnemonic.
    pub fn connect_mnemonic(url: &str, mnemonic: &str, count: u32) -> Result<Self> {
        RpcNode::connect_mnemonic(url, mnemonic, count).map(managed)
    }

    /// Starts a local Anvil from `binary` with `accounts` funded development accounts and
    /// connects to it.
    ///
    /// # Errors
    /// [`ChainError::Anvil`] if the node does not start.
    pub fn spawn_anvil_with_accounts(binary: &std::path::Path, accounts: usize) -> Result<Self> {
        RpcNode::spawn_anvil_with_accounts(binary, accounts).map(managed)
    }

    /// Connects to `url` signing with `signers`, sending by `policy` and journaling to
    /// `journal` (a daemon's durable one).
    ///
    /// # Errors
    /// As [`RpcNode::connect`], or [`ChainError::InvalidPolicy`].
    pub fn connect_with_policy(
        url: &str,
        signers: Vec<PrivateKeySigner>,
        policy: crate::TxPolicy,
        journal: std::sync::Arc<dyn crate::TxJournal>,
    ) -> Result<Self> {
        Self::with_journal(RpcNode::connect(url, signers)?, policy, journal)
    }
}
