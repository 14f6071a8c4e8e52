//! The typed contract API, written once over any [`Chain`]: deploy the system, and one method
//! per on-chain action, each returning its receipt (for gas reports) and decoded ids.

use std::sync::Arc;

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::sol_types::{SolCall, SolConstructor, SolEvent, SolValue};

use crate::bindings::{
    accumulate_checker::AccumulateChecker, arbiter::LeafArbiter, clip_checker::ClipChecker,
    clipped_program::ClippedProgram, close_emit_checker::CloseEmitChecker,
    close_rank_checker::CloseRankChecker, close_sum_checker::CloseSumChecker,
    distance_checker::DistanceChecker, fedavg_program::FedAvgProgram,
    finalize_checker::FinalizeChecker, game::BisectionGame, median_program::MedianProgram,
    norm_checker::NormChecker, pick_checker::PickChecker, rank_checker::RankChecker,
    registry::RoundRegistry, scale_checker::ScaleChecker, score_rank_checker::ScoreRankChecker,
    score_sum_checker::ScoreSumChecker, select_accumulate_checker::SelectAccumulateChecker,
    select_finalize_checker::SelectFinalizeChecker, select_rank_checker::SelectRankChecker,
    selected_program::SelectedProgram, trim_emit_checker::TrimEmitChecker,
    trim_sum_checker::TrimSumChecker, trimmed_mean_program::TrimmedMeanProgram, verifiers,
};
use crate::{Chain, ChainError, LogQuery, Result, TxReceipt};

pub use crate::bindings::accumulate_checker::AccumulateChecker::AccumulateLeaf;
pub use crate::bindings::clip_checker::ClipChecker::ClipLeaf;
pub use crate::bindings::finalize_checker::FinalizeChecker::FinalizeLeaf;
pub use crate::bindings::game::BisectionGame::GameView as GameState;
pub use crate::bindings::registry::RoundRegistry::{Availability, GameRecord, RoundView};

/// Parameters of a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeployParams {
    /// Bond the aggregator posts with a result (wei).
    pub aggregator_bond: U256,
    /// Bond a challenger posts to open a game (wei).
    pub challenger_bond: U256,
    /// Deposit a client posts with its commitment, per data segment of the model (wei).
    pub client_deposit: U256,
    /// Bond of an availability challenge, per data segment of the model (wei).
    pub availability_bond: U256,
    /// Seconds after posting during which a result can be challenged.
    pub challenge_window: u64,
    /// Seconds after the commit phase during which updates can be challenged for availability.
    pub availability_window: u64,
    /// Seconds a challenged update has to be revealed, plus `reveal_time_per_segment` per data
    /// segment of the round's model.
    pub resolve_window: u64,
    /// Seconds added to the resolve window per data segment (a full segment is ~1.2M gas).
    pub reveal_time_per_segment: u64,
    /// Seconds the aggregator has to post once the participant set is frozen.
    pub post_window: u64,
    /// Share of a slashed aggregator bond always burnt (basis points).
    pub burn_bps: u16,
    /// Chess-clock budget per side and game (seconds).
    pub clock: u64,
    /// Minimum time a side gets to answer after the opponent moves (seconds).
    pub extension: u64,
    /// Gas forwarded to a step verifier (an invalid curve point burns all of it).
    pub verifier_gas_cap: u64,
}

impl Default for DeployParams {
    fn default() -> Self {
        let milli = U256::from(10u64).pow(U256::from(15u64));
        Self {
            aggregator_bond: milli * U256::from(1_000u64),
            challenger_bond: milli * U256::from(250u64),
            client_deposit: milli * U256::from(10u64),
            availability_bond: milli * U256::from(50u64),
            challenge_window: 3_600,
            availability_window: 600,
            resolve_window: 600,
            reveal_time_per_segment: 12,
            post_window: 3_600,
            burn_bps: 5_000,
            clock: 1_800,
            extension: 300,
            verifier_gas_cap: 500_000,
        }
    }
}

impl DeployParams {
    fn registry_params(&self) -> RoundRegistry::Params {
        RoundRegistry::Params {
            aggregatorBond: self.aggregator_bond,
            challengerBond: self.challenger_bond,
            clientDeposit: self.client_deposit,
            availabilityBond: self.availability_bond,
            challengeWindow: self.challenge_window,
            availabilityWindow: self.availability_window,
            resolveWindow: self.resolve_window,
            revealTimePerSegment: self.reveal_time_per_segment,
            postWindow: self.post_window,
            burnBps: self.burn_bps,
        }
    }
}

