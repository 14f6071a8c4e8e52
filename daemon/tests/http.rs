//! The data-availability API against a real deployment on the in-process chain: every
//! refusal names its reason, nothing refused is stored, and what is served opens the
//! on-chain root.

use std::sync::Arc;

use alloy::primitives::{Address, B256};
use contracts::{Chain, DeployParams, Deployment, InProcessChain};
use daemon::{Binding, DaClient, DaService, Metrics, Store};
use step_vm::{Rule, Update};

const DIM: usize = 100;

fn update(seed: i32) -> Update {
    Update::from_fixed((0..DIM as i32).map(|i| i * 31 - seed).collect())
}

async fn put_raw(url: &str, body: Vec<u8>) -> (u16, String) {
    let r = reqwest::Client::new()
        .put(url)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_checked_against_the_commitment_as_they_arrive() {
    let chain = Arc::new(InProcessChain::new(5));
    let a = chain.accounts().to_vec();
    let (d, _) = Deployment::deploy(Arc::clone(&chain), DeployParams::default())
        .await
        .unwrap();
    let clients: Vec<Address> = a[2..5].to_vec();
    let rule = Rule::FedAvg;
    let (round, _) = d
        .open_round(
            a[0],
            clients.clone(),
            DIM as u32,
            a[1],
            600,
            (rule.id(), rule.params().into()),
        )
        .await
        .unwrap();
    let (good, other) = (update(1), update(2));
    d.commit_update(clients[0], round, 0, B256::from(good.root()), 10)
        .await
        .unwrap();
    let store = Arc::new(
        Store::in_memory(&Binding {
            role: "aggregator".into(),
            chain_id: 31_337,
            registry: d.addresses().registry,
            account: a[1],
        })
        .unwrap(),
    );
    let metrics = Metrics::new("aggregator");
    let service = DaService::new(d.clone(), Arc::clone(&store), metrics.clone());
    let (addr, _) = daemon::serve(
        service.router(),
        "127.0.0.1:0".parse().unwrap(),
        std::future::pending(),
    )
    .await
    .unwrap();
    let base = format!("http://{addr}");
    let url = |r: u64, c: u32| format!("{base}/v1/rounds/{r}/updates/{c}");
    let bytes = daemon::wire::encode(&good);

    let cases = [
        (url(round + 1, 0), bytes.clone(), 404, "unknown_round"),
        (url(round, 7), bytes.clone(), 404, "unknown_client"),
        (
            url(round, 1),
            daemon::wire::encode(&other),
            409,
            "not_committed",
        ),
        (
            url(round, 0),
            [bytes.clone(), vec![0; 4]].concat(),
            413,
            "oversized",
        ),
        (
            url(round, 0),
            bytes[..bytes.len() - 1].to_vec(),
            400,
            "truncated",
        ),
        (
            url(round, 0),
            daemon::wire::encode(&other),
            422,
            "root_mismatch",
        ),
    ];
    for (u, body, status, reason) in cases {
        let (got, text) = put_raw(&u, body).await;
        assert_eq!(got, status, "{u}: {text}");
        assert!(text.contains(reason), "{u}: {text}");
    }
    assert!(
        store.held(round).unwrap().is_empty(),
        "nothing refused is kept"
    );

    let client = DaClient::new();
    client.upload(&base, round, 0, &good).await.unwrap();
    // Idempotent: the same upload again is fine; the held one is kept.
    client.upload(&base, round, 0, &good).await.unwrap();
    assert_eq!(store.held(round).unwrap(), vec![(0, good.root())]);
    let e = client
        .upload(&base, round, 0, &other)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("422") && e.contains("root_mismatch"), "{e}");

    // Served to anyone, and checked by the fetcher against the root it expects.
    let fetched = client
        .fetch(&base, round, 0, &good.root(), DIM)
        .await
        .unwrap();
    assert_eq!(fetched, Some(good.clone()));
    assert_eq!(
        client
            .fetch(&base, round, 0, &other.root(), DIM)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        client
            .fetch(&base, round, 1, &other.root(), DIM)
            .await
            .unwrap(),
        None
    );
    let listing: serde_json::Value = reqwest::get(format!("{base}/v1/rounds/{round}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listing["updates"][0]["client"], 0);

    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("fl_aggregator_uploads_accepted_total 1"),
        "{text}"
    );
    assert!(
        text.contains("fl_aggregator_uploads_refused_total{reason=\"root_mismatch\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("fl_aggregator_uploads_refused_total{reason=\"oversized\"} 1"),
        "{text}"
    );
}
