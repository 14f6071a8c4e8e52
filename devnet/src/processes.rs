//! The devnet over JSON-RPC against a local Anvil, every role a separate process: the devnet
//! binary re-executes itself as `aggregator deploy|open-round|run`, `challenger run` and
//! `fl-client submit`, each with its own key (`FL_CHAIN_PRIVATE_KEY`), store and log file
//! (`<data-dir>/logs/`). `--kill POINT` SIGKILLs a daemon's process there and starts it again
//! on its store.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::node_bindings::Anvil;
use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use contracts::{Chain, Deployment, RpcChain};
use daemon::DeploymentFile;
use step_vm::Rule;
use tracing::info;

use crate::rounds::{Clock, Opened, await_rounds, check_outcomes, signed};
use crate::{
    COMMIT_PERIOD, DevnetArgs, DevnetError, DevnetReport, Result, UPLOAD_GRACE, Victim,
    devnet_params, write_client_models,
};

/// How to start role processes: the executable, the node, the deployment file, the log
/// directory.
struct Roles {
    exe: PathBuf,
    url: String,
    deployment: PathBuf,
    logs: PathBuf,
}

impl Roles {
    fn command(&self, key: &str, args: &[String]) -> std::process::Command {
        let mut c = std::process::Command::new(&self.exe);
        c.args(args)
            .env("FL_CHAIN_RPC_URL", &self.url)
            .env("FL_CHAIN_PRIVATE_KEY", key)
            .env("FL_CHAIN_DEPLOYMENT", &self.deployment)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null());
        c
    }

    /// Runs a one-shot command to completion; returns its stdout.
    async fn once(&self, name: &str, key: &str, args: Vec<String>) -> Result<String> {
        let log = self.log(name)?;
        let mut c = tokio::process::Command::from(self.command(key, &args));
        let out =
            c.stderr(log).output().await.map_err(|e| {
                DevnetError::Config(format!("cannot run {}: {e}", self.exe.display()))
            })?;
        if !out.status.success() {
            return Err(DevnetError::Violation(format!(
                "`{name}` failed ({}); see {}",
                out.status,
                self.logs.join(format!("{name}.log")).display()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts a daemon process.
    fn spawn(&self, name: &str, key: &str, args: &[String]) -> Result<Child> {
        let out = self.log(name)?;
        let err = out
            .try_clone()
            .map_err(|e| DevnetError::Config(format!("log file of {name}: {e}")))?;
        let child = self
            .command(key, args)
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| DevnetError::Config(format!("cannot start {name}: {e}")))?;
        info!(name, pid = child.id(), "started");
        Ok(child)
    }

    fn log(&self, name: &str) -> Result<File> {
        let path = self.logs.join(format!("{name}.log"));
        File::options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| DevnetError::Config(format!("{}: {e}", path.display())))
    }
}

/// A free local port.
fn free_addr() -> Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| DevnetError::Config(format!("no free local port: {e}")))
}

