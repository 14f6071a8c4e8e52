//! The typed contract API, written once over any [`Chain`]: deploy the system, and one method
//! per on-chain action, each returning its receipt (for gas reports) and decoded ids.

use std::sync::Arc;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::{SolCall, SolConstructor, SolEvent};

use crate::bindings::{
    arbiter::LeafArbiter, game::BisectionGame, registry::RoundRegistry, verifiers,
};
use crate::{Chain, ChainError, Result, TxReceipt};

pub use crate::bindings::game::BisectionGame::GameView as GameState;
pub use crate::bindings::game::ILeafArbiter::LeafInput;
pub use crate::bindings::registry::RoundRegistry::RoundView;

/// Parameters of a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeployParams {
    /// Bond the aggregator posts with a result (wei).
    pub aggregator_bond: U256,
    /// Bond a challenger posts to open a game (wei).
    pub challenger_bond: U256,
    /// Seconds after posting during which a result can be challenged.
    pub challenge_window: u64,
    /// Chess-clock budget per side and game (seconds).
    pub clock: u64,
    /// Minimum time a side gets to answer after the opponent moves (seconds).
    pub extension: u64,
    /// Gas forwarded to a step verifier (an invalid curve point burns all of it).
    pub verifier_gas_cap: u64,
}

impl Default for DeployParams {
    fn default() -> Self {
        let ether = U256::from(10u64).pow(U256::from(18u64));
        Self {
            aggregator_bond: ether,
            challenger_bond: ether / U256::from(4u64),
            challenge_window: 3_600,
            clock: 1_800,
            extension: 300,
            verifier_gas_cap: 500_000,
        }
    }
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
    /// `AccumulateVerifier`.
    pub accumulate_verifier: Address,
    /// `FinalizeVerifier`.
    pub finalize_verifier: Address,
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
    /// Deploys both verifiers, the registry, the arbiter and the game, and links the registry
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
        let accumulate_verifier = deploy(
            "AccumulateVerifier",
            &verifiers::AccumulateVerifier::BYTECODE,
            &verifiers::AccumulateVerifier::DEPLOYED_BYTECODE,
            Vec::new(),
        )
        .await?;
        let finalize_verifier = deploy(
            "FinalizeVerifier",
            &verifiers::FinalizeVerifier::BYTECODE,
            &verifiers::FinalizeVerifier::DEPLOYED_BYTECODE,
            Vec::new(),
        )
        .await?;
        let registry = deploy(
            "RoundRegistry",
            &RoundRegistry::BYTECODE,
            &RoundRegistry::DEPLOYED_BYTECODE,
            RoundRegistry::constructorCall {
                aggregatorBond_: params.aggregator_bond,
                challengerBond_: params.challenger_bond,
                challengeWindow_: params.challenge_window,
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
                accumulateVerifier_: accumulate_verifier,
                finalizeVerifier_: finalize_verifier,
                verifierGasCap_: U256::from(params.verifier_gas_cap),
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
        let this = Self {
            chain,
            addresses: Addresses {
                registry,
                game,
                arbiter,
                accumulate_verifier,
                finalize_verifier,
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

    /// Opens a round; returns its id.
    ///
    /// # Errors
    /// A revert (bad client list, dimension, ...) or transport failure.
    pub async fn open_round(
        &self,
        from: Address,
        clients: Vec<Address>,
        dim: u32,
        aggregator: Address,
        commit_period: u64,
    ) -> Result<(u64, TxReceipt)> {
        let call = RoundRegistry::openRoundCall {
            clients,
            dim,
            aggregator,
            commitPeriod: commit_period,
        };
        let receipt = self
            .send("openRound", from, self.addresses.registry, call, U256::ZERO)
            .await?;
        let ev: RoundRegistry::RoundOpened = event("openRound", &receipt)?;
        Ok((ev.roundId.saturating_to(), receipt))
    }

    /// A client commits the root of its update and its weight.
    ///
    /// # Errors
    /// A revert (not the client, late, twice, ...) or transport failure.
    pub async fn commit_update(
        &self,
        from: Address,
        round: u64,
        client_index: u32,
        root: B256,
        weight: u32,
    ) -> Result<TxReceipt> {
        let call = RoundRegistry::commitUpdateCall {
            roundId: U256::from(round),
            clientIndex: client_index,
            updateRoot: root,
            weight,
        };
        self.send(
            "commitUpdate",
            from,
            self.addresses.registry,
            call,
            U256::ZERO,
        )
        .await
    }

    /// The aggregator posts its output root with the bond.
    ///
    /// # Errors
    /// A revert or transport failure.
    pub async fn post_result(
        &self,
        from: Address,
        round: u64,
        output_root: B256,
    ) -> Result<TxReceipt> {
        let call = RoundRegistry::postResultCall {
            roundId: U256::from(round),
            outputRoot: output_root,
        };
        self.send(
            "postResult",
            from,
            self.addresses.registry,
            call,
            self.params.aggregator_bond,
        )
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
                self.addresses.registry,
                call,
                self.params.challenger_bond,
            )
            .await?;
        let ev: RoundRegistry::Challenged = event("challenge", &receipt)?;
        Ok((ev.gameId.saturating_to(), receipt))
    }

    /// Finalises a round after its window with no open game.
    ///
    /// # Errors
    /// A revert or transport failure.
    pub async fn finalize(&self, from: Address, round: u64) -> Result<TxReceipt> {
        let call = RoundRegistry::finalizeCall {
            roundId: U256::from(round),
        };
        self.send("finalize", from, self.addresses.registry, call, U256::ZERO)
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
            self.addresses.registry,
            RoundRegistry::withdrawCall {},
            U256::ZERO,
        )
        .await
    }

    /// A round's state.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn round(&self, round: u64) -> Result<RoundView> {
        self.view(
            "round",
            self.addresses.registry,
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
            self.addresses.registry,
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
                self.addresses.registry,
                RoundRegistry::commitmentCall {
                    roundId: U256::from(round),
                    clientIndex: client_index,
                },
            )
            .await?;
        Ok((r.root, r.weight))
    }

    /// Credited (withdrawable) balance of an account.
    ///
    /// # Errors
    /// Transport failure.
    pub async fn credit(&self, account: Address) -> Result<U256> {
        self.view(
            "credit",
            self.addresses.registry,
            RoundRegistry::creditCall { account },
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
    pub async fn prove_leaf(&self, from: Address, game: u64, leaf: LeafInput) -> Result<TxReceipt> {
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
