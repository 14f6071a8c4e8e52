//! The transaction manager over the in-process node, under injected RPC faults: every send
//! lands exactly once, nonces stay contiguous, gaps are filled, fees are bumped past a pool's
//! threshold, a reverting call is never submitted, a journaled transaction of a previous
//! process is waited for, and a bad policy is named. Time is paused: receipt timeouts and
//! backoffs pass instantly, and nothing sleeps to wait for a condition.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, Bytes, U256};
use contracts::{
    BASE_FEE, Chain, ChainError, Fault, FaultConfig, FaultyNode, JournalEntry, JournalState,
    MemoryJournal, Node, RevmNode, TxJournal, TxManager, TxPolicy, TxRejection, TxRequest,
};

type Faulty = FaultyNode<Arc<RevmNode>>;

fn policy() -> TxPolicy {
    TxPolicy {
        receipt_timeout: Duration::from_secs(1),
        poll_interval: Duration::from_millis(50),
        request_timeout: Duration::from_millis(500),
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(100),
        max_attempts: 8,
        ..TxPolicy::default()
    }
}

fn manager(node: Faulty, policy: TxPolicy) -> (Arc<TxManager<Faulty>>, Arc<MemoryJournal>) {
    let journal = Arc::new(MemoryJournal::new());
    let m = TxManager::with_journal(node, policy, Arc::clone(&journal) as Arc<dyn TxJournal>)
        .expect("valid policy");
    (Arc::new(m), journal)
}

fn wei(n: u64) -> U256 {
    U256::from(n)
}

/// Polls `condition` (yielding to the runtime, paused time advancing) until it holds or a
/// simulated minute has passed.
async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The executed transactions of `from`, as (nonce, to, value).
fn executed_from(node: &RevmNode, from: Address) -> Vec<(u64, Option<Address>, U256)> {
    node.executed()
        .into_iter()
        .filter(|t| t.request.from == from)
        .map(|t| (t.request.nonce, t.request.to, t.request.value))
        .collect()
}

const TEN_THOUSAND_ETHER: u128 = 10_000 * 10u128.pow(18);

