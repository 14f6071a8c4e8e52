//! Playing the scenarios on a deployed system.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use aggregator::Aggregator;
use alloy::primitives::{Address, B256, Bytes, U256};
use arbiter::LeafProver;
use challenger::{Challenger, GamePlayer, Turn, Verdict};
use circuits::Srs;
use contracts::{Chain, DeployParams, Deployment, InProcessChain, RpcChain};
use indicatif::{ProgressBar, ProgressStyle};
use step_vm::{Fault, LANES, Update, chunk_count};
use tracing::info;

use crate::report::{Outcome, ScenarioReport, SimReport};
use crate::{ScenarioName, SimArgs, SyntheticClient, generate};

/// Errors of a simulation run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Invalid configuration.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Chain access.
    #[error(transparent)]
    Chain(#[from] contracts::ChainError),
    /// Aggregator failure.
    #[error(transparent)]
    Aggregator(#[from] aggregator::AggregatorError),
    /// Challenger or game failure.
    #[error(transparent)]
    Challenger(#[from] challenger::ChallengerError),
    /// Prover setup failure.
    #[error(transparent)]
    Arbiter(#[from] arbiter::ArbiterError),
    /// Circuit setup failure.
    #[error(transparent)]
    Circuit(#[from] circuits::CircuitError),
    /// Client data failure.
    #[error(transparent)]
    Vm(#[from] step_vm::VmError),
    /// A scenario ended in a way the protocol should make impossible.
    #[error("scenario {scenario}: {message}")]
    Violation {
        /// Scenario.
        scenario: &'static str,
        /// What happened.
        message: String,
    },
}

/// Seconds clients get to commit.
const COMMIT_PERIOD: u64 = 600;
/// Upper bound on game loop iterations (a game needs at most ~2·64 moves plus timeouts).
const MAX_GAME_ROUNDS: usize = 512;

/// Accounts by role.
#[derive(Debug, Clone)]
struct Roles {
    coordinator: Address,
    aggregator: Address,
    challenger: Address,
    clients: Vec<Address>,
}

/// A deployed system with its synthetic clients and proving keys.
pub struct Simulation<C> {
    deployment: Deployment<C>,
    prover: Arc<LeafProver>,
    clients: Vec<SyntheticClient>,
    roles: Roles,
    args: SimArgs,
}

impl<C> std::fmt::Debug for Simulation<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

fn spinner(msg: String, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb.set_message(msg);
    pb
}

/// Runs the simulation the arguments describe, on the chain they select.
///
/// # Errors
/// Invalid arguments, or any failure of setup or of a scenario (including an outcome the
/// protocol should make impossible).
pub async fn run(args: SimArgs) -> Result<SimReport, SimError> {
    args.validate().map_err(SimError::Config)?;
    let started = Instant::now();
    let pb = spinner(
        "generating the step circuits' proving keys".into(),
        args.json,
    );
    let srs = match &args.srs {
        Some(path) => Srs::read(path)?,
        None => Srs::insecure_dev(),
    };
    let prover = Arc::new(LeafProver::setup(&srs)?);
    pb.finish_and_clear();
    let keygen_seconds = started.elapsed().as_secs_f64();
    run_with_prover(args, prover, keygen_seconds).await
}

/// Like [`run`], with proving keys made beforehand (tests share one set across runs).
///
/// # Errors
/// As [`run`].
pub async fn run_with_prover(
    args: SimArgs,
    prover: Arc<LeafProver>,
    keygen_seconds: f64,
) -> Result<SimReport, SimError> {
    args.validate().map_err(SimError::Config)?;
    let accounts = args.clients + 3;
    let insecure = args.srs.is_none();
    if let Some(bin) = &args.chain.anvil {
        let chain = RpcChain::spawn_anvil_with_accounts(bin, accounts)?;
        run_on(Arc::new(chain), args, prover, keygen_seconds, insecure).await
    } else if let Some(url) = &args.chain.rpc_url {
        let chain = RpcChain::connect_mnemonic(
            url,
            &args.chain.mnemonic,
            u32::try_from(accounts).unwrap_or(u32::MAX),
        )?;
        run_on(Arc::new(chain), args, prover, keygen_seconds, insecure).await
    } else {
        run_on(
            Arc::new(InProcessChain::new(accounts)),
            args,
            prover,
            keygen_seconds,
            insecure,
        )
        .await
    }
}

async fn run_on<C: Chain + 'static>(
    chain: Arc<C>,
    args: SimArgs,
    prover: Arc<LeafProver>,
    keygen_seconds: f64,
    insecure_dev_srs: bool,
) -> Result<SimReport, SimError> {
    let (sim, deploy_gas, runtime_bytes) = Simulation::deploy(chain, args, prover).await?;
    let mut scenarios = Vec::new();
    for name in sim.args.scenario_list() {
        scenarios.push(sim.play(name).await?);
    }
    Ok(SimReport {
        chain: sim.deployment.chain().name(),
        clients: sim.args.clients,
        dim: sim.args.dim,
        seed: sim.args.seed,
        insecure_dev_srs,
        keygen_seconds,
        deploy_gas,
        runtime_bytes,
        scenarios,
    })
}

impl<C: Chain + 'static> Simulation<C> {
    async fn deploy(
        chain: Arc<C>,
        args: SimArgs,
        prover: Arc<LeafProver>,
    ) -> Result<(Self, BTreeMap<String, u64>, BTreeMap<String, usize>), SimError> {
        let accounts = chain.accounts().to_vec();
        if accounts.len() < args.clients + 3 {
            return Err(SimError::Config(format!(
                "the chain offers {} accounts, the simulation needs {} (coordinator, aggregator, challenger and one per client)",
                accounts.len(),
                args.clients + 3
            )));
        }
        // On a real node, derived accounts past the node's funded ones start empty.
        let ether = U256::from(10u64).pow(U256::from(18u64));
        for a in &accounts[1..] {
            if chain.balance(*a).await? < ether * U256::from(5u64) {
                chain
                    .send(
                        "fund account",
                        accounts[0],
                        Some(*a),
                        Bytes::new(),
                        ether * U256::from(10u64),
                    )
                    .await?;
            }
        }
        let (deployment, gas) = Deployment::deploy(chain, DeployParams::default()).await?;
        let mut deploy_gas = BTreeMap::new();
        let mut runtime_bytes = BTreeMap::new();
        for g in gas {
            deploy_gas.insert(g.contract.to_owned(), g.gas);
            if g.runtime_bytes > 0 {
                runtime_bytes.insert(g.contract.to_owned(), g.runtime_bytes);
            }
        }
        let roles = Roles {
            coordinator: accounts[0],
            aggregator: accounts[1],
            challenger: accounts[2],
            clients: accounts[3..3 + args.clients].to_vec(),
        };
        let clients = generate(args.seed, args.clients, args.dim)?;
        info!(registry = %deployment.addresses().registry, "contracts deployed");
        let sim = Self {
            deployment,
            prover,
            clients,
            roles,
            args,
        };
        Ok((sim, deploy_gas, runtime_bytes))
    }

    fn steps(&self) -> u64 {
        chunk_count(self.args.dim) as u64 * (self.args.clients as u64 + 1)
    }

    /// The aggregator's fault: at `--corrupt-step` (default: the middle), lane and size from
    /// the seed.
    fn aggregator_fault(&self) -> Fault {
        let step = self.args.corrupt_step.unwrap_or(self.steps() / 2);
        #[allow(clippy::cast_possible_truncation)]
        Fault {
            step,
            lane: (self.args.seed % LANES as u64) as usize,
            delta: 1 + (self.args.seed % 7) as i32,
        }
    }

    /// The lying challenger's fault: a seed-derived step.
    fn challenger_fault(&self) -> Fault {
        let step = self.args.seed.wrapping_mul(7919).wrapping_add(13) % self.steps();
        #[allow(clippy::cast_possible_truncation)]
        Fault {
            step,
            lane: ((self.args.seed / 3) % LANES as u64) as usize,
            delta: -1 - (self.args.seed % 5) as i32,
        }
    }

    /// Opens a round and has every client commit.
    async fn open_round(&self, rep: &mut ScenarioReport) -> Result<u64, SimError> {
        let d = &self.deployment;
        let dim = u32::try_from(self.args.dim)
            .map_err(|_| SimError::Config("--dim does not fit u32".into()))?;
        let (round, r) = d
            .open_round(
                self.roles.coordinator,
                self.roles.clients.clone(),
                dim,
                self.roles.aggregator,
                COMMIT_PERIOD,
            )
            .await?;
        rep.record("openRound", r.gas_used);
        for (i, (client, account)) in self.clients.iter().zip(&self.roles.clients).enumerate() {
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            let r = d
                .commit_update(
                    *account,
                    round,
                    index,
                    B256::from(client.update.root()),
                    client.examples,
                )
                .await?;
            rep.record("commitUpdate", r.gas_used);
        }
        Ok(round)
    }

    fn updates(&self) -> Vec<Update> {
        self.clients.iter().map(|c| c.update.clone()).collect()
    }

    async fn withdraw(
        &self,
        rep: &mut ScenarioReport,
        role: &str,
        account: Address,
        posted: U256,
    ) -> Result<(), SimError> {
        let credit = self.deployment.credit(account).await?;
        if credit > U256::ZERO {
            let r = self.deployment.withdraw(account).await?;
            rep.record("withdraw", r.gas_used);
        }
        let net = if credit >= posted {
            format!("+{}", credit - posted)
        } else {
            format!("-{}", posted - credit)
        };
        rep.bond_net_wei.insert(role.to_owned(), net);
        Ok(())
    }

    async fn finalize_after_window(
        &self,
        rep: &mut ScenarioReport,
        round: u64,
    ) -> Result<(), SimError> {
        let window = self.deployment.params().challenge_window;
        self.deployment.chain().advance_time(window + 1).await?;
        let r = self
            .deployment
            .finalize(self.roles.aggregator, round)
            .await?;
        rep.record("finalize", r.gas_used);
        Ok(())
    }

    /// Plays a game to the end; returns whether the aggregator won.
    async fn play_game(
        &self,
        rep: &mut ScenarioReport,
        aggregator: &GamePlayer<C>,
        challenger: &GamePlayer<C>,
        pb: &ProgressBar,
    ) -> Result<bool, SimError> {
        for _ in 0..MAX_GAME_ROUNDS {
            let mut moved = false;
            for player in [aggregator, challenger] {
                match player.step().await? {
                    Turn::Moved { action, gas, prove } => {
                        rep.record(action, gas);
                        rep.moves += 1;
                        if let Some(t) = prove {
                            rep.prove_seconds += t.as_secs_f64();
                        }
                        pb.set_message(format!("{}: {action}, move {}", rep.name, rep.moves));
                        moved = true;
                    }
                    Turn::Resolved { aggregator_won } => {
                        let v = aggregator.view().await?;
                        rep.disputed_step = (v.hi == v.lo + 1).then_some(v.lo);
                        return Ok(aggregator_won);
                    }
                    Turn::Waiting | Turn::CannotProve { .. } => {}
                }
            }
            if !moved {
                // Neither side can move: the side to move has nothing honest to say, so its
                // clock runs out and the other side claims the game.
                let v = aggregator.view().await?;
                self.deployment
                    .chain()
                    .advance_time(v.mover_time_left + 1)
                    .await?;
            }
        }
        Err(SimError::Violation {
            scenario: "game",
            message: format!("no resolution after {MAX_GAME_ROUNDS} rounds"),
        })
    }

    async fn round_status(&self, round: u64) -> Result<u8, SimError> {
        Ok(self.deployment.round(round).await?.status)
    }

    /// Plays one scenario in a fresh round.
    ///
    /// # Errors
    /// Any failure, or an outcome the protocol should make impossible.
    pub async fn play(&self, name: ScenarioName) -> Result<ScenarioReport, SimError> {
        let started = Instant::now();
        let mut rep = ScenarioReport {
            name: name.as_str().to_owned(),
            outcome: Outcome::Finalized,
            round: 0,
            steps: self.steps(),
            corrupted_step: None,
            disputed_step: None,
            moves: 0,
            gas: BTreeMap::new(),
            prove_seconds: 0.0,
            aggregate_seconds: 0.0,
            wall_seconds: 0.0,
            bond_net_wei: BTreeMap::new(),
        };
        let pb = spinner(format!("{}: opening the round", rep.name), self.args.json);
        let d = &self.deployment;
        let params = d.params();
        let round = self.open_round(&mut rep).await?;
        rep.round = round;
        let violation = |message: String| SimError::Violation {
            scenario: name.as_str(),
            message,
        };

        let aggregator = match name {
            ScenarioName::AggregatorLies => {
                let fault = self.aggregator_fault();
                rep.corrupted_step = Some(fault.step);
                Aggregator::lying(d.clone(), self.roles.aggregator, fault)
            }
            _ => Aggregator::new(d.clone(), self.roles.aggregator),
        };
        let challenger = match name {
            ScenarioName::ChallengerLies => {
                let fault = self.challenger_fault();
                rep.corrupted_step = Some(fault.step);
                Challenger::lying(d.clone(), self.roles.challenger, fault)
            }
            _ => Challenger::new(d.clone(), self.roles.challenger),
        };
        pb.set_message(format!("{}: aggregating and posting", rep.name));
        let posted = aggregator.aggregate_and_post(round, self.updates()).await?;
        rep.record("postResult", posted.receipt.gas_used);
        rep.aggregate_seconds = posted.aggregate_time.as_secs_f64();

        pb.set_message(format!("{}: challenger re-executes", rep.name));
        let (verdict, challenger_trace) = challenger.check(round, self.updates()).await?;
        match (name, &verdict) {
            (ScenarioName::Honest, Verdict::Agree) => {
                self.finalize_after_window(&mut rep, round).await?;
                self.withdraw(
                    &mut rep,
                    "aggregator",
                    self.roles.aggregator,
                    params.aggregator_bond,
                )
                .await?;
                if self.round_status(round).await? != 3 {
                    return Err(violation("the round did not finalise".into()));
                }
                rep.outcome = Outcome::Finalized;
            }
            (ScenarioName::Honest, Verdict::Disagree { posted, computed }) => {
                return Err(violation(format!(
                    "honest parties disagree: posted {posted}, re-executed {computed}"
                )));
            }
            (_, Verdict::Agree) => {
                return Err(violation("the corrupted execution went unnoticed".into()));
            }
            (_, Verdict::Disagree { .. }) => {
                let (game, r) = challenger.challenge(round).await?;
                rep.record("challenge", r.gas_used);
                let agg_player =
                    aggregator.defender(game, Arc::clone(&posted.trace), Arc::clone(&self.prover));
                let ch_player = GamePlayer::new(
                    d.clone(),
                    challenger.account(),
                    arbiter::Role::Challenger,
                    game,
                    challenger_trace,
                    Arc::clone(&self.prover),
                );
                let aggregator_won = self
                    .play_game(&mut rep, &agg_player, &ch_player, &pb)
                    .await?;
                match (name, aggregator_won) {
                    (ScenarioName::AggregatorLies, false) => {
                        if self.round_status(round).await? != 4 {
                            return Err(violation("the disproven round was not rejected".into()));
                        }
                        self.withdraw(
                            &mut rep,
                            "challenger",
                            self.roles.challenger,
                            params.challenger_bond,
                        )
                        .await?;
                        rep.bond_net_wei
                            .insert("aggregator".into(), format!("-{}", params.aggregator_bond));
                        rep.outcome = Outcome::AggregatorSlashed;
                    }
                    (ScenarioName::ChallengerLies, true) => {
                        self.finalize_after_window(&mut rep, round).await?;
                        if self.round_status(round).await? != 3 {
                            return Err(violation("the defended round did not finalise".into()));
                        }
                        self.withdraw(
                            &mut rep,
                            "aggregator",
                            self.roles.aggregator,
                            params.aggregator_bond,
                        )
                        .await?;
                        rep.bond_net_wei
                            .insert("challenger".into(), format!("-{}", params.challenger_bond));
                        rep.outcome = Outcome::ChallengerSlashed;
                    }
                    (_, won) => {
                        return Err(violation(format!(
                            "the dishonest side won the game (aggregator won: {won})"
                        )));
                    }
                }
            }
        }
        pb.finish_and_clear();
        rep.wall_seconds = started.elapsed().as_secs_f64();
        info!(
            scenario = rep.name,
            outcome = rep.outcome.as_str(),
            moves = rep.moves,
            "scenario done"
        );
        Ok(rep)
    }
}