/// Bytes of every step proof this build's circuits produce (SHPLONK over BN254, one advice
/// and one fixed column): each checker refuses a proof of another length.
pub const PROOF_BYTES: u64 = 1_376;

/// Number of step kinds (the arbiter's checker table).
pub const KIND_COUNT: usize = 18;
/// Number of rules (the arbiter's program table).
pub const RULE_COUNT: usize = 12;

/// A contract's name, creation code and runtime code.
type Code = (&'static str, &'static Bytes, &'static Bytes);

/// A step kind's verifier: its own generated one, another kind's (the distance family's
/// averaging kinds are proven by FedAvg's circuits), or none (`Clip`, which calls its base
/// kinds' checkers).
#[derive(Clone, Copy)]
enum VerifierCode {
    Own(Code),
    Shared(usize),
    None,
}

/// One step kind's on-chain pieces: its verifier and its checker.
struct KindCode {
    verifier: VerifierCode,
    checker: Code,
}

/// Kind ids of the clipping kinds (Norm, Scale, Clip): every other kind's checker is a base
/// `ClipChecker` wraps.
const CLIPPING_KINDS: std::ops::Range<usize> = 5..8;

macro_rules! code {
    ($name:literal, $module:path) => {{
        use $module as m;
        ($name, &m::BYTECODE, &m::DEPLOYED_BYTECODE)
    }};
}

/// The step kinds this build ships, in kind-id order (step-vm's `StepKind::ALL`).
fn kinds() -> [KindCode; KIND_COUNT] {
    let proven = |verifier: Code, checker: Code| KindCode {
        verifier: VerifierCode::Own(verifier),
        checker,
    };
    // The verifier of kind `kind` (an earlier entry of this table).
    let shared = |kind: usize, checker: Code| KindCode {
        verifier: VerifierCode::Shared(kind),
        checker,
    };
    [
        proven(
            code!("AccumulateVerifier", verifiers::AccumulateVerifier),
            code!("AccumulateChecker", AccumulateChecker),
        ),
        proven(
            code!("FinalizeVerifier", verifiers::FinalizeVerifier),
            code!("FinalizeChecker", FinalizeChecker),
        ),
        proven(
            code!("RankVerifier", verifiers::RankVerifier),
            code!("RankChecker", RankChecker),
        ),
        proven(
            code!("TrimSumVerifier", verifiers::TrimSumVerifier),
            code!("TrimSumChecker", TrimSumChecker),
        ),
        proven(
            code!("TrimEmitVerifier", verifiers::TrimEmitVerifier),
            code!("TrimEmitChecker", TrimEmitChecker),
        ),
        proven(
            code!("NormVerifier", verifiers::NormVerifier),
            code!("NormChecker", NormChecker),
        ),
        proven(
            code!("ScaleVerifier", verifiers::ScaleVerifier),
            code!("ScaleChecker", ScaleChecker),
        ),
        KindCode {
            verifier: VerifierCode::None,
            checker: code!("ClipChecker", ClipChecker),
        },
        proven(
            code!("DistanceVerifier", verifiers::DistanceVerifier),
            code!("DistanceChecker", DistanceChecker),
        ),
        proven(
            code!("ScoreRankVerifier", verifiers::ScoreRankVerifier),
            code!("ScoreRankChecker", ScoreRankChecker),
        ),
        proven(
            code!("ScoreSumVerifier", verifiers::ScoreSumVerifier),
            code!("ScoreSumChecker", ScoreSumChecker),
        ),
        proven(
            code!("PickVerifier", verifiers::PickVerifier),
            code!("PickChecker", PickChecker),
        ),
        // Accumulate's (kind 0) and Finalize's (kind 1) verifiers.
        shared(0, code!("SelectAccumulateChecker", SelectAccumulateChecker)),
        shared(1, code!("SelectFinalizeChecker", SelectFinalizeChecker)),
        // Bulyan's trim: SelectRank calls Rank's verifier (kind 2).
        shared(2, code!("SelectRankChecker", SelectRankChecker)),
        proven(
            code!("CloseRankVerifier", verifiers::CloseRankVerifier),
            code!("CloseRankChecker", CloseRankChecker),
        ),
        proven(
            code!("CloseSumVerifier", verifiers::CloseSumVerifier),
            code!("CloseSumChecker", CloseSumChecker),
        ),
        proven(
            code!("CloseEmitVerifier", verifiers::CloseEmitVerifier),
            code!("CloseEmitChecker", CloseEmitChecker),
        ),
    ]
}

/// How a rule's program contract is constructed.
#[derive(Clone, Copy)]
enum ProgramArgs {
    /// No arguments.
    None,
    /// A clipped rule: over the program of this rule id.
    Base(usize),
    /// The distance family: its rule id.
    Rule(u8),
}

/// The rules' program contracts this build ships, in rule-id order (step-vm's `Rule` ids).
fn programs() -> [(Code, ProgramArgs); RULE_COUNT] {
    let clipped = code!("ClippedProgram", ClippedProgram);
    let selected = code!("SelectedProgram", SelectedProgram);
    [
        (code!("FedAvgProgram", FedAvgProgram), ProgramArgs::None),
        (code!("MedianProgram", MedianProgram), ProgramArgs::None),
        (
            code!("TrimmedMeanProgram", TrimmedMeanProgram),
            ProgramArgs::None,
        ),
        (clipped, ProgramArgs::Base(0)),
        (clipped, ProgramArgs::Base(1)),
        (clipped, ProgramArgs::Base(2)),
        (selected, ProgramArgs::Rule(6)),
        (selected, ProgramArgs::Rule(7)),
        (selected, ProgramArgs::Rule(8)),
        (clipped, ProgramArgs::Base(6)),
        (clipped, ProgramArgs::Base(7)),
        (clipped, ProgramArgs::Base(8)),
    ]
}

/// `keccak(codehash of each step kind's verifier, in kind-id order)` for the verifiers this
/// build ships (zero for a kind without one): what a registry deployed from this build binds
/// into every config hash.
#[must_use]
pub fn expected_verifiers_hash() -> B256 {
    let kinds = kinds();
    let hashes: Vec<B256> = kinds
        .iter()
        .map(|k| match k.verifier {
            VerifierCode::Own(v) => keccak256(v.2),
            VerifierCode::Shared(other) => match kinds[other].verifier {
                VerifierCode::Own(v) => keccak256(v.2),
                VerifierCode::Shared(_) | VerifierCode::None => B256::ZERO,
            },
            VerifierCode::None => B256::ZERO,
        })
        .collect();
    keccak256(hashes.abi_encode_packed())
}

/// Addresses of a deployed system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Addresses {
    /// `RoundRegistry`.
    pub registry: Address,
    /// `BisectionGame`.
    pub game: Address,
    /// `LeafArbiter`.
    pub arbiter: Address,
    /// Each rule's program contract, in rule-id order.
    pub programs: [Address; RULE_COUNT],
    /// Each step kind's checker, in kind-id order.
    pub checkers: [Address; KIND_COUNT],
    /// Each step kind's Halo2 verifier, in kind-id order (zero for `Clip`, which has none).
    pub verifiers: [Address; KIND_COUNT],
    /// Block the deployment was completed in: logs are read from there on.
    pub deployed_block: u64,
}

