//! The committed forge test vectors must be exactly what the generator produces, so the Solidity
//! tests check signatures of the frost-secp256k1 version this workspace pins.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn committed_vectors_match_generator_output() {
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../contracts/test/vectors/frost-secp256k1-generated.json");
    let dir = tempfile::tempdir().expect("tempdir");
    let fresh = dir.path().join("vectors.json");
    let status = Command::new(env!("CARGO_BIN_EXE_gen-frost-vectors"))
        .arg(&fresh)
        .status()
        .expect("running gen-frost-vectors");
    assert!(status.success(), "gen-frost-vectors failed");
    let fresh = std::fs::read_to_string(&fresh).expect("read fresh vectors");
    let committed = std::fs::read_to_string(&committed).expect("read committed vectors");
    assert!(
        fresh == committed,
        "contracts/test/vectors/frost-secp256k1-generated.json is stale: run `cargo run -p seqpool-l1 --bin gen-frost-vectors`"
    );
    let doc: serde_json::Value = serde_json::from_str(&fresh).expect("json");
    assert_eq!(doc["count"], 10);
}