#[tokio::test(start_paused = true)]
async fn each_fault_class_lands_exactly_once() {
    let faults = [
        ("dropped request", Fault::DropRequest),
        ("lost response", Fault::LoseResponse),
        ("delayed response", Fault::Delay(Duration::from_secs(2))),
        ("swallowed", Fault::Swallow),
    ];
    for (name, fault) in faults {
        let node = Arc::new(RevmNode::new(2));
        let (from, to) = (node.accounts()[0], node.accounts()[1]);
        let faulty = FaultyNode::scripted(Arc::clone(&node), [fault]);
        let (chain, _) = manager(faulty, policy());
        let receipt = chain
            .send("transfer", from, Some(to), Bytes::new(), wei(7))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(receipt.gas_used, 21_000, "{name}");
        assert_eq!(
            executed_from(&node, from),
            vec![(0, Some(to), wei(7))],
            "{name}: exactly one transaction executed"
        );
        assert_eq!(
            chain.balance(to).await.unwrap(),
            U256::from(TEN_THOUSAND_ETHER) + wei(7),
            "{name}"
        );
        assert!(node.pooled().is_empty(), "{name}: nothing left in the pool");
        // A second send after the fault takes the next nonce.
        chain
            .send("transfer", from, Some(to), Bytes::new(), wei(8))
            .await
            .unwrap();
        assert_eq!(executed_from(&node, from).len(), 2, "{name}");
        assert_eq!(executed_from(&node, from)[1].0, 1, "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn slow_receipts_and_failing_reads_land_exactly_once() {
    let node = Arc::new(RevmNode::new(2));
    let (from, to) = (node.accounts()[0], node.accounts()[1]);
    let faulty = FaultyNode::new(
        Arc::clone(&node),
        FaultConfig {
            seed: 3,
            slow_receipts: 30, // 1.5 receipt timeouts of 50 ms polls: forces a resubmission
            read_error: 0.2,
            ..FaultConfig::default()
        },
    );
    let (chain, _) = manager(faulty, policy());
    chain
        .send("transfer", from, Some(to), Bytes::new(), wei(1))
        .await
        .unwrap();
    assert_eq!(executed_from(&node, from), vec![(0, Some(to), wei(1))]);
    let counts = chain.node().counts();
    assert!(counts.receipts_hidden >= 20, "{counts:?}");
    assert!(counts.read_errors > 0, "{counts:?}");
}

#[tokio::test(start_paused = true)]
async fn twenty_concurrent_sends_under_random_faults_land_once_with_contiguous_nonces() {
    for seed in 1u64..=40 {
        let node = Arc::new(RevmNode::new(2));
        let (from, to) = (node.accounts()[0], node.accounts()[1]);
        let faulty = FaultyNode::new(
            Arc::clone(&node),
            FaultConfig {
                seed,
                drop_request: 0.2,
                lose_response: 0.2,
                delay_rate: 0.1,
                delay: Duration::from_millis(700),
                swallow: 0.1,
                read_error: 0.1,
                slow_receipts: 2,
                min_priority_fee: None,
            },
        );
        let (chain, _) = manager(faulty, policy());
        let mut tasks = tokio::task::JoinSet::new();
        for i in 1..=20u64 {
            let chain = Arc::clone(&chain);
            tasks.spawn(async move {
                chain
                    .send("transfer", from, Some(to), Bytes::new(), wei(i))
                    .await
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap()
                .unwrap_or_else(|e| panic!("seed {seed}: a send failed: {e}"));
        }
        let executed = executed_from(&node, from);
        let nonces: Vec<u64> = executed.iter().map(|t| t.0).collect();
        assert_eq!(
            nonces,
            (0..20).collect::<Vec<_>>(),
            "seed {seed}: contiguous nonces"
        );
        let mut values: Vec<U256> = executed.iter().map(|t| t.2).collect();
        values.sort();
        assert_eq!(
            values,
            (1..=20).map(wei).collect::<Vec<_>>(),
            "seed {seed}: each transfer exactly once"
        );
        assert_eq!(
            chain.balance(to).await.unwrap(),
            U256::from(TEN_THOUSAND_ETHER) + wei(210),
            "seed {seed}"
        );
        let counts = chain.node().counts();
        assert!(
            counts.dropped + counts.lost + counts.delayed + counts.swallowed > 0,
            "seed {seed}: faults were injected: {counts:?}"
        );
        assert!(node.pooled().is_empty(), "seed {seed}");
    }
}

#[tokio::test(start_paused = true)]
async fn gap_behind_an_abandoned_nonce_is_detected_and_filled() {
    let node = Arc::new(RevmNode::new(2));
    let (from, to) = (node.accounts()[0], node.accounts()[1]);
    // The first submission is swallowed and the policy gives up without bumping: its nonce
    // becomes a gap nobody owns.
    let faulty = FaultyNode::scripted(Arc::clone(&node), [Fault::Swallow]);
    let (chain, _) = manager(
        faulty,
        TxPolicy {
            max_fee_bumps: 0,
            ..policy()
        },
    );
    let first = {
        let chain = Arc::clone(&chain);
        tokio::spawn(async move {
            chain
                .send("transfer", from, Some(to), Bytes::new(), wei(1))
                .await
        })
    };
    until("the swallow", || chain.node().counts().swallowed == 1).await;
    let second = chain
        .send("transfer", from, Some(to), Bytes::new(), wei(2))
        .await
        .expect("the second send lands once the gap is filled");
    assert_eq!(second.gas_used, 21_000);
    let first = first.await.unwrap();
    assert!(
        matches!(
            first,
            Err(ChainError::NotMined {
                nonce: 0,
                submissions: 1,
                ..
            })
        ),
        "{first:?}"
    );
    let stats = chain.stats();
    assert!(stats.gaps_detected >= 1, "{stats:?}");
    assert_eq!(stats.gap_fills, 1, "{stats:?}");
    assert_eq!(
        executed_from(&node, from),
        vec![(0, Some(from), U256::ZERO), (1, Some(to), wei(2))],
        "nonce 0 is the filler (a zero-value self-transfer), nonce 1 the second send"
    );
}

#[tokio::test(start_paused = true)]
async fn fees_are_bumped_until_the_tip_clears_the_pool_threshold() {
    let node = Arc::new(RevmNode::new(2));
    let (from, to) = (node.accounts()[0], node.accounts()[1]);
    let faulty = FaultyNode::new(
        Arc::clone(&node),
        FaultConfig {
            min_priority_fee: Some(1_000),
            ..FaultConfig::default()
        },
    );
    let (chain, journal) = manager(
        faulty,
        TxPolicy {
            min_priority_fee_per_gas: 500,
            ..policy()
        },
    );
    let before = chain.balance(from).await.unwrap();
    let receipt = chain
        .send("transfer", from, Some(to), Bytes::new(), wei(5))
        .await
        .unwrap();
    // 12.5% per bump, rounded up: 500, 563, 634, 714, 804, 905, 1019.
    let tips: Vec<u128> = journal
        .entries_of(from)
        .iter()
        .map(|(e, _)| e.request.max_priority_fee_per_gas)
        .collect();
    assert_eq!(tips, vec![500, 563, 634, 714, 804, 905, 1_019]);
    assert_eq!(chain.stats().fee_bumps, 6);
    assert_eq!(chain.node().counts().underpriced, 6);
    let executed = node.executed();
    assert_eq!(executed.len(), 1);
    assert_eq!(executed[0].request.max_priority_fee_per_gas, 1_019);
    assert!(executed[0].request.max_priority_fee_per_gas > 1_000);
    let states: Vec<JournalState> = journal.entries_of(from).iter().map(|(_, s)| *s).collect();
    assert_eq!(
        states
            .iter()
            .filter(|s| **s == JournalState::Dropped)
            .count(),
        6
    );
    assert!(matches!(states[6], JournalState::Mined { .. }));
    assert_eq!(receipt.effective_gas_price, u128::from(BASE_FEE) + 1_019);
    assert_eq!(
        before - chain.balance(from).await.unwrap(),
        wei(5) + receipt.fee(),
        "the sender paid the value and gas at base fee plus the final tip"
    );
}

/// Init code deploying a contract whose every call reverts (`revert(0, 0)`).
fn reverter_init_code() -> Bytes {
    // PUSH5 0x60006000fd; PUSH1 0; MSTORE; PUSH1 5; PUSH1 27; RETURN
    Bytes::from_static(&[
        0x64, 0x60, 0x00, 0x60, 0x00, 0xfd, 0x60, 0x00, 0x52, 0x60, 0x05, 0x60, 0x1b, 0xf3,
    ])
}

#[tokio::test(start_paused = true)]
async fn reverting_call_is_never_submitted() {
    let node = Arc::new(RevmNode::new(1));
    let from = node.accounts()[0];
    let (chain, journal) = manager(FaultyNode::scripted(Arc::clone(&node), []), policy());
    let reverter = chain
        .send("deploy", from, None, reverter_init_code(), U256::ZERO)
        .await
        .unwrap()
        .created
        .expect("deployed");
    let forwarded = chain.node().counts().forwarded;
    let balance = chain.balance(from).await.unwrap();
    let err = chain
        .send("poke", from, Some(reverter), Bytes::new(), U256::ZERO)
        .await
        .expect_err("reverts");
    assert!(
        matches!(&err, ChainError::Reverted { action, .. } if action == "poke"),
        "{err}"
    );
    assert_eq!(
        chain.node().counts().forwarded,
        forwarded,
        "nothing submitted"
    );
    assert_eq!(node.executed().len(), 1, "only the deployment executed");
    assert_eq!(
        node.nonce(from, contracts::NonceTag::Latest).await.unwrap(),
        1
    );
    assert_eq!(chain.balance(from).await.unwrap(), balance, "no fee paid");
    assert_eq!(
        journal.entries_of(from).len(),
        1,
        "only the deployment journaled"
    );
}

#[tokio::test(start_paused = true)]
async fn journaled_in_flight_tx_of_a_previous_process_is_waited_for_not_resent() {
    let node = Arc::new(RevmNode::new(2));
    let (from, to) = (node.accounts()[0], node.accounts()[1]);
    let journal = Arc::new(MemoryJournal::new());
    // The previous process journaled the transfer and crashed before the node had it.
    let previous = TxRequest {
        from,
        to: Some(to),
        data: Bytes::new(),
        value: wei(9),
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 2 * u128::from(BASE_FEE),
        max_priority_fee_per_gas: 0,
    };
    let hash = node.tx_hash(&previous).await.unwrap();
    journal
        .record_submitted(&JournalEntry {
            action: "transfer".into(),
            request: previous.clone(),
            hash,
        })
        .unwrap();
    let chain = TxManager::with_journal(
        FaultyNode::scripted(Arc::clone(&node), []),
        policy(),
        Arc::clone(&journal) as Arc<dyn TxJournal>,
    )
    .unwrap();
    // The restarted daemon asks for the same transfer again.
    let receipt = chain
        .send("transfer", from, Some(to), Bytes::new(), wei(9))
        .await
        .unwrap();
    assert_eq!(receipt.gas_used, 21_000);
    let executed = node.executed();
    assert_eq!(executed.len(), 1, "sent once");
    assert_eq!(executed[0].hash, hash, "the journaled transaction itself");
    let stats = chain.stats();
    assert_eq!((stats.recovered, stats.deduplicated), (1, 1), "{stats:?}");
    assert!(matches!(
        journal.entries_of(from)[..],
        [(_, JournalState::Mined { .. })]
    ));
    assert!(journal.in_flight().unwrap().is_empty());
    // A later, different send takes the next nonce.
    chain
        .send("transfer", from, Some(to), Bytes::new(), wei(10))
        .await
        .unwrap();
    assert_eq!(
        executed_from(&node, from),
        vec![(0, Some(to), wei(9)), (1, Some(to), wei(10))]
    );
}

#[tokio::test(start_paused = true)]
async fn same_intent_twice_in_flight_is_sent_once() {
    let node = Arc::new(RevmNode::new(2));
    let (from, to) = (node.accounts()[0], node.accounts()[1]);
    // Swallowed first: the transaction stays in flight until the fee bump.
    let faulty = FaultyNode::scripted(Arc::clone(&node), [Fault::Swallow]);
    let (chain, _) = manager(faulty, policy());
    let first = {
        let chain = Arc::clone(&chain);
        tokio::spawn(async move {
            chain
                .send("claim", from, Some(to), Bytes::new(), wei(3))
                .await
        })
    };
    until("the swallow", || chain.node().counts().swallowed == 1).await;
    let second = chain
        .send("claim", from, Some(to), Bytes::new(), wei(3))
        .await
        .unwrap();
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.gas_used, second.gas_used);
    assert_eq!(executed_from(&node, from), vec![(0, Some(to), wei(3))]);
    assert_eq!(chain.stats().deduplicated, 1);
    // Once mined, the same intent is a new transaction.
    chain
        .send("claim", from, Some(to), Bytes::new(), wei(3))
        .await
        .unwrap();
    assert_eq!(executed_from(&node, from).len(), 2);
}

#[test]
fn policy_validation_names_the_bad_field() {
    let cases: Vec<(&str, TxPolicy)> = vec![
        (
            "confirmations",
            TxPolicy {
                confirmations: 0,
                ..TxPolicy::default()
            },
        ),
        (
            "receipt_timeout",
            TxPolicy {
                receipt_timeout: Duration::ZERO,
                ..TxPolicy::default()
            },
        ),
        (
            "poll_interval",
            TxPolicy {
                poll_interval: Duration::ZERO,
                ..TxPolicy::default()
            },
        ),
        (
            "poll_interval",
            TxPolicy {
                poll_interval: Duration::from_secs(60),
                ..TxPolicy::default()
            },
        ),
        (
            "request_timeout",
            TxPolicy {
                request_timeout: Duration::ZERO,
                ..TxPolicy::default()
            },
        ),
        (
            "fee_bump_bps",
            TxPolicy {
                fee_bump_bps: 1_000,
                ..TxPolicy::default()
            },
        ),
        (
            "max_fee_per_gas",
            TxPolicy {
                max_fee_per_gas: 0,
                ..TxPolicy::default()
            },
        ),
        (
            "min_priority_fee_per_gas",
            TxPolicy {
                min_priority_fee_per_gas: u128::MAX,
                ..TxPolicy::default()
            },
        ),
        (
            "max_attempts",
            TxPolicy {
                max_attempts: 0,
                ..TxPolicy::default()
            },
        ),
        (
            "backoff_initial",
            TxPolicy {
                backoff_initial: Duration::ZERO,
                ..TxPolicy::default()
            },
        ),
        (
            "backoff_max",
            TxPolicy {
                backoff_max: Duration::from_millis(1),
                ..TxPolicy::default()
            },
        ),
        (
            "confirmation_timeout",
            TxPolicy {
                confirmation_timeout: Duration::ZERO,
                ..TxPolicy::default()
            },
        ),
    ];
    TxPolicy::default()
        .validate()
        .expect("the default is valid");
    for (field, bad) in cases {
        let err = bad.validate().expect_err(field);
        assert!(
            matches!(&err, ChainError::InvalidPolicy { field: f, .. } if *f == field),
            "{field}: {err}"
        );
        assert!(
            err.to_string().contains(&format!("TxPolicy::{field}")),
            "{err}"
        );
        let refused = TxManager::with_journal(
            RevmNode::new(1),
            bad,
            Arc::new(MemoryJournal::new()) as Arc<dyn TxJournal>,
        );
        assert!(refused.is_err(), "{field}: the manager refuses it too");
    }
}

fn raw(node: &RevmNode, nonce: u64, value: u64, tip: u128) -> TxRequest {
    TxRequest {
        from: node.accounts()[0],
        to: Some(node.accounts()[1]),
        data: Bytes::new(),
        value: wei(value),
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2 * u128::from(BASE_FEE) + tip,
        max_priority_fee_per_gas: tip,
    }
}

fn rejection(e: ChainError) -> TxRejection {
    match e {
        ChainError::TxRejected { kind, .. } => kind,
        other => panic!("expected a rejection, got {other}"),
    }
}

#[tokio::test]
async fn revm_node_mempool_follows_a_nodes_rules() {
    let node = RevmNode::new(2);
    let from = node.accounts()[0];
    // Nonce 1 waits for nonce 0.
    let queued = node.submit(&raw(&node, 1, 1, 0)).await.unwrap();
    assert!(node.receipt(queued).await.unwrap().is_none());
    assert_eq!(node.pooled().len(), 1);
    // The same request again is already known; a replacement needs 10% more on both fees.
    assert_eq!(
        rejection(node.submit(&raw(&node, 1, 1, 0)).await.unwrap_err()),
        TxRejection::AlreadyKnown
    );
    assert_eq!(
        rejection(node.submit(&raw(&node, 1, 2, 0)).await.unwrap_err()),
        TxRejection::ReplacementUnderpriced
    );
    let mut replacement = raw(&node, 1, 2, 0);
    replacement.max_fee_per_gas = replacement.max_fee_per_gas * 11 / 10;
    let replaced = node.submit(&replacement).await.unwrap();
    // A fee cap below the base fee is refused.
    let mut cheap = raw(&node, 2, 1, 0);
    cheap.max_fee_per_gas = u128::from(BASE_FEE) - 1;
    assert_eq!(
        rejection(node.submit(&cheap).await.unwrap_err()),
        TxRejection::FeeCapTooLow
    );
    // Nonce 0 executes and drains the pool.
    let first = node.submit(&raw(&node, 0, 1, 0)).await.unwrap();
    assert!(node.receipt(first).await.unwrap().unwrap().status);
    let r = node.receipt(replaced).await.unwrap().unwrap();
    assert_eq!(
        r.block_number, 2,
        "one block per transaction, after block 1"
    );
    assert!(node.pooled().is_empty());
    assert_eq!(
        node.nonce(from, contracts::NonceTag::Latest).await.unwrap(),
        2
    );
    assert_eq!(
        rejection(node.submit(&raw(&node, 1, 3, 0)).await.unwrap_err()),
        TxRejection::NonceTooLow
    );
    // Same request, same hash.
    assert_eq!(
        node.tx_hash(&replacement).await.unwrap(),
        node.tx_hash(&replacement.clone()).await.unwrap()
    );
}

#[tokio::test]
async fn revm_node_mines_a_reverting_tx_with_status_zero_and_fee() {
    let node = RevmNode::new(1);
    let from = node.accounts()[0];
    let deploy = TxRequest {
        from,
        to: None,
        data: reverter_init_code(),
        value: U256::ZERO,
        nonce: 0,
        gas_limit: 100_000,
        max_fee_per_gas: 2 * u128::from(BASE_FEE),
        max_priority_fee_per_gas: 0,
    };
    let hash = node.submit(&deploy).await.unwrap();
    let reverter = node.receipt(hash).await.unwrap().unwrap().created.unwrap();
    let before = node.balance(from).await.unwrap();
    let poke = TxRequest {
        to: Some(reverter),
        data: Bytes::new(),
        nonce: 1,
        gas_limit: 50_000,
        ..deploy
    };
    let hash = node.submit(&poke).await.unwrap();
    let r = node.receipt(hash).await.unwrap().unwrap();
    assert!(!r.status);
    assert_eq!(
        node.nonce(from, contracts::NonceTag::Latest).await.unwrap(),
        2
    );
    assert_eq!(
        before - node.balance(from).await.unwrap(),
        U256::from(r.gas_used) * U256::from(BASE_FEE),
        "the revert paid its gas"
    );
    assert_eq!(
        node.replay(&poke, r.block_number).await.unwrap(),
        Some(Bytes::new()),
        "the replay gives the (empty) revert data"
    );
}

/// A reader with `confirmations = 3` sees a log only once two blocks sit on top of it, while
/// the sender (one confirmation) sees it at once: no caller acts on a log a shallow reorg can
/// remove.
#[tokio::test]
async fn logs_are_returned_only_once_confirmed() {
    let node = Arc::new(RevmNode::new(3));
    let journal = || Arc::new(MemoryJournal::new()) as Arc<dyn TxJournal>;
    let sender = Arc::new(
        TxManager::with_journal(Arc::clone(&node), TxPolicy::default(), journal()).unwrap(),
    );
    let reader = TxManager::with_journal(
        Arc::clone(&node),
        TxPolicy {
            confirmations: 3,
            ..TxPolicy::default()
        },
        journal(),
    )
    .unwrap();
    let (d, _) =
        contracts::Deployment::deploy(Arc::clone(&sender), contracts::DeployParams::default())
            .await
            .unwrap();
    let query = contracts::LogQuery {
        address: d.addresses().registry,
        event: alloy::primitives::keccak256("GameSet(address,bytes32)"),
        topic1: None,
        topic2: None,
        from_block: 0,
    };
    assert_eq!(sender.logs(query).await.unwrap().len(), 1);
    assert!(
        reader.logs(query).await.unwrap().is_empty(),
        "not confirmed yet"
    );
    sender.advance_time(1).await.unwrap();
    assert!(
        reader.logs(query).await.unwrap().is_empty(),
        "one block on top"
    );
    sender.advance_time(1).await.unwrap();
    assert_eq!(
        reader.logs(query).await.unwrap().len(),
        1,
        "two blocks on top"
    );
}