/// The system deployed on a chain, with one typed method per action.
#[derive(Debug)]
pub struct Deployment<C> {
    chain: Arc<C>,
    addresses: Addresses,
    params: DeployParams,
}

impl<C> Clone for Deployment<C> {
    fn clone(&self) -> Self {
        Self {
            chain: Arc::clone(&self.chain),
            addresses: self.addresses,
            params: self.params,
        }
    }
}

/// Gas of one deployment transaction.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeployGas {
    /// Contract name.
    pub contract: &'static str,
    /// Gas used.
    pub gas: u64,
    /// Runtime bytecode size (bytes).
    pub runtime_bytes: usize,
}

/// An id from an event, which this API handles as `u64`.
fn id_u64(what: &str, id: U256) -> Result<u64> {
    u64::try_from(id).map_err(|_| ChainError::Config(format!("{what} {id} does not fit u64")))
}

fn event<E: SolEvent>(action: &str, receipt: &TxReceipt) -> Result<E> {
    receipt
        .logs
        .iter()
        .find_map(|log| E::decode_log_data(&log.data).ok())
        .ok_or(ChainError::MissingEvent {
            action: action.to_owned(),
            event: E::SIGNATURE,
        })
}

impl<C: Chain> Deployment<C> {
    /// Deploys each step kind's verifier and checker, each rule's program, the registry, the
    /// arbiter (holding the program and checker tables) and the game, and links the registry
    /// to the game. Returns the gas of each deployment.
    ///
    /// # Errors
    /// Any failing deployment (e.g. a contract over the size limit).
    pub async fn deploy(chain: Arc<C>, params: DeployParams) -> Result<(Self, Vec<DeployGas>)> {
        let from = *chain
            .accounts()
            .first()
            .ok_or(ChainError::UnknownAccount(Address::ZERO))?;
        let mut gas = Vec::new();
        let mut deploy = async |contract: &'static str,
                                code: &Bytes,
                                runtime: &Bytes,
                                args: Vec<u8>|
               -> Result<Address> {
            let mut init = code.to_vec();
            init.extend(args);
            let receipt = chain
                .send(
                    &format!("deploy {contract}"),
                    from,
                    None,
                    init.into(),
                    U256::ZERO,
                )
                .await?;
            gas.push(DeployGas {
                contract,
                gas: receipt.gas_used,
                runtime_bytes: runtime.len(),
            });
            receipt.created.ok_or(ChainError::MissingEvent {
                action: format!("deploy {contract}"),
                event: "contract creation",
            })
        };
        let mut verifiers = [Address::ZERO; KIND_COUNT];
        let mut checkers = [Address::ZERO; KIND_COUNT];
        // `Clip` (no verifier) last: its table holds every base kind's checker.
        let kinds = kinds();
        let (wrapping, own): (Vec<_>, Vec<_>) = kinds
            .iter()
            .enumerate()
            .partition(|(_, kind)| matches!(kind.verifier, VerifierCode::None));
        for (k, kind) in own.into_iter().chain(wrapping) {
            let verifier_args = |verifier: Address| {
                (
                    verifier,
                    U256::from(params.verifier_gas_cap),
                    U256::from(PROOF_BYTES),
                )
                    .abi_encode_params()
            };
            let args = match kind.verifier {
                VerifierCode::Own((name, code, runtime)) => {
                    verifiers[k] = deploy(name, code, runtime, Vec::new()).await?;
                    verifier_args(verifiers[k])
                }
                VerifierCode::Shared(other) => {
                    verifiers[k] = verifiers[other];
                    verifier_args(verifiers[k])
                }
                VerifierCode::None => ClipChecker::constructorCall {
                    baseCheckers_: checkers
                        .iter()
                        .enumerate()
                        .map(|(b, &c)| {
                            if CLIPPING_KINDS.contains(&b) {
                                Address::ZERO
                            } else {
                                c
                            }
                        })
                        .collect(),
                }
                .abi_encode(),
            };
            let (name, code, runtime) = kind.checker;
            checkers[k] = deploy(name, code, runtime, args).await?;
        }
        let mut programs = [Address::ZERO; RULE_COUNT];
        for (r, ((name, code, runtime), args)) in self::programs().into_iter().enumerate() {
            let args = match args {
                ProgramArgs::None => Vec::new(),
                ProgramArgs::Base(b) => {
                    ClippedProgram::constructorCall { base_: programs[b] }.abi_encode()
                }
                ProgramArgs::Rule(rule) => {
                    SelectedProgram::constructorCall { rule_: rule }.abi_encode()
                }
            };
            programs[r] = deploy(name, code, runtime, args).await?;
        }
        let registry = deploy(
            "RoundRegistry",
            &RoundRegistry::BYTECODE,
            &RoundRegistry::DEPLOYED_BYTECODE,
            RoundRegistry::constructorCall {
                p: params.registry_params(),
            }
            .abi_encode(),
        )
        .await?;
        let arbiter = deploy(
            "LeafArbiter",
            &LeafArbiter::BYTECODE,
            &LeafArbiter::DEPLOYED_BYTECODE,
            LeafArbiter::constructorCall {
                registry_: registry,
                programs_: programs.to_vec(),
                checkers_: checkers.to_vec(),
            }
            .abi_encode(),
        )
        .await?;
        let game = deploy(
            "BisectionGame",
            &BisectionGame::BYTECODE,
            &BisectionGame::DEPLOYED_BYTECODE,
            BisectionGame::constructorCall {
                registry_: registry,
                arbiter_: arbiter,
                clock_: params.clock,
                extension_: params.extension,
            }
            .abi_encode(),
        )
        .await?;
        let deployed_block = chain.block_number().await?;
        let this = Self {
            chain,
            addresses: Addresses {
                registry,
                game,
                arbiter,
                programs,
                checkers,
                verifiers,
                deployed_block,
            },
            params,
        };
        let receipt = this
            .send(
                "setGame",
                from,
                registry,
                RoundRegistry::setGameCall { game_: game },
                U256::ZERO,
            )
            .await?;
        gas.push(DeployGas {
            contract: "RoundRegistry.setGame",
            gas: receipt.gas_used,
            runtime_bytes: 0,
        });
        Ok((this, gas))
    }