/// Waits until `GET url` answers 200, or the child exits, or `timeout`.
async fn await_healthy(name: &str, url: &str, child: &mut Child, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let http = reqwest::Client::new();
    loop {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(DevnetError::Violation(format!(
                "{name} exited ({status}) before it was ready"
            )));
        }
        if Instant::now() > deadline {
            return Err(DevnetError::Violation(format!(
                "{name} not ready after {} s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// SIGTERM, then up to 10 s for a graceful exit, then SIGKILL.
async fn terminate(name: &str, mut child: Child) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            info!(name, %status, "stopped");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn key_hex(signer: &PrivateKeySigner) -> String {
    format!("0x{}", alloy::hex::encode(signer.to_bytes()))
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

/// Runs the devnet on Anvil with every role a process.
#[allow(clippy::too_many_lines)]
pub(crate) async fn run(args: DevnetArgs) -> Result<DevnetReport> {
    let started = Instant::now();
    let anvil_bin = args
        .anvil
        .clone()
        .ok_or_else(|| DevnetError::Config("--anvil is required here".into()))?;
    let temp = tempfile::tempdir()
        .map_err(|e| DevnetError::Config(format!("temporary directory: {e}")))?;
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_owned());
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)
        .map_err(|e| DevnetError::Config(format!("{}: {e}", logs.display())))?;
    let files = write_client_models(&dir.join("models"), args.clients, args.seed)?;
    let (n, dim) = (args.clients, files.dim);
    let exe = match &args.exe {
        Some(e) => e.clone(),
        None => std::env::current_exe()
            .map_err(|e| DevnetError::Config(format!("cannot find this executable: {e}")))?,
    };

    let node = Anvil::at(&anvil_bin)
        .args(["--accounts", &(4 + n).to_string()])
        .try_spawn()
        .map_err(|e| {
            DevnetError::Config(format!(
                "could not start anvil at {}: {e}",
                anvil_bin.display()
            ))
        })?;
    let url = node.endpoint();
    let signers: Vec<PrivateKeySigner> = node
        .keys()
        .iter()
        .map(|k| PrivateKeySigner::from(k.clone()))
        .collect();
    let keys: Vec<String> = signers.iter().map(key_hex).collect();
    let accounts: Vec<Address> = signers.iter().map(PrivateKeySigner::address).collect();
    let (honest, liar, watcher) = (accounts[1], accounts[2], accounts[3]);
    let clients: Vec<Address> = accounts[4..].to_vec();
    info!(%url, "anvil started");

    let roles = Roles {
        exe,
        url: url.clone(),
        deployment: dir.join("deployment.json"),
        logs: logs.clone(),
    };
    let params_path = dir.join("params.json");
    std::fs::write(
        &params_path,
        serde_json::to_string_pretty(&devnet_params()).unwrap_or_default(),
    )
    .map_err(|e| DevnetError::Config(format!("{}: {e}", params_path.display())))?;
    roles
        .once(
            "deploy",
            &keys[0],
            vec![
                s("aggregator"),
                s("deploy"),
                s("--out"),
                s(roles.deployment.display()),
                s("--params"),
                s(params_path.display()),
            ],
        )
        .await?;
    let file = DeploymentFile::read(&roles.deployment)?;
    let chain = Arc::new(RpcChain::connect(&url, vec![signers[0].clone()])?);
    let deployment = Deployment::attach(Arc::clone(&chain), file.addresses, file.params);
    info!(registry = %file.addresses.registry, "contracts deployed by `aggregator deploy`");

    // The daemons, each a process with its store and log.
    let steps = Rule::FedAvg.steps(n, dim);
    let daemon_flags = |name: &str| {
        vec![
            s("--data-dir"),
            s(dir.join(name).display()),
            s("--poll-ms"),
            s(100),
            s("--upload-grace"),
            s(UPLOAD_GRACE),
        ]
    };
    let mut urls = Vec::new();
    let mut aggregators = Vec::new();
    for (name, key, lying) in [
        ("honest-aggregator", &keys[1], false),
        ("lying-aggregator", &keys[2], true),
    ] {
        let addr = free_addr()?;
        let mut a = vec![s("aggregator"), s("run"), s("--http.listen"), s(addr)];
        a.extend(daemon_flags(name));
        if lying {
            a.extend([s("--adversary.corrupt-step"), s(steps / 2)]);
        }
        let child = roles.spawn(name, key, &a)?;
        urls.push(format!("http://{addr}"));
        aggregators.push((name, child, a));
    }
    let metrics_addr = free_addr()?;
    let challenger_args = {
        let mut a = vec![
            s("challenger"),
            s("run"),
            s("--sources"),
            urls.join(","),
            s("--metrics.listen"),
            s(metrics_addr),
        ];
        a.extend(daemon_flags("challenger"));
        a
    };
    let mut challenger = roles.spawn("challenger", &keys[3], &challenger_args)?;
    let ready = Duration::from_secs(300);
    for ((name, child, _), url) in aggregators.iter_mut().zip(&urls) {
        await_healthy(name, &format!("{url}/healthz"), child, ready).await?;
    }
    let health = format!("http://{metrics_addr}/healthz");
    await_healthy("challenger", &health, &mut challenger, ready).await?;
    let keygen_seconds = started.elapsed().as_secs_f64();
    info!(
        seconds = keygen_seconds,
        "every daemon is up (keys generated)"
    );
    let clock = Clock::start(Arc::clone(&chain), args.speed);
    let challenger_before = chain.balance(watcher).await?;

    // The rounds, opened by `aggregator open-round`; each client submits with `fl-client`.
    let client_list = clients
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut rounds = Vec::new();
    for (kind, aggregator) in [("honest", honest), ("dishonest", liar)] {
        let out = roles
            .once(
                "open-round",
                &keys[0],
                vec![
                    s("aggregator"),
                    s("open-round"),
                    s("--clients"),
                    client_list.clone(),
                    s("--dim"),
                    s(dim),
                    s("--aggregator"),
                    s(aggregator),
                    s("--commit-period"),
                    s(COMMIT_PERIOD),
                    s("--json"),
                ],
            )
            .await?;
        let round = serde_json::from_str::<serde_json::Value>(out.trim())
            .ok()
            .and_then(|v| v["round"].as_u64())
            .ok_or_else(|| DevnetError::Violation(format!("open-round printed {out:?}")))?;
        info!(round, kind, "round opened");
        rounds.push(Opened {
            round,
            kind,
            at: Instant::now(),
            chain_at: chain.timestamp().await?,
        });
    }
    let mut refused = 0;
    for (i, path) in files.paths.iter().enumerate() {
        for (r, opened) in rounds.iter().enumerate() {
            roles
                .once(
                    &format!("client-{i}"),
                    &keys[4 + i],
                    vec![
                        s("fl-client"),
                        s("submit"),
                        s(path.display()),
                        s("--round"),
                        s(opened.round),
                        s("--weight"),
                        s(100 + 10 * i),
                        s("--aggregator-url"),
                        urls[r].clone(),
                        s("--json"),
                    ],
                )
                .await?;
            if i == 0 && r == 0 {
                let update = client::quantize(&client::read_model(path)?)?.update;
                refused += crate::tampered_upload_refused(&urls[r], opened.round, &update).await?;
            }
        }
    }

    let mut kill = |victim: Victim| -> Result<()> {
        // SIGKILL: no chance to finish the tick, flush anything, or say goodbye.
        let (name, child, key, args) = match victim {
            Victim::Challenger => ("challenger", &mut challenger, &keys[3], &challenger_args),
            Victim::HonestAggregator => {
                let (name, child, args) = &mut aggregators[0];
                (*name, child, &keys[1], &*args)
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        *child = roles.spawn(name, key, args)?;
        info!(name, "process restarted on its store");
        Ok(())
    };
    let waited = await_rounds(
        &deployment,
        &rounds,
        watcher,
        Duration::from_secs(args.timeout),
        &args.kill,
        &mut kill,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    terminate("challenger", challenger).await;
    for (name, child, _) in aggregators {
        terminate(name, child).await;
    }
    clock.stop().await;
    let (reports, kills) = waited?;
    check_outcomes(&reports)?;
    let after = chain.balance(watcher).await?;
    Ok(DevnetReport {
        chain: chain.name(),
        dim,
        clients: n,
        rounds: reports,
        uploads_refused: refused,
        kills,
        challenger_net_wei: signed(after, challenger_before),
        keygen_seconds,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}
