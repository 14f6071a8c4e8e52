//! The one-process devnet end to end: real daemons, real model files, the in-process chain.

use std::sync::Arc;

use arbiter::LeafProver;
use circuits::Srs;
use devnet::{DevnetArgs, KillPoint, run_with_prover};

/// Kill points whose windows last seconds of wall time (reliably reached); `before-claim` lasts
/// one daemon tick and is asked for, not required.
const KILLS: [KillPoint; 4] = [
    KillPoint::BeforePost,
    KillPoint::MidBisection,
    KillPoint::MidProof,
    KillPoint::BeforeClaim,
];

fn assert_killed_and_restarted(kills: &[KillPoint]) {
    for p in &KILLS[..3] {
        assert!(kills.contains(p), "{p:?} not reached: {kills:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn honest_round_finalizes_and_a_lying_aggregator_is_caught_though_daemons_are_killed_before_posting_mid_bisection_and_mid_proof()
 {
    let prover = Arc::new(LeafProver::setup(&Srs::insecure_dev()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let report = run_with_prover(
        DevnetArgs {
            clients: 4,
            data_dir: Some(dir.path().to_owned()),
            speed: 100,
            kill: KILLS.to_vec(),
            timeout: 300,
            seed: 11,
            anvil: None,
            exe: None,
        },
        prover,
        0.0,
    )
    .await
    .unwrap();
    let [honest, dishonest] = report.rounds.as_slice() else {
        panic!("two rounds expected: {report:?}");
    };
    assert_eq!(
        (honest.status.as_str(), honest.games, honest.participants),
        ("Finalized", 0, 4),
        "{report:?}"
    );
    assert_eq!(
        (
            dishonest.status.as_str(),
            dishonest.games,
            dishonest.participants
        ),
        ("Rejected", 1, 4),
        "{report:?}"
    );
    assert_eq!(report.uploads_refused, 1, "the tampered upload is refused");
    assert_killed_and_restarted(&report.kills);
    // The challenger got its bond back and its metered costs: what it is out of pocket is at
    // most the unmetered fees of claiming and withdrawing (far below its 0.25 ether bond).
    let net: i128 = report.challenger_net_wei.parse().unwrap();
    assert!(net > -1_000_000_000_000_000, "challenger lost {net} wei");
    // Every daemon kept its store on disk, and the client files are real safetensors.
    for f in [
        "honest-aggregator.sqlite",
        "lying-aggregator.sqlite",
        "challenger.sqlite",
    ] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    let model =
        client::read_model(&dir.path().join("models").join("client-0.safetensors")).unwrap();
    assert_eq!(model.values.len(), report.dim);
}

/// Every role a separate process over JSON-RPC: `aggregator deploy`, two `aggregator run`
/// daemons (one lying; the honest one SIGKILLed before it posts), a `challenger run` daemon
/// SIGKILLed mid-bisection and again mid-proof, each restarted on its store, `aggregator open-round`, and one `fl-client submit` per client and round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ANVIL_BIN (run scripts/test.sh, which installs Anvil from npm)"]
async fn on_anvil_every_role_a_process_sigkilled_before_posting_mid_bisection_and_mid_proof_and_the_honest_side_still_wins()
 {
    let anvil = std::env::var("ANVIL_BIN").expect("ANVIL_BIN must point at the anvil binary");
    let dir = tempfile::tempdir().unwrap();
    let args = DevnetArgs {
        clients: 3,
        data_dir: Some(dir.path().to_owned()),
        speed: 100,
        kill: KILLS.to_vec(),
        timeout: 600,
        seed: 5,
        anvil: Some(anvil.into()),
        exe: Some(env!("CARGO_BIN_EXE_devnet").into()),
    };
    let report = devnet::run(args).await.unwrap();
    assert!(report.chain.starts_with("json-rpc"), "{report:?}");
    let statuses: Vec<(&str, usize)> = report
        .rounds
        .iter()
        .map(|r| (r.status.as_str(), r.games))
        .collect();
    assert_eq!(statuses, [("Finalized", 0), ("Rejected", 1)], "{report:?}");
    assert_eq!(report.uploads_refused, 1);
    assert_killed_and_restarted(&report.kills);
    // The restarted process resumed from its store and won the game itself.
    let log = std::fs::read_to_string(dir.path().join("logs").join("challenger.log")).unwrap();
    assert!(log.contains("re-executing from the stored updates to resume the game"));
    assert!(log.contains("claimed the game's payout"));
    let net: i128 = report.challenger_net_wei.parse().unwrap();
    assert!(net > -10_000_000_000_000_000, "challenger lost {net} wei");
}