    /// Attaches to an existing deployment.
    #[must_use]
    pub fn attach(chain: Arc<C>, addresses: Addresses, params: DeployParams) -> Self {
        Self {
            chain,
            addresses,
            params,
        }
    }

    /// The chain.
    #[must_use]
    pub fn chain(&self) -> &Arc<C> {
        &self.chain
    }

    /// Contract addresses.
    #[must_use]
    pub fn addresses(&self) -> Addresses {
        self.addresses
    }

    /// Deployment parameters.
    #[must_use]
    pub fn params(&self) -> DeployParams {
        self.params
    }

    async fn send<T: SolCall>(
        &self,
        action: &str,
        from: Address,
        to: Address,
        call: T,
        value: U256,
    ) -> Result<TxReceipt> {
        self.chain
            .send(action, from, Some(to), call.abi_encode().into(), value)
            .await
    }

    async fn view<T: SolCall>(&self, action: &str, to: Address, call: T) -> Result<T::Return> {
        let out = self
            .chain
            .call(action, to, call.abi_encode().into())
            .await?;
        T::abi_decode_returns(&out).map_err(|source| ChainError::Decode {
            what: action.to_owned(),
            source,
        })
    }

    // ------------------------------------------------------------------ registry actions

    fn registry(&self) -> Address {
        self.addresses.registry
    }

