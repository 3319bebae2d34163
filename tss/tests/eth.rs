//! Ethereum compatibility: the request digest against values computed independently with
//! `cast` (Foundry), the RFC 9591 vector through the ecrecover check the L1 verifier uses, and
//! engine-made vectors in the format of contracts/test/vectors (tss/testdata/).
#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod common;

use std::collections::BTreeSet;

use common::*;
use frost_secp256k1::{Identifier, Signature, VerifyingKey};
use seqpool_tss::eth::{self, RequestType};
use seqpool_tss::{KeyId, SessionId, TssError};

fn h32(s: &str) -> [u8; 32] {
    hex::decode(s.trim_start_matches("0x"))
        .unwrap()
        .try_into()
        .unwrap()
}

#[test]
fn request_digest_matches_cast() {
    // cast keccak "seqpool.l1.v1"
    assert_eq!(
        eth::keccak256(eth::DOMAIN_TAG_PREIMAGE),
        h32("0xfac05ee9ddd233eeceb5865ccbb04a78e04a43667465c7b6682d3f3e8a5c7413")
    );
    // cast keccak $(cast abi-encode "f(bytes32,uint256,address,uint8,uint256,bytes32)" \
    //   $TAG 31337 0x5FbDB2315678afecb367f032d93F642f64180aa3 1 7 0xabab..ab)
    let target: [u8; 20] = hex::decode("5FbDB2315678afecb367f032d93F642f64180aa3")
        .unwrap()
        .try_into()
        .unwrap();
    let digest = eth::request_digest(31337, target, RequestType::Batch, 7, [0xab; 32]);
    assert_eq!(
        digest,
        h32("0xf424328b632e2f391bdc17e44a0911f0aed6203e7b6d3d2fd3135d0011c3d71a")
    );
    // Every bound field changes the digest.
    assert_ne!(
        digest,
        eth::request_digest(1, target, RequestType::Batch, 7, [0xab; 32])
    );
    assert_ne!(
        digest,
        eth::request_digest(31337, [0; 20], RequestType::Batch, 7, [0xab; 32])
    );
    assert_ne!(
        digest,
        eth::request_digest(31337, target, RequestType::GovernanceAction, 7, [0xab; 32])
    );
    assert_ne!(
        digest,
        eth::request_digest(31337, target, RequestType::Batch, 8, [0xab; 32])
    );
}

#[test]
fn rfc9591_vector_passes_the_l1_check() {
    // RFC 9591 appendix E.5 (as in contracts/test/vectors/rfc9591-secp256k1.json).
    let key = VerifyingKey::deserialize(
        &hex::decode("02f37c34b66ced1fb51c34a90bdae006901f10625cc06c4f64663b0eae87d87b4f").unwrap(),
    )
    .unwrap();
    let sig_bytes = hex::decode("024c1ad4e031872661fa6ebd05dfc7fb30db08b38d79f0edbc82051ae931381bc6a46881e25c7989d3816eae32074f1ab0d49ee908a59713ed5284c6bade7cfb02").unwrap();
    let signature = Signature::deserialize(&sig_bytes).unwrap();
    assert!(eth::verify_like_l1(&key, &signature, b"test").unwrap());
    assert!(!eth::verify_like_l1(&key, &signature, b"tesu").unwrap());
    let affine = eth::signature_affine(&signature).unwrap();
    assert_eq!(
        affine.r.y,
        h32("0x004f4e57b19db58941523f0f8af6bf04bbe925e4550517c3a87e1bf89d6fd032")
    );
    let p = eth::group_key_affine(&key).unwrap();
    assert_eq!(
        p.y,
        h32("0x27be69ffdc4ad5af4bbad67a570e9f8cede4e1a87ce3df1588dfe0b85c6272b8")
    );
}

#[test]
fn group_keys_with_x_not_below_order_are_refused() {
    let mut at_order = eth::ORDER_N;
    assert!(matches!(
        eth::check_x_below_order(&at_order),
        Err(TssError::GroupKeyUnsuitable)
    ));
    at_order[31] += 1;
    assert!(eth::check_x_below_order(&at_order).is_err());
    let mut below = eth::ORDER_N;
    below[31] -= 1;
    eth::check_x_below_order(&below).unwrap();
}

fn x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Engine vectors: DKG-made keys (both parities of Py), one-round signatures over request
/// digests, checked with the L1 rule. Set SEQPOOL_TSS_WRITE_VECTORS=1 to rewrite the file.
#[test]
fn engine_vectors_match_the_committed_file() {
    let mut rng = rng(2026);
    let mut entries = Vec::new();
    let mut parities = BTreeSet::new();
    let target: [u8; 20] = [0x11; 20];
    for (k, n) in [4usize, 4, 7, 7, 10, 10, 5, 6, 13, 16]
        .into_iter()
        .enumerate()
    {
        let members = members(n, &mut rng);
        let key = run_dkg(KeyId(k as u64), SessionId(1), &members, &mut rng);
        let ids: Vec<Identifier> = key.shares.keys().copied().collect();
        let t = key.public.min_signers().unwrap() as usize;
        let signers = random_subset(&ids, t, &mut rng);
        let payload = eth::keccak256(format!("batch header {k}").as_bytes());
        let digest = eth::request_digest(31337, target, RequestType::Batch, k as u64, payload);
        let signature = sign_with(&key, &signers, &digest, &mut rng);
        let vk = key.public.verifying_key();
        assert!(eth::verify_like_l1(vk, &signature, &digest).unwrap());
        let mut wrong = digest;
        wrong[0] ^= 1;
        assert!(!eth::verify_like_l1(vk, &signature, &wrong).unwrap());
        let p = eth::group_key_affine(vk).unwrap();
        parities.insert(p.y_is_odd());
        let s = eth::signature_affine(&signature).unwrap();
        entries.push(format!(
            "    {{\n      \"chain_id\": 31337,\n      \"digest\": \"{}\",\n      \"group_public_key\": \"{}\",\n      \"n\": {n},\n      \"payload_hash\": \"{}\",\n      \"px\": \"{}\",\n      \"py\": \"{}\",\n      \"request_type\": 1,\n      \"rx\": \"{}\",\n      \"ry\": \"{}\",\n      \"sequence\": {k},\n      \"signature\": \"{}\",\n      \"t\": {t},\n      \"target\": \"{}\",\n      \"z\": \"{}\"\n    }}",
            x(&digest),
            x(&vk.serialize().unwrap()),
            x(&payload),
            x(&p.x),
            x(&p.y),
            x(&s.r.x),
            x(&s.r.y),
            x(&signature.serialize().unwrap()),
            x(&target),
            x(&s.z),
        ));
    }
    assert_eq!(
        parities.len(),
        2,
        "vectors should cover both parities of Py"
    );
    let json = format!(
        "{{\n  \"count\": {},\n  \"generator\": \"cargo test -p seqpool-tss --test eth engine_vectors (DKG + one-round signing of seqpool-tss; SEQPOOL_TSS_WRITE_VECTORS=1 rewrites)\",\n  \"vectors\": [\n{}\n  ]\n}}\n",
        entries.len(),
        entries.join(",\n")
    );
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/frost-engine-vectors.json");
    if std::env::var("SEQPOOL_TSS_WRITE_VECTORS").is_ok() {
        std::fs::write(&path, &json).unwrap();
    }
    let committed = std::fs::read_to_string(&path).expect("testdata/frost-engine-vectors.json");
    assert_eq!(
        committed, json,
        "engine vectors changed; rerun with SEQPOOL_TSS_WRITE_VECTORS=1"
    );
}
