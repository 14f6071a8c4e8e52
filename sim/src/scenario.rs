//! Playing the scenarios on a deployed system.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use aggregator::{Aggregator, AggregatorError, Posted, RoundDefence};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::SolInterface;
use arbiter::{LeafProver, Role};
use challenger::{Challenger, Verdict};
use circuits::Srs;
use contracts::registry::RoundRegistry::RoundRegistryErrors;
use contracts::{Chain, DeployParams, Deployment, InProcessChain, RpcChain, TxReceipt};
use indicatif::{ProgressBar, ProgressStyle};
use protocol::{
    GamePlayer, MemoryBoard, RoundStatus, Turn, answer_challenges, challenge_unavailable,
    settle_unanswered,
};
use step_vm::{Cell, Fault, LANES, Trace, Update};
use tracing::info;

use crate::report::{Outcome, ScenarioReport, SimReport, signed};
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
    /// Challenger failure.
    #[error(transparent)]
    Challenger(#[from] challenger::ChallengerError),
    /// Reading a round, data availability or game failure.
    #[error(transparent)]
    Protocol(#[from] protocol::ProtocolError),
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
/// Chain time one round of game moves takes (one block).
const BLOCK_SECONDS: u64 = 12;
/// Lying challengers of the many-challengers scenario.
const LIARS: usize = 8;
/// Accounts besides the clients: coordinator, aggregator, its sybil, challenger, liars.
const ROLE_ACCOUNTS: usize = 4 + LIARS;

/// Accounts by role.
#[derive(Debug, Clone)]
struct Roles {
    coordinator: Address,
    aggregator: Address,
    sybil: Address,
    challenger: Address,
    liars: Vec<Address>,
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

/// A client's index in the round's client list.
// The simulation's one error type is large; this rare conversion is not worth boxing it for.
#[allow(clippy::result_large_err)]
fn client_index(i: usize) -> Result<u32, SimError> {
    u32::try_from(i).map_err(|_| SimError::Config(format!("client {i} does not fit u32")))
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
    let accounts = args.clients + ROLE_ACCOUNTS;
    let insecure = args.srs.is_none();
    if let Some(bin) = &args.chain.anvil {
        let chain = RpcChain::spawn_anvil_with_accounts(bin, accounts)?;
        run_on(Arc::new(chain), args, prover, keygen_seconds, insecure).await
    } else if let Some(url) = &args.chain.rpc_url {
        let chain = RpcChain::connect_mnemonic(
            url,
            &args.chain.mnemonic,
            u32::try_from(accounts)
                .map_err(|_| SimError::Config(format!("{accounts} accounts do not fit u32")))?,
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
        rule: sim.args.rule().to_string(),
        seed: sim.args.seed,
        insecure_dev_srs,
        keygen_seconds,
        deploy_gas,
        runtime_bytes,
        scenarios,
    })
}

/// Where a client's update goes after it commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Publish {
    /// To the public board and to the aggregator (honest).
    Everywhere,
    /// To the aggregator only: watchers cannot fetch it off chain.
    AggregatorOnly,
    /// Nowhere (withheld).
    Nowhere,
}

/// One scenario in progress: its round, the off-chain boards, the report and the balances
/// every role started with.
struct Run<'a, C> {
    sim: &'a Simulation<C>,
    name: ScenarioName,
    rep: ScenarioReport,
    round: u64,
    /// What watchers can fetch off chain.
    board: MemoryBoard,
    /// What the aggregator received from its clients.
    uploads: MemoryBoard,
    started_balances: BTreeMap<&'static str, U256>,
    fees: BTreeMap<&'static str, U256>,
    burnt_before: U256,
    pb: ProgressBar,
}

impl<C: Chain + 'static> Simulation<C> {
    async fn deploy(
        chain: Arc<C>,
        args: SimArgs,
        prover: Arc<LeafProver>,
    ) -> Result<(Self, BTreeMap<String, u64>, BTreeMap<String, usize>), SimError> {
        let accounts = chain.accounts().to_vec();
        let needed = args.clients + ROLE_ACCOUNTS;
        if accounts.len() < needed {
            return Err(SimError::Config(format!(
                "the chain offers {} accounts, the simulation needs {needed} (coordinator, aggregator, its sybil, challenger, {LIARS} lying challengers and one per client)",
                accounts.len(),
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
            sybil: accounts[2],
            challenger: accounts[3],
            liars: accounts[4..4 + LIARS].to_vec(),
            clients: accounts[ROLE_ACCOUNTS..needed].to_vec(),
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

    fn steps(&self, participants: usize) -> u64 {
        self.args.rule().steps(participants, self.args.dim)
    }

    /// The aggregator's fault at `step`, moving an output lane (from the seed) by 1 to 7
    /// units.
    fn aggregator_fault(&self, step: u64) -> Fault {
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        Fault::output(
            step,
            (self.args.seed % LANES as u64) as usize,
            1 + (self.args.seed % 7) as i64,
        )
    }

    /// Lying challenger `k`'s fault at `step`.
    fn challenger_fault(&self, k: u64, step: u64) -> Fault {
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        Fault::output(
            step,
            ((self.args.seed / 3 + k) % LANES as u64) as usize,
            -1 - ((self.args.seed + k) % 5) as i64,
        )
    }

    /// Lying challenger `k`'s first candidate step: seed-derived, distinct per liar.
    fn challenger_step(&self, k: u64) -> u64 {
        self.args
            .seed
            .wrapping_mul(7919)
            .wrapping_add(13 + k * 104_729)
            % self.steps(self.args.clients)
    }

    fn role_accounts(&self) -> Vec<(&'static str, Vec<Address>)> {
        let r = &self.roles;
        let mut out = vec![
            ("aggregator", vec![r.aggregator]),
            ("sybil", vec![r.sybil]),
            ("challenger", vec![r.challenger]),
            ("clients", r.clients.clone()),
        ];
        out.push(("liars", r.liars.clone()));
        out
    }

    fn role_of(&self, account: Address) -> &'static str {
        self.role_accounts()
            .into_iter()
            .find(|(_, accts)| accts.contains(&account))
            .map_or("coordinator", |(role, _)| role)
    }

    async fn balances(&self) -> Result<BTreeMap<&'static str, U256>, SimError> {
        let mut out = BTreeMap::new();
        for (role, accounts) in self.role_accounts() {
            let mut sum = U256::ZERO;
            for a in accounts {
                sum += self.deployment.chain().balance(a).await?;
            }
            out.insert(role, sum);
        }
        Ok(out)
    }

    /// Plays one scenario in a fresh round.
    ///
    /// # Errors
    /// Any failure, or an outcome the protocol should make impossible.
    pub async fn play(&self, name: ScenarioName) -> Result<ScenarioReport, SimError> {
        let started = Instant::now();
        let mut run = Run {
            sim: self,
            name,
            rep: ScenarioReport {
                name: name.as_str().to_owned(),
                outcome: Outcome::Finalized,
                round: 0,
                steps: 0,
                corrupted_step: None,
                disputed_step: None,
                moves: 0,
                gas: BTreeMap::new(),
                prove_seconds: 0.0,
                aggregate_seconds: 0.0,
                wall_seconds: 0.0,
                participants: 0,
                excluded_clients: Vec::new(),
                games: 0,
                stale_posts: 0,
                refused_reveals: 0,
                game_rounds: 0,
                finality_seconds: None,
                burnt_wei: "0".into(),
                bond_net_wei: BTreeMap::new(),
                fees_wei: BTreeMap::new(),
                net_wei: BTreeMap::new(),
            },
            round: 0,
            board: MemoryBoard::new(),
            uploads: MemoryBoard::new(),
            started_balances: self.balances().await?,
            fees: BTreeMap::new(),
            burnt_before: self.deployment.burnt().await?,
            pb: spinner(
                format!("{}: opening the round", name.as_str()),
                self.args.json,
            ),
        };
        match name {
            ScenarioName::Honest => run.honest().await?,
            ScenarioName::AggregatorLies => run.aggregator_lies().await?,
            ScenarioName::ChallengerLies => run.lying_challengers(1).await?,
            ScenarioName::ManyChallengers => run.lying_challengers(LIARS).await?,
            ScenarioName::WithheldUpdate => run.unavailable(Publish::Nowhere, false).await?,
            ScenarioName::UnprovableRoot => run.unavailable(Publish::Nowhere, true).await?,
            ScenarioName::RevealedUpdate => run.revealed().await?,
            ScenarioName::WeightOverflow => run.weight_overflow().await?,
            ScenarioName::RacingCommit => run.racing_commit().await?,
            ScenarioName::SelfChallenge => run.sybil(false).await?,
            ScenarioName::CopiedLeaf => run.sybil(true).await?,
            ScenarioName::UnpostedRound => run.unposted().await?,
        }
        run.finish().await?;
        run.pb.finish_and_clear();
        run.rep.wall_seconds = started.elapsed().as_secs_f64();
        info!(
            scenario = run.rep.name,
            outcome = run.rep.outcome.as_str(),
            moves = run.rep.moves,
            "scenario done"
        );
        Ok(run.rep)
    }
}

impl<C: Chain + 'static> Run<'_, C> {
    fn d(&self) -> &Deployment<C> {
        &self.sim.deployment
    }

    fn violation(&self, message: String) -> SimError {
        SimError::Violation {
            scenario: self.name.as_str(),
            message,
        }
    }

    /// Books a transaction: its gas under `action`, its fee under the sender's role.
    fn tx(&mut self, from: Address, action: &str, receipt: &TxReceipt) {
        self.rep.record(action, receipt.gas_used);
        let role = self.sim.role_of(from);
        *self.fees.entry(role).or_default() += receipt.fee();
    }

    fn status(&self, message: &str) {
        self.pb
            .set_message(format!("{}: {message}", self.name.as_str()));
    }

    // -------------------------------------------------------------- phases

    /// Opens the round (clients commit separately).
    async fn open(&mut self) -> Result<(), SimError> {
        let dim = u32::try_from(self.sim.args.dim)
            .map_err(|_| SimError::Config("--dim does not fit u32".into()))?;
        let rule = self.sim.args.rule();
        let (round, r) = self
            .d()
            .open_round(
                self.sim.roles.coordinator,
                self.sim.roles.clients.clone(),
                dim,
                self.sim.roles.aggregator,
                COMMIT_PERIOD,
                (rule.id(), rule.params().into()),
            )
            .await?;
        self.tx(self.sim.roles.coordinator, "openRound", &r);
        self.round = round;
        self.rep.round = round;
        Ok(())
    }

    /// Client `i` commits its update and publishes it as `publish` says.
    async fn commit(&mut self, i: usize, publish: Publish) -> Result<(), SimError> {
        let client = &self.sim.clients[i];
        let account = self.sim.roles.clients[i];
        let index = client_index(i)?;
        let r = self
            .d()
            .commit_update(
                account,
                self.round,
                index,
                B256::from(client.update.root()),
                client.examples,
            )
            .await?;
        self.tx(account, "commitUpdate", &r);
        if publish == Publish::Everywhere {
            self.board.publish(self.round, index, client.update.clone());
        }
        if publish != Publish::Nowhere {
            self.uploads
                .publish(self.round, index, client.update.clone());
        }
        Ok(())
    }

    /// Opens the round and has every client commit and publish everywhere, but client 0,
    /// which publishes as `first` says.
    async fn open_and_commit(&mut self, first: Publish) -> Result<(), SimError> {
        self.open().await?;
        for i in 0..self.sim.clients.len() {
            self.commit(i, if i == 0 { first } else { Publish::Everywhere })
                .await?;
        }
        Ok(())
    }

    /// The availability phase: the challenger challenges what it cannot fetch, the aggregator
    /// reveals what it holds, the clock moves to the post phase, unanswered challenges are
    /// settled and the remaining clients take their deposits back.
    async fn availability(&mut self) -> Result<(), SimError> {
        self.availability_challenges().await?;
        self.availability_close().await?;
        self.release_deposits().await
    }

    /// The challenger challenges what it cannot fetch; the aggregator and the challenger reveal
    /// what they hold.
    async fn availability_challenges(&mut self) -> Result<(), SimError> {
        self.status("availability phase");
        let ch = self.sim.roles.challenger;
        for (_, r) in challenge_unavailable(self.d(), ch, &self.board, self.round).await? {
            self.tx(ch, "challengeAvailability", &r);
        }
        let agg = Aggregator::new(self.d().clone(), self.sim.roles.aggregator);
        for r in agg.answer_availability(self.round, &self.uploads).await? {
            self.tx(self.sim.roles.aggregator, "revealSegment", &r);
        }
        // A watcher answers challenges on data it holds too, so an honest client is not
        // excluded by a challenge its aggregator leaves unanswered.
        for r in answer_challenges(self.d(), ch, &self.board, self.round).await? {
            self.tx(ch, "revealSegment", &r);
        }
        Ok(())
    }

    /// The clock moves to the post phase and unanswered challenges are settled.
    async fn availability_close(&mut self) -> Result<(), SimError> {
        let ch = self.sim.roles.challenger;
        let view = self.d().round(self.round).await?;
        let now = self.d().chain().timestamp().await?;
        if now < view.postOpensAt {
            self.d()
                .chain()
                .advance_time(view.postOpensAt - now)
                .await?;
        }
        for (index, r) in settle_unanswered(self.d(), ch, self.round).await? {
            self.tx(ch, "settleAvailability", &r);
            self.rep.excluded_clients.push(index);
        }
        Ok(())
    }

    /// Every committed client whose update stayed in takes its deposit back.
    async fn release_deposits(&mut self) -> Result<(), SimError> {
        for (i, account) in self.sim.roles.clients.clone().into_iter().enumerate() {
            let index = client_index(i)?;
            let (root, _) = self.d().commitment(self.round, index).await?;
            let (_, excluded) = self.d().availability(self.round, index).await?;
            if root != B256::ZERO && !excluded {
                let r = self.d().release_deposit(account, self.round, index).await?;
                self.tx(account, "releaseDeposit", &r);
            }
        }
        Ok(())
    }

    /// The aggregator aggregates over the frozen inputs and posts.
    async fn post(&mut self, aggregator: &Aggregator<C>) -> Result<Posted, SimError> {
        self.status("aggregating and posting");
        let posted = aggregator
            .aggregate_and_post(self.round, &self.uploads)
            .await?;
        self.tx(aggregator.account(), "postResult", &posted.receipt);
        self.rep.aggregate_seconds = posted.aggregate_time.as_secs_f64();
        let ctx = posted.trace.context();
        self.rep.participants = ctx.participants().len();
        self.rep.steps = ctx.steps();
        Ok(posted)
    }

    async fn check(
        &mut self,
        challenger: &Challenger<C>,
    ) -> Result<(Verdict, Arc<Trace>), SimError> {
        self.status("challenger re-executes");
        Ok(challenger.check(self.round, &self.board).await?)
    }

    async fn challenge(&mut self, challenger: &Challenger<C>) -> Result<u64, SimError> {
        let (game, r) = challenger.challenge(self.round).await?;
        self.tx(challenger.account(), "challenge", &r);
        self.rep.games += 1;
        Ok(game)
    }

    fn player(&self, account: Address, role: Role, game: u64, trace: Arc<Trace>) -> GamePlayer<C> {
        GamePlayer::new(
            self.d().clone(),
            account,
            role,
            game,
            trace,
            Arc::clone(&self.sim.prover),
        )
    }

    /// Books a game move; returns whether it was one.
    fn book_turn(&mut self, account: Address, turn: &Turn) -> bool {
        let Turn::Moved {
            action,
            gas,
            fee,
            prove,
        } = turn
        else {
            return false;
        };
        self.rep.record(action, *gas);
        *self.fees.entry(self.sim.role_of(account)).or_default() += *fee;
        self.rep.moves += 1;
        if let Some(t) = prove {
            self.rep.prove_seconds += t.as_secs_f64();
        }
        self.status(&format!("{action}, move {}", self.rep.moves));
        true
    }

    /// Plays every game to the end: the aggregator's defence (if any) moves in all its games
    /// concurrently, each challenger-side player in its own. Each round of moves takes one
    /// block (`BLOCK_SECONDS` of chain time), so clocks and finality see real time pass. When
    /// nobody can move, the clock advances past the shortest clock of a side to move, so the
    /// other side can claim.
    async fn play(
        &mut self,
        defence: Option<&mut RoundDefence<C>>,
        players: &[(Address, GamePlayer<C>)],
    ) -> Result<(), SimError> {
        let refs: Vec<&(Address, GamePlayer<C>)> = players.iter().collect();
        self.play_with(defence, &refs).await
    }

    /// [`Self::play`] over players held in different places.
    async fn play_with(
        &mut self,
        mut defence: Option<&mut RoundDefence<C>>,
        players: &[&(Address, GamePlayer<C>)],
    ) -> Result<(), SimError> {
        for _ in 0..MAX_GAME_ROUNDS {
            self.rep.game_rounds += 1;
            let mut moved = false;
            if let Some(def) = defence.as_deref_mut() {
                let mut failed = None;
                for (game, turn) in def.step().await {
                    match turn {
                        Ok(turn) => moved |= self.book_turn(self.sim.roles.aggregator, &turn),
                        Err(e) => failed = failed.or(Some((game, e))),
                    }
                }
                if let Some((game, e)) = failed {
                    return Err(
                        self.violation(format!("the aggregator's move in game {game} failed: {e}"))
                    );
                }
            }
            let mut open = Vec::new();
            for (account, player) in players.iter().copied() {
                let turn = player.step().await?;
                moved |= self.book_turn(*account, &turn);
                if !matches!(turn, Turn::Resolved { .. }) {
                    open.push(player);
                }
            }
            let defence_done = defence.as_deref().is_none_or(RoundDefence::all_resolved);
            if open.is_empty() && defence_done {
                return Ok(());
            }
            if moved {
                self.d().chain().advance_time(BLOCK_SECONDS).await?;
            } else {
                let mut wait = u64::MAX;
                for p in &open {
                    wait = wait.min(p.view().await?.mover_time_left);
                }
                if wait == u64::MAX {
                    wait = self.d().params().clock;
                }
                self.d().chain().advance_time(wait + 1).await?;
            }
        }
        Err(self.violation(format!("no resolution after {MAX_GAME_ROUNDS} rounds")))
    }

    async fn finalize_after_window(&mut self) -> Result<(), SimError> {
        let view = self.d().round(self.round).await?;
        let closes = view.postedAt + self.d().params().challenge_window;
        let now = self.d().chain().timestamp().await?;
        if now <= closes {
            self.d().chain().advance_time(closes - now + 1).await?;
        }
        let r = self
            .d()
            .finalize(self.sim.roles.aggregator, self.round)
            .await?;
        self.tx(self.sim.roles.aggregator, "finalize", &r);
        self.record_finality().await?;
        self.expect_status(RoundStatus::Finalized, "the round did not finalise")
            .await
    }

    /// Chain time from the post until now, when the round reached its final status.
    async fn record_finality(&mut self) -> Result<(), SimError> {
        let posted = self.d().round(self.round).await?.postedAt;
        let now = self.d().chain().timestamp().await?;
        self.rep.finality_seconds = Some(now.saturating_sub(posted));
        Ok(())
    }

    async fn expect_status(&self, want: RoundStatus, message: &str) -> Result<(), SimError> {
        let got = RoundStatus::of(self.round, &self.d().round(self.round).await?)?;
        if got == want {
            Ok(())
        } else {
            Err(self.violation(format!("{message} (status {got:?})")))
        }
    }

    /// Winning challengers claim their payouts, then every role withdraws its credit; the
    /// report gets each role's bond flow, fees and net balance change.
    async fn finish(&mut self) -> Result<(), SimError> {
        for (game, challenger) in self.d().challenged_games(self.round).await? {
            if !self.d().claimable(game).await?.is_zero() {
                let r = self.d().claim_game(challenger, game).await?;
                self.tx(challenger, "claimGame", &r);
            }
        }
        for (_, accounts) in self.sim.role_accounts() {
            for a in accounts {
                if !self.d().credit(a).await?.is_zero() {
                    let r = self.d().withdraw(a).await?;
                    self.tx(a, "withdraw", &r);
                }
            }
        }
        let now = self.sim.balances().await?;
        for (role, before) in &self.started_balances {
            let after = now.get(role).copied().unwrap_or_default();
            let fee = self.fees.get(role).copied().unwrap_or_default();
            if after == *before && fee.is_zero() {
                continue;
            }
            self.rep
                .net_wei
                .insert((*role).to_owned(), signed(after, *before));
            self.rep
                .bond_net_wei
                .insert((*role).to_owned(), signed(after + fee, *before));
            self.rep
                .fees_wei
                .insert((*role).to_owned(), fee.to_string());
        }
        let burnt = self.d().burnt().await? - self.burnt_before;
        self.rep.burnt_wei = burnt.to_string();
        Ok(())
    }

    // -------------------------------------------------------------- scenarios

    async fn honest(&mut self) -> Result<(), SimError> {
        self.open_and_commit(Publish::Everywhere).await?;
        self.availability().await?;
        let agg = Aggregator::new(self.d().clone(), self.sim.roles.aggregator);
        self.post(&agg).await?;
        self.agree_and_finalize().await
    }

    /// The challenger re-executes and agrees; the round finalises.
    async fn agree_and_finalize(&mut self) -> Result<(), SimError> {
        let ch = Challenger::new(self.d().clone(), self.sim.roles.challenger);
        match self.check(&ch).await?.0 {
            Verdict::Agree => {}
            Verdict::Disagree { posted, computed } => {
                return Err(self.violation(format!(
                    "honest parties disagree: posted {posted}, re-executed {computed}"
                )));
            }
        }
        self.finalize_after_window().await?;
        self.rep.outcome = Outcome::Finalized;
        Ok(())
    }

    /// An honest commit and availability phase, then a post by an aggregator that corrupts
    /// one step.
    async fn lying_post(&mut self) -> Result<(Aggregator<C>, Posted), SimError> {
        self.open_and_commit(Publish::Everywhere).await?;
        self.availability().await?;
        let fault = match (self.sim.args.corrupt_step, self.sim.args.corrupt_kind) {
            (Some(step), _) => self.sim.aggregator_fault(step),
            (None, kind) => self.visible_aggregator_fault(kind).await?,
        };
        self.rep.corrupted_step = Some(fault.step);
        let agg = Aggregator::lying(self.d().clone(), self.sim.roles.aggregator, Arc::new(fault));
        let posted = self.post(&agg).await?;
        Ok((agg, posted))
    }

    /// The aggregator's fault at the first step from the middle of the program (or, given a
    /// kind, the first step running that kind) whose corruption changes the result (some
    /// corruptions heal: an order statistic's radix search recovers from an early prefix below
    /// the true value, a distance moved without changing Krum's pick; lies the final result
    /// never shows). A step of the distance family's wide values is tried on each of its 8
    /// lanes (participants), the seed's first: a liar picks the participant whose score or
    /// distance changes the selection.
    async fn visible_aggregator_fault(
        &mut self,
        kind: Option<step_vm::StepKind>,
    ) -> Result<Fault, SimError> {
        let honest = Aggregator::new(self.d().clone(), self.sim.roles.aggregator)
            .prepare(self.round, &self.uploads)
            .await?;
        let steps = honest.trace.steps();
        let root = honest.trace.output_root();
        let ctx = honest.trace.context().clone();
        let updates: Vec<Update> = (0..ctx.participants().len())
            .map(|i| honest.trace.input(i).clone())
            .collect();
        for attempt in 0..steps {
            let step = match kind {
                Some(_) => attempt,
                None => (steps / 2 + attempt) % steps,
            };
            // A `Clip` step runs (and is named by) the base kind it wraps.
            let at = ctx.program().inner_kind(ctx.shape(), step);
            if kind.is_some_and(|kind| at != kind) {
                continue;
            }
            let wide = matches!(
                at,
                step_vm::StepKind::Distance
                    | step_vm::StepKind::ScoreRank
                    | step_vm::StepKind::ScoreSum
                    | step_vm::StepKind::Pick
            );
            let seed_fault = self.sim.aggregator_fault(step);
            let lanes = if wide { step_vm::SCORE_LANES } else { 1 };
            for shift in 0..lanes {
                let mut fault = seed_fault;
                if let Cell::Output { lane } = seed_fault.cell {
                    fault.cell = Cell::Output {
                        lane: (lane + shift) % LANES,
                    };
                }
                let liar = Trace::execute_with(ctx.clone(), updates.clone(), Arc::new(fault))
                    .map_err(|e| self.violation(format!("the liar's execution: {e}")))?;
                if liar.output_root() != root {
                    return Ok(fault);
                }
            }
        }
        Err(self.violation("no corrupted step changes the result".into()))
    }

    async fn aggregator_lies(&mut self) -> Result<(), SimError> {
        let (agg, posted) = self.lying_post().await?;
        let ch = Challenger::new(self.d().clone(), self.sim.roles.challenger);
        let (verdict, trace) = self.check(&ch).await?;
        if verdict == Verdict::Agree {
            return Err(self.violation("the corrupted execution went unnoticed".into()));
        }
        let game = self.challenge(&ch).await?;
        let mut defence = agg.defence(self.round, posted.trace, Arc::clone(&self.sim.prover));
        let players = [(
            ch.account(),
            self.player(ch.account(), Role::Challenger, game, trace),
        )];
        self.play(Some(&mut defence), &players).await?;
        self.expect_rejected(&players[0].1).await
    }

    async fn expect_rejected(&mut self, honest: &GamePlayer<C>) -> Result<(), SimError> {
        let v = honest.view().await?;
        self.rep.disputed_step = (v.hi == v.lo + 1).then_some(v.lo);
        if v.status != arbiter::GameStatus::ChallengerWon {
            return Err(self.violation("the honest challenger lost its game".into()));
        }
        self.expect_status(
            RoundStatus::Rejected,
            "the disproven round was not rejected",
        )
        .await?;
        self.record_finality().await?;
        self.rep.outcome = Outcome::AggregatorSlashed;
        Ok(())
    }

    /// `count` lying challengers (each with its own corrupted step) dispute an honest result;
    /// the aggregator defends every game concurrently.
    async fn lying_challengers(&mut self, count: usize) -> Result<(), SimError> {
        self.open_and_commit(Publish::Everywhere).await?;
        self.availability().await?;
        let agg = Aggregator::new(self.d().clone(), self.sim.roles.aggregator);
        let posted = self.post(&agg).await?;
        let accounts: Vec<Address> = if count == 1 {
            vec![self.sim.roles.challenger]
        } else {
            self.sim.roles.liars[..count].to_vec()
        };
        let mut players = Vec::new();
        let steps = posted.trace.steps();
        for (k, account) in accounts.into_iter().enumerate() {
            // The first step from the liar's seed-derived one whose corruption shows in the
            // result (a corruption that heals is no dispute).
            let mut found = None;
            for attempt in 0..steps {
                let step = (self.sim.challenger_step(k as u64) + attempt) % steps;
                let fault = self.sim.challenger_fault(k as u64, step);
                let liar = Challenger::lying(self.d().clone(), account, Arc::new(fault));
                let (verdict, trace) = self.check(&liar).await?;
                if verdict != Verdict::Agree {
                    found = Some((step, liar, trace));
                    break;
                }
            }
            let Some((step, liar, trace)) = found else {
                return Err(self.violation(format!("lying challenger {k} saw no difference")));
            };
            if k == 0 {
                self.rep.corrupted_step = Some(step);
            }
            let game = self.challenge(&liar).await?;
            players.push((account, self.player(account, Role::Challenger, game, trace)));
        }
        // The aggregator is told nothing: it finds every game in the chain's logs.
        let mut defence = agg.defence(self.round, posted.trace, Arc::clone(&self.sim.prover));
        self.play(Some(&mut defence), &players).await?;
        if defence.games().len() != players.len() {
            return Err(self.violation(format!(
                "the aggregator found {} of {} games",
                defence.games().len(),
                players.len()
            )));
        }
        if let Some((g, _)) = defence.outcomes().iter().find(|(_, won)| !**won) {
            return Err(self.violation(format!("the honest aggregator lost game {g}")));
        }
        let v = players[0].1.view().await?;
        self.rep.disputed_step = (v.hi == v.lo + 1).then_some(v.lo);
        self.finalize_after_window().await?;
        self.rep.outcome = Outcome::ChallengerSlashed;
        Ok(())
    }

    /// Client 0's update cannot be obtained (withheld, or its root opens nothing): it is
    /// challenged, nobody can reveal it, it is excluded, and the round completes without it.
    async fn unavailable(&mut self, first: Publish, unprovable: bool) -> Result<(), SimError> {
        self.open().await?;
        let wrong = if unprovable {
            // Client 0 commits the root of an update of another dimension: real data, published
            // everywhere, that no reveal of this round's layout can open.
            let mut values = self.sim.clients[0].update.values().to_vec();
            values.extend(std::iter::repeat_n(7, LANES));
            let wrong = Update::from_fixed(values);
            let account = self.sim.roles.clients[0];
            let r = self
                .d()
                .commit_update(
                    account,
                    self.round,
                    0,
                    B256::from(wrong.root()),
                    self.sim.clients[0].examples,
                )
                .await?;
            self.tx(account, "commitUpdate", &r);
            self.board.publish(self.round, 0, wrong.clone());
            self.uploads.publish(self.round, 0, wrong.clone());
            Some(wrong)
        } else {
            self.commit(0, first).await?;
            None
        };
        for i in 1..self.sim.clients.len() {
            self.commit(i, Publish::Everywhere).await?;
        }
        self.availability_challenges().await?;
        if let Some(wrong) = wrong {
            self.attempt_wrong_reveal(&wrong).await?;
        }
        self.availability_close().await?;
        self.release_deposits().await?;
        if self.rep.excluded_clients != [0] {
            return Err(self.violation(format!(
                "expected client 0 excluded, got {:?}",
                self.rep.excluded_clients
            )));
        }
        let agg = Aggregator::new(self.d().clone(), self.sim.roles.aggregator);
        self.post(&agg).await?;
        self.agree_and_finalize().await
    }

    /// Client 0 tries to reveal its wrong-dimension data, cut to this round's layout: the
    /// registry must refuse it (it opens another root).
    async fn attempt_wrong_reveal(&mut self, wrong: &Update) -> Result<(), SimError> {
        let layout = step_vm::segment_layout(self.sim.args.dim, 0)?;
        let reveal = wrong.segment_reveal(&wrong.tree(), 0)?;
        let mut values = reveal.values;
        values.truncate(layout.value_bytes());
        let path: Vec<B256> = reveal
            .path
            .iter()
            .take(layout.path_len)
            .map(|d| B256::from(*d))
            .collect();
        let account = self.sim.roles.clients[0];
        match self
            .d()
            .reveal_segment(account, self.round, 0, 0, values.into(), path)
            .await
        {
            Err(contracts::ChainError::Reverted { data, .. })
                if matches!(
                    RoundRegistryErrors::abi_decode(&data),
                    Ok(RoundRegistryErrors::BadReveal(_) | RoundRegistryErrors::BadLength(_))
                ) =>
            {
                self.rep.refused_reveals += 1;
                Ok(())
            }
            Err(e) => Err(e.into()),
            Ok(_) => {
                Err(self.violation("a reveal of data of another dimension was accepted".into()))
            }
        }
    }

    /// Client 0 uploads only to the aggregator: the challenger challenges, the aggregator
    /// reveals, and the round proceeds with every client.
    async fn revealed(&mut self) -> Result<(), SimError> {
        self.open_and_commit(Publish::AggregatorOnly).await?;
        self.availability().await?;
        if !self.rep.excluded_clients.is_empty() || !self.rep.gas.contains_key("revealSegment") {
            return Err(self.violation("the challenged update was not revealed".into()));
        }
        let agg = Aggregator::new(self.d().clone(), self.sim.roles.aggregator);
        self.post(&agg).await?;
        // The challenger never got the update off chain: it rebuilds it from the reveal logs.
        self.agree_and_finalize().await
    }

    /// Client 0 tries weights that would let W overflow (`2^32 - 1`, and one above the bound):
    /// both refused; client 1 commits the largest weight allowed, and the round completes.
    async fn weight_overflow(&mut self) -> Result<(), SimError> {
        self.open().await?;
        let account = self.sim.roles.clients[0];
        let root = B256::from(self.sim.clients[0].update.root());
        for weight in [u32::MAX, step_vm::MAX_WEIGHT + 1] {
            match self
                .d()
                .commit_update(account, self.round, 0, root, weight)
                .await
            {
                Err(contracts::ChainError::Reverted { data, .. })
                    if matches!(
                        RoundRegistryErrors::abi_decode(&data),
                        Ok(RoundRegistryErrors::InvalidWeight(_))
                    ) =>
                {
                    info!(weight, "overflowing weight refused at commit");
                }
                Err(e) => return Err(e.into()),
                Ok(_) => return Err(self.violation(format!("a weight of {weight} was accepted"))),
            }
        }
        let heavy = self.sim.roles.clients[1];
        let r = self
            .d()
            .commit_update(
                heavy,
                self.round,
                1,
                B256::from(self.sim.clients[1].update.root()),
                step_vm::MAX_WEIGHT,
            )
            .await?;
        self.tx(heavy, "commitUpdate", &r);
        self.board
            .publish(self.round, 1, self.sim.clients[1].update.clone());
        self.uploads
            .publish(self.round, 1, self.sim.clients[1].update.clone());
        for i in 2..self.sim.clients.len() {
            self.commit(i, Publish::Everywhere).await?;
        }
        self.availability().await?;
        let agg = Aggregator::new(self.d().clone(), self.sim.roles.aggregator);
        self.post(&agg).await?;
        if self.rep.participants != self.sim.clients.len() - 1 {
            return Err(self.violation("the refused client took part".into()));
        }
        self.agree_and_finalize().await
    }

    /// The aggregator computes before the last commit lands; its post names the stale inputs
    /// and reverts; it aggregates again and posts; nobody is slashed.
    async fn racing_commit(&mut self) -> Result<(), SimError> {
        self.open().await?;
        let last = self.sim.clients.len() - 1;
        for i in 0..last {
            self.commit(i, Publish::Everywhere).await?;
        }
        let agg = Aggregator::new(self.d().clone(), self.sim.roles.aggregator);
        let stale = agg.prepare(self.round, &self.uploads).await?;
        self.commit(last, Publish::Everywhere).await?;
        self.availability().await?;
        match agg.post(&stale).await {
            Err(AggregatorError::StaleInputs { .. }) => self.rep.stale_posts += 1,
            Err(e) => return Err(e.into()),
            Ok(_) => return Err(self.violation("a post over stale inputs was accepted".into())),
        }
        self.post(&agg).await?;
        self.agree_and_finalize().await
    }

    /// A lying aggregator's sybil (its own second address) disputes its result and wins
    /// first — by the aggregator's timeout, or (`copied_leaf`) by proving the same leaf as the
    /// honest challenger — and the honest challenger, which challenged too, wins its game.
    /// The report's `net_wei` shows what the aggregator and its sybil lost together.
    async fn sybil(&mut self, copied_leaf: bool) -> Result<(), SimError> {
        let (agg, posted) = self.lying_post().await?;
        let sybil = Challenger::new(self.d().clone(), self.sim.roles.sybil);
        let honest = Challenger::new(self.d().clone(), self.sim.roles.challenger);
        // The sybil knows the truth (it is the aggregator): it re-executes honestly, and
        // challenges first; the honest challenger challenges next.
        let (_, truth) = self.check(&sybil).await?;
        let sybil_game = self.challenge(&sybil).await?;
        let (verdict, trace) = self.check(&honest).await?;
        if verdict == Verdict::Agree {
            return Err(self.violation("the corrupted execution went unnoticed".into()));
        }
        let honest_game = self.challenge(&honest).await?;
        let sybil_player = self.player(sybil.account(), Role::Challenger, sybil_game, truth);
        let agg_honest = self.player(
            agg.account(),
            Role::Aggregator,
            honest_game,
            Arc::clone(&posted.trace),
        );
        let honest_player = self.player(honest.account(), Role::Challenger, honest_game, trace);
        let players = if copied_leaf {
            // The aggregator bisects against its sybil, which proves the very leaf the honest
            // challenger will prove (same step, same witness, same proof bytes) and so wins
            // first; then the honest game plays out.
            let agg_sybil = self.player(
                agg.account(),
                Role::Aggregator,
                sybil_game,
                Arc::clone(&posted.trace),
            );
            self.play(
                None,
                &[(agg.account(), agg_sybil), (sybil.account(), sybil_player)],
            )
            .await?;
            self.expect_status(
                RoundStatus::Rejected,
                "the sybil's win did not reject the round",
            )
            .await?;
            let players = [
                (agg.account(), agg_honest),
                (honest.account(), honest_player),
            ];
            self.play(None, &players).await?;
            players
        } else {
            // The aggregator defends the honest game and never moves in its sybil's, which the
            // sybil then claims by timeout; both games run at once.
            let players = [
                (agg.account(), agg_honest),
                (honest.account(), honest_player),
            ];
            let sybil_players = [(sybil.account(), sybil_player)];
            let all: Vec<&(Address, GamePlayer<C>)> =
                players.iter().chain(&sybil_players).collect();
            self.play_with(None, &all).await?;
            players
        };
        self.expect_rejected(&players[1].1).await
    }

    /// The aggregator never posts: after the post deadline anyone expires the round. Client 0
    /// withheld its data: its challenger gets its bond and costs back from client 0's deposit;
    /// every other client takes its deposit back after the expiry.
    async fn unposted(&mut self) -> Result<(), SimError> {
        self.open_and_commit(Publish::Nowhere).await?;
        self.availability_challenges().await?;
        let view = self.d().round(self.round).await?;
        let now = self.d().chain().timestamp().await?;
        self.d()
            .chain()
            .advance_time(view.postDeadline.saturating_sub(now) + 1)
            .await?;
        let r = self
            .d()
            .expire_round(self.sim.roles.challenger, self.round)
            .await?;
        self.tx(self.sim.roles.challenger, "expireRound", &r);
        self.expect_status(RoundStatus::Expired, "the round did not expire")
            .await?;
        self.availability_close().await?;
        self.release_deposits().await?;
        self.rep.outcome = Outcome::Expired;
        Ok(())
    }
}