    /// Opens a round of `rule` (its on-chain id and ABI-encoded parameters); returns its id.
    ///
    /// # Errors
    /// A revert (bad client list, dimension, rule, ...) or transport failure.
    pub async fn open_round(
        &self,
        from: Address,
        clients: Vec<Address>,
        dim: u32,
        aggregator: Address,
        commit_period: u64,
        rule: (u8, Bytes),
    ) -> Result<(u64, TxReceipt)> {
        let call = RoundRegistry::openRoundCall {
            clients,
            dim,
            aggregator,
            commitPeriod: commit_period,
            rule: rule.0,
            ruleParams: rule.1,
        };
        let receipt = self
            .send("openRound", from, self.registry(), call, U256::ZERO)
            .await?;
        let ev: RoundRegistry::RoundOpened = event("openRound", &receipt)?;
        Ok((id_u64("round id", ev.roundId)?, receipt))
    }

    /// The round's rule parameters, as `openRound` stored them.
    ///
    /// # Errors
    /// An unknown round or transport failure.
    pub async fn rule_params(&self, round: u64) -> Result<Bytes> {
        let call = RoundRegistry::ruleParamsCall {
            roundId: U256::from(round),
        };
        self.view("ruleParams", self.registry(), call).await
    }

    /// A client commits the root of its update and its weight, with the round's deposit.
    ///
    /// # Errors
    /// A revert (not the client, late, twice, weight out of range, ...) or transport failure.
    pub async fn commit_update(
        &self,
        from: Address,
        round: u64,
        client_index: u32,
        root: B256,
        weight: u32,
    ) -> Result<TxReceipt> {
        let dim = self.round(round).await?.dim;
        let deposit = self.deposit_for(dim).await?;
        let call = RoundRegistry::commitUpdateCall {
            roundId: U256::from(round),
            clientIndex: client_index,
            updateRoot: root,
            weight,
        };
        self.send("commitUpdate", from, self.registry(), call, deposit)
            .await
    }

    /// Challenges the availability of a client's update, with the round's availability bond.
    ///
    /// # Errors
    /// A revert (phase over, not committed, already challenged) or transport failure.
    pub async fn challenge_availability(
        &self,
        from: Address,
        round: u64,
        client_index: u32,
    ) -> Result<TxReceipt> {
        let dim = self.round(round).await?.dim;
        let bond = self.availability_bond_for(dim).await?;
        let call = RoundRegistry::challengeAvailabilityCall {
            roundId: U256::from(round),
            clientIndex: client_index,
        };
        self.send("challengeAvailability", from, self.registry(), call, bond)
            .await
    }

    /// Publishes one segment of a challenged update: its values (big-endian `i32`, unpadded)
    /// and the path from its subtree root to the update root.
    ///
    /// # Errors
    /// A revert (not challenged, too late, bad data) or transport failure.
    pub async fn reveal_segment(
        &self,
        from: Address,
        round: u64,
        client_index: u32,
        segment: u32,
        values: Bytes,
        path: Vec<B256>,
    ) -> Result<TxReceipt> {
        let call = RoundRegistry::revealSegmentCall {
            roundId: U256::from(round),
            clientIndex: client_index,
            segment,
            values,
            path,
        };
        self.send("revealSegment", from, self.registry(), call, U256::ZERO)
            .await
    }

