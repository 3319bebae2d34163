//! Writes contracts/test/vectors/frost-secp256k1-generated.json: signatures made by the
//! frost-secp256k1 crate with trusted-dealer keys for several (n, t), which the forge tests check
//! against the Solidity verifier. Seeded, so a re-run reproduces the file byte for byte.
//!
//! Usage: gen-frost-vectors [OUTPUT_PATH]

use std::path::PathBuf;

use anyhow::Context;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use seqpool_l1::frost_sig::{group_key_affine, signature_affine, DealtGroup};
use serde_json::json;

const SEED: u64 = 0x5e9_9001;
/// (n, t) with t = floor(2n/3) + 1, as the chain uses, plus the smallest group.
const GROUPS: [(u16, u16); 5] = [(2, 2), (3, 3), (4, 3), (10, 7), (100, 67)];
const DIGESTS_PER_GROUP: usize = 2;

fn main() -> anyhow::Result<()> {
    let out = match std::env::args_os().nth(1) {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../contracts/test/vectors/frost-secp256k1-generated.json"),
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(SEED);
    let mut vectors = Vec::new();
    for (n, t) in GROUPS {
        let group =
            DealtGroup::deal(n, t, &mut rng).with_context(|| format!("dealing n={n} t={t}"))?;
        let key = group_key_affine(group.verifying_key())?;
        for _ in 0..DIGESTS_PER_GROUP {
            let mut digest = [0u8; 32];
            rng.fill_bytes(&mut digest);
            let signature = group
                .sign(&digest, usize::from(t), &mut rng)
                .with_context(|| format!("signing n={n} t={t}"))?;
            group
                .verifying_key()
                .verify(&digest, &signature)
                .context("frost-secp256k1 rejected its own signature")?;
            let affine = signature_affine(&signature)?;
            vectors.push(json!({
                "n": n,
                "t": t,
                "group_public_key": format!("0x{}", hex::encode(group.verifying_key().serialize()?)),
                "px": format!("0x{}", hex::encode(key.x)),
                "py": format!("0x{}", hex::encode(key.y)),
                "digest": format!("0x{}", hex::encode(digest)),
                "signature": format!("0x{}", hex::encode(signature.serialize()?)),
                "rx": format!("0x{}", hex::encode(affine.r.x)),
                "ry": format!("0x{}", hex::encode(affine.r.y)),
                "z": format!("0x{}", hex::encode(affine.z)),
            }));
        }
    }
    let doc = json!({
        "generator": "cargo run -p seqpool-l1 --bin gen-frost-vectors (frost-secp256k1 3.0, trusted dealer, ChaCha20 seed)",
        "seed": SEED,
        "count": vectors.len(),
        "vectors": vectors,
    });
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("wrote {} vectors to {}", doc["count"], out.display());
    Ok(())
}
