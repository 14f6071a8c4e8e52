//! Shared data-availability vector: the Rust segment layout and the registry's `revealSegment`
//! agree on a multi-segment update (paths above the segment subtrees, a partial last segment).
//!
//! `contracts/test/vectors/segments.json` holds an update of 16,484 values (three segments: two
//! full 32 KiB ones and a partial one) with its root and every segment's reveal;
//! `contracts/test/SegmentVectors.t.sol` reveals them through the real registry. This test
//! checks that the file regenerates bit for bit from `step-vm`.
//! `UPDATE_VECTORS=1 cargo test -p fl-tests --test segments` rewrites it.

use std::path::PathBuf;

use alloy::hex;
use serde_json::{Value, json};
use step_vm::{Update, segment_count, segment_root};

const DIM: usize = 8_192 * 2 + 100;

fn update() -> Update {
    let dim = i32::try_from(DIM).expect("small dim");
    // Mixed signs, magnitudes and zero bytes, deterministic.
    Update::from_fixed(
        (0..dim)
            .map(|i| i.wrapping_mul(-1_640_531_535) >> (i % 17))
            .collect(),
    )
}

fn vector() -> Value {
    let u = update();
    let tree = u.tree();
    let segments: Vec<Value> = (0..segment_count(DIM))
        .map(|s| {
            let r = u.segment_reveal(&tree, s).expect("in range");
            assert_eq!(segment_root(DIM, &r).expect("well formed"), tree.root());
            json!({
                "segment": s,
                "values": format!("0x{}", hex::encode(&r.values)),
                "path": r.path.iter().map(|p| format!("0x{}", hex::encode(p))).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "dim": DIM,
        "root": format!("0x{}", hex::encode(tree.root())),
        "segments": segments,
    })
}

#[test]
fn segment_vector_regenerates_from_the_vm() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts/test/vectors/segments.json");
    let fresh = serde_json::to_string_pretty(&vector()).expect("serialises") + "\n";
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::write(&path, &fresh).expect("writes the vector");
        return;
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_VECTORS=1 writes it)", path.display()));
    assert!(
        committed == fresh,
        "{} is stale: UPDATE_VECTORS=1 cargo test -p fl-tests --test segments rewrites it",
        path.display()
    );
}