    /// Settles an unanswered availability challenge after the phase (excludes the client).
    ///
    /// # Errors
    /// A revert (phase not over, nothing to settle) or transport failure.
    pub async fn settle_availability(
        &self,
        from: Address,
        round: u64,
        client_index: u32,
    ) -> Result<TxReceipt> {
        let call = RoundRegistry::settleAvailabilityCall {
            roundId: U256::from(round),
            clientIndex: client_index,
        };
        self.send(
            "settleAvailability",
            from,
            self.registry(),
            call,
            U256::ZERO,
        )
        .await
    }

    /// Returns a non-excluded client's deposit after the availability phase.
    ///
    /// # Errors
    /// A revert (phase not over, released already, excluded) or transport failure.
    pub async fn release_deposit(
        &self,
        from: Address,
        round: u64,
        client_index: u32,
    ) -> Result<TxReceipt> {
        let call = RoundRegistry::releaseDepositCall {
            roundId: U256::from(round),
            clientIndex: client_index,
        };
        self.send("releaseDeposit", from, self.registry(), call, U256::ZERO)
            .await
    }

    /// The aggregator posts its output root with the bond, naming the config hash of the
    /// inputs it aggregated (the post reverts if the chain's frozen inputs differ).
    ///
    /// # Errors
    /// A revert (`ConfigMismatch`, wrong phase, ...) or transport failure.
    pub async fn post_result(
        &self,
        from: Address,
        round: u64,
        output_root: B256,
        config_hash: B256,
    ) -> Result<TxReceipt> {
        let call = RoundRegistry::postResultCall {
            roundId: U256::from(round),
            outputRoot: output_root,
            expectedConfigHash: config_hash,
        };
        self.send(
            "postResult",
            from,
            self.registry(),
            call,
            self.params.aggregator_bond,
        )
        .await
    }

    /// Ends a round never posted by its deadline.
    ///
    /// # Errors
    /// A revert (deadline not passed, not committing) or transport failure.
    pub async fn expire_round(&self, from: Address, round: u64) -> Result<TxReceipt> {
        let call = RoundRegistry::expireRoundCall {
            roundId: U256::from(round),
        };
        self.send("expireRound", from, self.registry(), call, U256::ZERO)
            .await
    }

    /// A challenger disputes the posted result with its bond; returns the game id.
    ///
    /// # Errors
    /// A revert (window closed, already challenged, ...) or transport failure.
    pub async fn challenge(&self, from: Address, round: u64) -> Result<(u64, TxReceipt)> {
        let call = RoundRegistry::challengeCall {
            roundId: U256::from(round),
        };
        let receipt = self
            .send(
                "challenge",
                from,
                self.registry(),
                call,
                self.params.challenger_bond,
            )
            .await?;
        let ev: RoundRegistry::Challenged = event("challenge", &receipt)?;
        Ok((id_u64("game id", ev.gameId)?, receipt))
    }

    /// Finalises a round after its window with no open game.
    ///
    /// # Errors
    /// A revert or transport failure.
    pub async fn finalize(&self, from: Address, round: u64) -> Result<TxReceipt> {
        let call = RoundRegistry::finalizeCall {
            roundId: U256::from(round),
        };
        self.send("finalize", from, self.registry(), call, U256::ZERO)
            .await
    }

    /// Credits a winning challenger of a settled rejected round its bond and cost share.
    ///
    /// # Errors
    /// A revert (nothing to claim) or transport failure.
    pub async fn claim_game(&self, from: Address, game: u64) -> Result<TxReceipt> {
        let call = RoundRegistry::claimGameCall {
            gameId: U256::from(game),
        };
        self.send("claimGame", from, self.registry(), call, U256::ZERO)
            .await
    }

    /// Withdraws the caller's credited bonds.
    ///
    /// # Errors
    /// A revert (nothing to withdraw) or transport failure.
    pub async fn withdraw(&self, from: Address) -> Result<TxReceipt> {
        self.send(
            "withdraw",
            from,
            self.registry(),
            RoundRegistry::withdrawCall {},
            U256::ZERO,
        )
        .await
    }

    // ------------------------------------------------------------------ registry views

