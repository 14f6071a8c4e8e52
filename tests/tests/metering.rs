//! The on-chain metering of a party's base-fee cost (`TxGas`) against real receipts on the
//! in-process chain: what the registry refunds is never more than what the transaction burnt
//! (so a sybil recovers nothing) and falls short of it by at most a few hundred gas of
//! function dispatch (so the honest party is made whole up to that).

use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use contracts::{BASE_FEE, Chain, DeployParams, Deployment, InProcessChain, TxReceipt};

/// Gas a metered transaction may burn beyond what is refunded: the dispatch before the
/// function's first statement and the last few opcodes after the final write.
const SHORTFALL: u64 = 2_500;

fn metered_gas(wei: U256) -> u64 {
    (wei / U256::from(BASE_FEE)).saturating_to()
}

fn check(action: &str, receipt: &TxReceipt, metered: u64) {
    let used = receipt.gas_used;
    eprintln!(
        "{action:<22} receipt {used:>8} metered {metered:>8} short {:>6}",
        i128::from(used) - i128::from(metered)
    );
    assert!(
        metered <= used,
        "{action}: metered {metered} gas, more than the {used} the transaction used"
    );
    assert!(
        used - metered <= SHORTFALL,
        "{action}: metered {metered} gas of {used}: short by more than {SHORTFALL}"
    );
}

struct Setup {
    d: Deployment<InProcessChain>,
    aggregator: Address,
    challenger: Address,
    clients: Vec<Address>,
    round: u64,
}

async fn posted_round(dim: u32) -> Setup {
    let chain = Arc::new(InProcessChain::new(6));
    let accounts = chain.accounts().to_vec();
    let (d, _) = Deployment::deploy(chain, DeployParams::default())
        .await
        .expect("deploys");
    let (aggregator, challenger) = (accounts[1], accounts[2]);
    let clients = accounts[3..6].to_vec();
    let (round, _) = d
        .open_round(
            accounts[0],
            clients.clone(),
            dim,
            aggregator,
            600,
            (0, Default::default()),
        )
        .await
        .expect("opens");
    Setup {
        d,
        aggregator,
        challenger,
        clients,
        round,
    }
}

/// The aggregator claims a made-up midpoint; the challenger answers it.
async fn bisect_and_respond(s: &Setup, game: u64, fill: u8, agree: bool) -> TxReceipt {
    let d = &s.d;
    let g = d.game(game).await.unwrap();
    assert!(g.hi > g.lo + 1, "room to bisect");
    d.bisect(
        s.aggregator,
        game,
        g.lo,
        g.hi,
        g.hHi,
        B256::repeat_byte(fill),
    )
    .await
    .unwrap();
    let g = d.game(game).await.unwrap();
    let mid = g.lo + (g.hi - g.lo) / 2;
    d.respond(s.challenger, game, mid, g.pendingMid, agree)
        .await
        .unwrap()
}

#[tokio::test]
async fn metered_costs_never_exceed_and_nearly_match_the_receipts_small_update() {
    metered_costs_match_receipts(64).await;
}

#[tokio::test]
async fn metered_costs_never_exceed_and_nearly_match_the_receipts_full_segment() {
    // 8,192 values: one full 32 KiB segment, where calldata dominates.
    metered_costs_match_receipts(8_192).await;
}

async fn metered_costs_match_receipts(dim: u32) {
    let s = posted_round(dim).await;
    let d = &s.d;
    // Two clients commit real updates; the third commits a root nothing opens.
    let updates: Vec<step_vm::Update> = (0..2)
        .map(|c| {
            step_vm::Update::from_fixed(
                (0..i32::try_from(dim).expect("small dim"))
                    .map(|i| i * (c + 1))
                    .collect(),
            )
        })
        .collect();
    for (i, u) in updates.iter().enumerate() {
        let index = u32::try_from(i).expect("two clients");
        d.commit_update(s.clients[i], s.round, index, B256::from(u.root()), 10)
            .await
            .unwrap();
    }
    d.commit_update(s.clients[2], s.round, 2, B256::repeat_byte(7), 10)
        .await
        .unwrap();

    // Availability: challenge client 0 (revealed) and client 2 (never revealed).
    let r = d
        .challenge_availability(s.challenger, s.round, 0)
        .await
        .unwrap();
    let (a, _) = d.availability(s.round, 0).await.unwrap();
    check("challengeAvailability", &r, metered_gas(a.challengeCost));
    d.challenge_availability(s.challenger, s.round, 2)
        .await
        .unwrap();

    let tree = updates[0].tree();
    let reveal = updates[0].segment_reveal(&tree, 0).unwrap();
    let before = d.credit(s.aggregator).await.unwrap();
    let r = d
        .reveal_segment(
            s.aggregator,
            s.round,
            0,
            0,
            reveal.values.into(),
            reveal.path.iter().map(|p| B256::from(*p)).collect(),
        )
        .await
        .unwrap();
    let refund = d.credit(s.aggregator).await.unwrap() - before;
    check("revealSegment", &r, metered_gas(refund));

    let view = d.round(s.round).await.unwrap();
    let now = d.chain().timestamp().await.unwrap();
    d.chain()
        .advance_time(view.postOpensAt - now)
        .await
        .unwrap();
    let before = d.credit(s.challenger).await.unwrap();
    let r = d
        .settle_availability(s.challenger, s.round, 2)
        .await
        .unwrap();
    let (a, _) = d.availability(s.round, 2).await.unwrap();
    let paid = d.credit(s.challenger).await.unwrap() - before;
    // The challenger gets its whole bond back plus its challenge's and this settlement's cost.
    let bond = d.availability_bond_for(dim).await.unwrap();
    check(
        "settleAvailability",
        &r,
        metered_gas(paid - bond - a.challengeCost),
    );

    // The aggregator posts a (wrong) result; the challenger disputes it.
    let (config, ..) = d.pending_config(s.round).await.unwrap();
    d.post_result(s.aggregator, s.round, B256::repeat_byte(1), config)
        .await
        .unwrap();
    let (game, r) = d.challenge(s.challenger, s.round).await.unwrap();
    let rec = d.game_record(game).await.unwrap();
    check("challenge", &r, metered_gas(rec.cost));

    // Two bisection steps and the challenger's responses (the first writes a fresh slot).
    let r = bisect_and_respond(&s, game, 2, false).await;
    let cost1 = d.game(game).await.unwrap().challengerCost;
    check("respond (first)", &r, metered_gas(cost1));
    let r = bisect_and_respond(&s, game, 3, true).await;
    let cost2 = d.game(game).await.unwrap().challengerCost;
    check("respond (later)", &r, metered_gas(cost2 - cost1));

    // The aggregator stops; the challenger claims the game by timeout.
    let cost_before = d.game(game).await.unwrap().challengerCost;
    d.chain().advance_time(d.params().clock + 1).await.unwrap();
    let r = d.timeout(s.challenger, game).await.unwrap();
    let cost_after = d.game(game).await.unwrap().challengerCost;
    check(
        "timeout (resolving)",
        &r,
        metered_gas(cost_after - cost_before),
    );

    // The claim pays the bond plus every metered cost, the claim's own included.
    let before = d.credit(s.challenger).await.unwrap();
    let r = d.claim_game(s.challenger, game).await.unwrap();
    let paid = d.credit(s.challenger).await.unwrap() - before;
    let earlier = rec.cost + cost_after;
    check(
        "claimGame (last)",
        &r,
        metered_gas(paid - d.params().challenger_bond - earlier),
    );
}
