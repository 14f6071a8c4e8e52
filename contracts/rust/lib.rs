//! Contracts of the verifiable aggregation system: typed Rust bindings generated with `sol!`
//! from the committed Foundry artifacts, the chain interface ([`Chain`]) implemented once by
//! the transaction manager ([`TxManager`]) over a low-level [`Node`] (in-process revm with a
//! mempool, [`RevmNode`], or JSON-RPC, [`RpcNode`]; [`FaultyNode`] injects faults in tests),
//! and the typed deployment API the aggregator and challenger use.

mod bindings;
mod chain;
mod deployment;
mod error;
mod faulty;
mod journal;
mod node;
mod revm_node;
mod rpc_node;
mod txmgr;

pub use bindings::{
    accumulate_checker, arbiter, clip_checker, clipped_program, close_emit_checker,
    close_rank_checker, close_sum_checker, distance_checker, fedavg_program, finalize_checker,
    game, median_program, norm_checker, pick_checker, rank_checker, registry, scale_checker,
    score_rank_checker, score_sum_checker, select_accumulate_checker, select_finalize_checker,
    select_rank_checker, selected_program, trim_emit_checker, trim_sum_checker,
    trimmed_mean_program,
};
pub use chain::{Chain, ChainLog, LogQuery, TxReceipt};
pub use deployment::{
    AccumulateLeaf, Addresses, Availability, ClipLeaf, DeployGas, DeployParams, Deployment,
    FinalizeLeaf, GameRecord, GameState, KIND_COUNT, PROOF_BYTES, RULE_COUNT, RoundView,
    expected_verifiers_hash,
};
pub use error::{ChainError, Result, TxRejection};
pub use faulty::{Fault, FaultConfig, FaultCounts, FaultyNode};
pub use journal::{JournalEntry, JournalState, MemoryJournal, TxJournal};
pub use node::{FeeSuggestion, Node, NonceTag, Receipt, TxRequest};
pub use revm_node::{BASE_FEE, ExecutedTx, InProcessChain, RevmNode, TX_GAS_LIMIT};
pub use rpc_node::{DEV_MNEMONIC, RpcChain, RpcNode};
pub use txmgr::{TxManager, TxPolicy, TxStats};

/// Best-effort human-readable revert reason: a known custom error of the project's
/// contracts, `Error(string)`, `Panic(uint256)`, or the raw data in hex.
#[must_use]
pub fn decode_revert(data: &[u8]) -> String {
    use alloy::sol_types::SolInterface;
    if let Ok(e) = registry::RoundRegistry::RoundRegistryErrors::abi_decode(data) {
        return format!("RoundRegistry.{e:?}");
    }
    if let Ok(e) = game::BisectionGame::BisectionGameErrors::abi_decode(data) {
        return format!("BisectionGame.{e:?}");
    }
    if let Ok(e) = arbiter::LeafArbiter::LeafArbiterErrors::abi_decode(data) {
        return format!("LeafArbiter.{e:?}");
    }
    if let Ok(e) = accumulate_checker::AccumulateChecker::AccumulateCheckerErrors::abi_decode(data)
    {
        return format!("AccumulateChecker.{e:?}");
    }
    if let Ok(e) = finalize_checker::FinalizeChecker::FinalizeCheckerErrors::abi_decode(data) {
        return format!("FinalizeChecker.{e:?}");
    }
    if let Ok(e) = fedavg_program::FedAvgProgram::FedAvgProgramErrors::abi_decode(data) {
        return format!("FedAvgProgram.{e:?}");
    }
    if let Ok(e) = rank_checker::RankChecker::RankCheckerErrors::abi_decode(data) {
        return format!("{e:?} (an order-statistic checker)");
    }
    if let Ok(e) =
        trimmed_mean_program::TrimmedMeanProgram::TrimmedMeanProgramErrors::abi_decode(data)
    {
        return format!("{e:?} (an order-statistic program)");
    }
    alloy::sol_types::decode_revert_reason(data)
        .unwrap_or_else(|| format!("0x{}", alloy::hex::encode(data)))
}