    /// A round's state.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn round(&self, round: u64) -> Result<RoundView> {
        self.view(
            "round",
            self.registry(),
            RoundRegistry::roundCall {
                roundId: U256::from(round),
            },
        )
        .await
    }

    /// A round's client list.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn clients(&self, round: u64) -> Result<Vec<Address>> {
        self.view(
            "clients",
            self.registry(),
            RoundRegistry::clientsCall {
                roundId: U256::from(round),
            },
        )
        .await
    }

    /// A client's commitment `(root, weight)`; zero if it has not committed.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn commitment(&self, round: u64, client_index: u32) -> Result<(B256, u32)> {
        let r = self
            .view(
                "commitment",
                self.registry(),
                RoundRegistry::commitmentCall {
                    roundId: U256::from(round),
                    clientIndex: client_index,
                },
            )
            .await?;
        Ok((r.root, r.weight))
    }

    /// A client's availability challenge and whether the client is (or, once the phase ends,
    /// will be) excluded.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn availability(
        &self,
        round: u64,
        client_index: u32,
    ) -> Result<(Availability, bool)> {
        let r = self
            .view(
                "availability",
                self.registry(),
                RoundRegistry::availabilityCall {
                    roundId: U256::from(round),
                    clientIndex: client_index,
                },
            )
            .await?;
        Ok((r.a, r.excluded))
    }

    /// What `postResult` would fix now: `(configHash, inputRoot, n, W)`.
    ///
    /// # Errors
    /// The round is not committing, or transport failure.
    pub async fn pending_config(&self, round: u64) -> Result<(B256, B256, u32, u64)> {
        let r = self
            .view(
                "pendingConfig",
                self.registry(),
                RoundRegistry::pendingConfigCall {
                    roundId: U256::from(round),
                },
            )
            .await?;
        Ok((r.configHash, r.inputRoot, r.n, r.totalWeight))
    }

    /// The bond record of a game.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn game_record(&self, game: u64) -> Result<GameRecord> {
        self.view(
            "gameRecord",
            self.registry(),
            RoundRegistry::gameRecordCall {
                gameId: U256::from(game),
            },
        )
        .await
    }

    /// What a winning challenger can claim for `game` now (0 if nothing).
    ///
    /// # Errors
    /// Transport failure.
    pub async fn claimable(&self, game: u64) -> Result<U256> {
        self.view(
            "claimable",
            self.registry(),
            RoundRegistry::claimableCall {
                gameId: U256::from(game),
            },
        )
        .await
    }

    /// The client deposit of a round of `dim` values.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn deposit_for(&self, dim: u32) -> Result<U256> {
        self.view(
            "depositFor",
            self.registry(),
            RoundRegistry::depositForCall {
                dim: U256::from(dim),
            },
        )
        .await
    }

    /// The availability bond of a round of `dim` values.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn availability_bond_for(&self, dim: u32) -> Result<U256> {
        self.view(
            "availabilityBondFor",
            self.registry(),
            RoundRegistry::availabilityBondForCall {
                dim: U256::from(dim),
            },
        )
        .await
    }

    /// The step verifiers' binding the registry puts in every config hash.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn verifiers_hash(&self) -> Result<B256> {
        self.view(
            "verifiersHash",
            self.registry(),
            RoundRegistry::verifiersHashCall {},
        )
        .await
    }

    /// Ether burnt by the registry so far.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn burnt(&self) -> Result<U256> {
        self.view("burnt", self.registry(), RoundRegistry::burntCall {})
            .await
    }

    /// Credited (withdrawable) balance of an account.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn credit(&self, account: Address) -> Result<U256> {
        self.view(
            "credit",
            self.registry(),
            RoundRegistry::creditCall { account },
        )
        .await
    }

    /// Number of rounds opened so far (round ids are `1..=round_count`).
    ///
    /// # Errors
    /// Transport failure.
    pub async fn round_count(&self) -> Result<u64> {
        let n = self
            .view(
                "roundCount",
                self.registry(),
                RoundRegistry::roundCountCall {},
            )
            .await?;
        id_u64("round count", n)
    }

    /// Whether `challenger` has opened a game on `round`.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn has_challenged(&self, round: u64, challenger: Address) -> Result<bool> {
        self.view(
            "hasChallenged",
            self.registry(),
            RoundRegistry::hasChallengedCall {
                roundId: U256::from(round),
                challenger,
            },
        )
        .await
    }

    /// Every game opened on `round`, as `(game id, challenger)`, from the `Challenged` logs
    /// (how a defender discovers all its games by itself).
    ///
    /// # Errors
    /// Transport failure.
    pub async fn challenged_games(&self, round: u64) -> Result<Vec<(u64, Address)>> {
        let logs = self
            .chain
            .logs(LogQuery {
                address: self.registry(),
                event: RoundRegistry::Challenged::SIGNATURE_HASH,
                topic1: Some(B256::from(U256::from(round))),
                topic2: None,
                from_block: self.addresses.deployed_block,
            })
            .await?;
        logs.iter()
            .map(|l| {
                let ev =
                    RoundRegistry::Challenged::decode_log_data(&l.log.data).map_err(|source| {
                        ChainError::Decode {
                            what: "Challenged log".into(),
                            source,
                        }
                    })?;
                Ok((id_u64("game id", ev.gameId)?, ev.challenger))
            })
            .collect()
    }

    /// The segments of a client's update revealed on chain, as `(segment, values)`, from the
    /// `SegmentRevealed` logs.
    ///
    /// # Errors
    /// Transport failure, or a log that does not decode.
    pub async fn revealed_segments(
        &self,
        round: u64,
        client_index: u32,
    ) -> Result<Vec<(usize, Vec<u8>)>> {
        let logs = self
            .chain
            .logs(LogQuery {
                address: self.registry(),
                event: RoundRegistry::SegmentRevealed::SIGNATURE_HASH,
                topic1: Some(B256::from(U256::from(round))),
                topic2: Some(B256::from(U256::from(client_index))),
                from_block: self.addresses.deployed_block,
            })
            .await?;
        logs.iter()
            .map(|l| {
                let ev = RoundRegistry::SegmentRevealed::decode_log_data(&l.log.data).map_err(
                    |source| ChainError::Decode {
                        what: "SegmentRevealed log".into(),
                        source,
                    },
                )?;
                Ok((ev.segment as usize, ev.values.to_vec()))
            })
            .collect()
    }

    /// Whether a segment of a client's update has been revealed on chain.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn is_revealed(&self, round: u64, client_index: u32, segment: u32) -> Result<bool> {
        self.view(
            "isRevealed",
            self.registry(),
            RoundRegistry::isRevealedCall {
                roundId: U256::from(round),
                clientIndex: client_index,
                segment,
            },
        )
        .await
    }

    // ------------------------------------------------------------------ game actions

    /// Aggregator: claim `h_mid` at the midpoint of `[lo, hi]` whose claim is `h_hi`.
    ///
    /// # Errors
    /// A revert (stale move, clock expired, ...) or transport failure.
    pub async fn bisect(
        &self,
        from: Address,
        game: u64,
        lo: u64,
        hi: u64,
        h_hi: B256,
        h_mid: B256,
    ) -> Result<TxReceipt> {
        let call = BisectionGame::bisectCall {
            gameId: U256::from(game),
            lo,
            hi,
            hHi: h_hi,
            hMid: h_mid,
        };
        self.send("bisect", from, self.addresses.game, call, U256::ZERO)
            .await
    }

    /// Challenger: agree or disagree with the claim `h_mid` at `mid`.
    ///
    /// # Errors
    /// A revert or transport failure.
    pub async fn respond(
        &self,
        from: Address,
        game: u64,
        mid: u64,
        h_mid: B256,
        agree: bool,
    ) -> Result<TxReceipt> {
        let call = BisectionGame::respondCall {
            gameId: U256::from(game),
            mid,
            hMid: h_mid,
            agree,
        };
        self.send("respond", from, self.addresses.game, call, U256::ZERO)
            .await
    }

    /// Anyone: settle the single disputed step with a leaf proof.
    ///
    /// # Errors
    /// A revert (bad opening, rejected proof, ...) or transport failure.
    pub async fn prove_leaf(&self, from: Address, game: u64, leaf: Bytes) -> Result<TxReceipt> {
        let call = BisectionGame::proveLeafCall {
            gameId: U256::from(game),
            leaf,
        };
        self.send("proveLeaf", from, self.addresses.game, call, U256::ZERO)
            .await
    }

    /// Anyone: end a game whose side to move ran out of time.
    ///
    /// # Errors
    /// A revert (clock not expired) or transport failure.
    pub async fn timeout(&self, from: Address, game: u64) -> Result<TxReceipt> {
        self.send(
            "timeout",
            from,
            self.addresses.game,
            BisectionGame::timeoutCall {
                gameId: U256::from(game),
            },
            U256::ZERO,
        )
        .await
    }

    /// A game's state.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn game(&self, game: u64) -> Result<GameState> {
        self.view(
            "game",
            self.addresses.game,
            BisectionGame::gameCall {
                gameId: U256::from(game),
            },
        )
        .await
    }

    /// Seconds one side has left in a game, as of the latest block.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn remaining_time(&self, game: u64, aggregator_side: bool) -> Result<u64> {
        let call = BisectionGame::remainingTimeCall {
            gameId: U256::from(game),
            aggregatorSide: aggregator_side,
        };
        self.view("remainingTime", self.addresses.game, call).await
    }
}
