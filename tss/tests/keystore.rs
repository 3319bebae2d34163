//! The encrypted LevelDB keystore: real files, real FROST material, a child process killed with
//! SIGKILL mid-signing, and a byte scan proving no secret is stored in plaintext.
#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use frost_secp256k1::round1::SigningNonces;
use frost_secp256k1::{Identifier, SigningPackage};
use prost::Message;
use seqpool_tss::keystore::{KdfParams, Keystore, KeystoreSecret};
use seqpool_tss::messages::{self, pb};
use seqpool_tss::{sign, KeyId, SessionId, TssError};

const PASS: &str = "correct horse battery staple";

fn fast_kdf() -> KdfParams {
    KdfParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    }
}

fn files_contain(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle)
    })
}

fn nonce_secrets(nonces: &SigningNonces) -> Vec<Vec<u8>> {
    vec![nonces.hiding().serialize(), nonces.binding().serialize()]
}

#[test]
fn keys_and_nonces_round_trip_and_survive_reopen() {
    let mut rng = rng(41);
    let members = members(4, &mut rng);
    let key = run_dkg(KeyId(1), SessionId(1), &members, &mut rng);
    let me = members[0].id;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut ks = Keystore::open(dir.path(), &KeystoreSecret::passphrase(PASS)).unwrap();
        ks.put_key(KeyId(1), &key.shares[&me], &key.public).unwrap();
        ks.generate_nonces(KeyId(1), 10, &mut rng).unwrap();
        assert_eq!(ks.unused_nonces(KeyId(1)).unwrap(), 10);
    }
    let mut ks = Keystore::open(dir.path(), &KeystoreSecret::passphrase(PASS)).unwrap();
    let (kp, pkp) = ks.key(KeyId(1)).unwrap();
    assert_eq!(&kp, &key.shares[&me]);
    assert_eq!(pkp, key.public);
    assert_eq!(ks.unused_nonces(KeyId(1)).unwrap(), 10);
    assert!(matches!(
        ks.key(KeyId(2)),
        Err(TssError::UnknownKey(KeyId(2)))
    ));
    // Key ids list the shares held, not their nonce records; a deleted key is gone from it.
    ks.put_key(KeyId(7), &key.shares[&me], &key.public).unwrap();
    ks.put_key(KeyId(u64::MAX), &key.shares[&me], &key.public)
        .unwrap();
    assert_eq!(
        ks.key_ids().unwrap(),
        vec![KeyId(1), KeyId(7), KeyId(u64::MAX)]
    );
    ks.delete_key(KeyId(7)).unwrap();
    assert_eq!(ks.key_ids().unwrap(), vec![KeyId(1), KeyId(u64::MAX)]);
    assert_eq!(ks.public_package(KeyId(1)).unwrap(), key.public);
}

#[test]
fn wrong_passphrase_and_key_files() {
    let dir = tempfile::tempdir().unwrap();
    drop(Keystore::open(dir.path(), &KeystoreSecret::passphrase(PASS)).unwrap());
    let err = Keystore::open(dir.path(), &KeystoreSecret::passphrase("not it"))
        .err()
        .unwrap();
    assert!(matches!(err, TssError::WrongPassphrase), "{err}");
    assert!(err.to_string().contains("wrong passphrase"));

    let key_dir = tempfile::tempdir().unwrap();
    let key_file = key_dir.path().join("keystore.key");
    std::fs::write(&key_file, [7u8; 64]).unwrap();
    let other_file = key_dir.path().join("other.key");
    std::fs::write(&other_file, [8u8; 64]).unwrap();
    let short_file = key_dir.path().join("short.key");
    std::fs::write(&short_file, [8u8; 16]).unwrap();
    let store = tempfile::tempdir().unwrap();
    drop(
        Keystore::open_with(
            store.path(),
            &KeystoreSecret::KeyFile(key_file.clone()),
            fast_kdf(),
        )
        .unwrap(),
    );
    Keystore::open(store.path(), &KeystoreSecret::KeyFile(key_file)).unwrap();
    assert!(matches!(
        Keystore::open(store.path(), &KeystoreSecret::KeyFile(other_file))
            .err()
            .unwrap(),
        TssError::WrongPassphrase
    ));
    assert!(matches!(
        Keystore::open(store.path(), &KeystoreSecret::KeyFile(short_file))
            .err()
            .unwrap(),
        TssError::InvalidParameters(_)
    ));
}

fn raw_db(path: &Path) -> rusty_leveldb::DB {
    rusty_leveldb::DB::open(path, rusty_leveldb::Options::default()).unwrap()
}

fn share_record(key_id: u64) -> Vec<u8> {
    [b"k/".as_slice(), &key_id.to_be_bytes(), b"/share"].concat()
}

#[test]
fn corrupted_or_swapped_records_are_detected() {
    let mut rng = rng(42);
    let members = members(4, &mut rng);
    let key = run_dkg(KeyId(1), SessionId(1), &members, &mut rng);
    let me = members[0].id;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut ks =
            Keystore::open_with(dir.path(), &KeystoreSecret::passphrase(PASS), fast_kdf()).unwrap();
        ks.put_key(KeyId(1), &key.shares[&me], &key.public).unwrap();
        ks.put_key(KeyId(2), &key.shares[&me], &key.public).unwrap();
    }
    {
        // Flip one ciphertext byte of key 1's share; move key 1's sealed share under key 2.
        let mut db = raw_db(dir.path());
        let mut sealed = db.get(&share_record(1)).unwrap().to_vec();
        let moved = sealed.clone();
        let last = sealed.len() - 1;
        sealed[last] ^= 0x01;
        db.put(&share_record(1), &sealed).unwrap();
        db.put(&share_record(2), &moved).unwrap();
        db.flush().unwrap();
    }
    let mut ks = Keystore::open(dir.path(), &KeystoreSecret::passphrase(PASS)).unwrap();
    match ks.key(KeyId(1)) {
        Err(TssError::CorruptedRecord { record }) => assert_eq!(record, "key#1 share"),
        other => panic!("expected CorruptedRecord, got {:?}", other.map(|_| ())),
    }
    match ks.key(KeyId(2)) {
        Err(TssError::CorruptedRecord { record }) => assert_eq!(record, "key#2 share"),
        other => panic!("expected CorruptedRecord, got {:?}", other.map(|_| ())),
    }
}

/// A signing package for `signers` where `mine` is this member's stored commitment.
fn package_with(
    key: &Key,
    me: Identifier,
    mine: frost_secp256k1::round1::SigningCommitments,
    signers: &BTreeSet<Identifier>,
    message: &[u8],
    rng: &mut rand::rngs::StdRng,
) -> (SigningPackage, BTreeMap<Identifier, SigningNonces>) {
    let mut commitments = BTreeMap::new();
    let mut nonces = BTreeMap::new();
    for id in signers {
        if *id == me {
            commitments.insert(me, mine);
        } else {
            let (mut n, mut c) = sign::preprocess(&key.shares[id], 1, rng);
            nonces.insert(*id, n.remove(0));
            commitments.insert(*id, c.remove(0));
        }
    }
    (SigningPackage::new(commitments, message), nonces)
}

#[test]
fn a_nonce_signs_once_even_across_reopen() {
    let mut rng = rng(43);
    let members = members(4, &mut rng);
    let key = run_dkg(KeyId(1), SessionId(1), &members, &mut rng);
    let me = members[0].id;
    let signers: BTreeSet<Identifier> = key.shares.keys().copied().take(3).chain([me]).collect();
    let dir = tempfile::tempdir().unwrap();
    let (package, other_nonces) = {
        let mut ks =
            Keystore::open_with(dir.path(), &KeystoreSecret::passphrase(PASS), fast_kdf()).unwrap();
        ks.put_key(KeyId(1), &key.shares[&me], &key.public).unwrap();
        let commitments = ks.generate_nonces(KeyId(1), 2, &mut rng).unwrap();
        let (package, other_nonces) =
            package_with(&key, me, commitments[0], &signers, b"digest", &mut rng);
        let share = ks.sign(KeyId(1), &package).unwrap();
        // The share is valid: it aggregates into a signature under the group key.
        let mut shares = BTreeMap::from([(me, share)]);
        for (id, n) in &other_nonces {
            shares.insert(
                *id,
                sign::sign_with_nonces(&key.shares[id], &key.public, &package, n).unwrap(),
            );
        }
        sign::aggregate(&package, &shares, &key.public).unwrap();
        assert!(matches!(
            ks.sign(KeyId(1), &package),
            Err(TssError::ReusedCommitment(_))
        ));
        // A different message with the same commitment is refused too.
        let (again, _) = package_with(
            &key,
            me,
            commitments[0],
            &signers,
            b"other digest",
            &mut rng,
        );
        assert!(matches!(
            ks.sign(KeyId(1), &again),
            Err(TssError::ReusedCommitment(_))
        ));
        assert_eq!(ks.unused_nonces(KeyId(1)).unwrap(), 1);
        (package, other_nonces)
    };
    let _ = other_nonces;
    let mut ks = Keystore::open(dir.path(), &KeystoreSecret::passphrase(PASS)).unwrap();
    assert!(matches!(
        ks.sign(KeyId(1), &package),
        Err(TssError::ReusedCommitment(_))
    ));
    // A commitment the keystore never made is refused.
    let (_, foreign) = sign::preprocess(&key.shares[&me], 1, &mut rng);
    let (unknown, _) = package_with(&key, me, foreign[0], &signers, b"digest", &mut rng);
    assert!(matches!(
        ks.sign(KeyId(1), &unknown),
        Err(TssError::UnknownNonce)
    ));
}

#[test]
fn no_share_or_nonce_in_plaintext_and_deletion_erases() {
    let mut rng = rng(44);
    let members = members(4, &mut rng);
    let key = run_dkg(KeyId(1), SessionId(1), &members, &mut rng);
    let me = members[0].id;
    let dir = tempfile::tempdir().unwrap();
    let kp = &key.shares[&me];
    let (nonces, _) = sign::preprocess(kp, 20, &mut rng);
    let mut secrets: Vec<Vec<u8>> = vec![kp.signing_share().serialize(), kp.serialize().unwrap()];
    for n in &nonces {
        secrets.extend(nonce_secrets(n));
        secrets.push(n.serialize().unwrap());
    }
    let mut ks =
        Keystore::open_with(dir.path(), &KeystoreSecret::passphrase(PASS), fast_kdf()).unwrap();
    ks.put_key(KeyId(1), kp, &key.public).unwrap();
    ks.store_nonces(KeyId(1), &nonces).unwrap();
    let check = |stage: &str| {
        // The scan does read the stored records: the (public) record keys are found.
        assert!(
            files_contain(dir.path(), &share_record(1)),
            "{stage}: scan found no record keys"
        );
        for secret in &secrets {
            assert!(
                !files_contain(dir.path(), secret),
                "{stage}: a secret is stored in plaintext"
            );
        }
    };
    check("write-ahead log");
    ks.flush().unwrap();
    check("table files");
    assert_eq!(ks.delete_key(KeyId(1)).unwrap(), 22);
    assert!(matches!(ks.key(KeyId(1)), Err(TssError::UnknownKey(_))));
    assert_eq!(ks.unused_nonces(KeyId(1)).unwrap(), 0);
    drop(ks);
    let mut ks = Keystore::open(dir.path(), &KeystoreSecret::passphrase(PASS)).unwrap();
    assert!(matches!(ks.key(KeyId(1)), Err(TssError::UnknownKey(_))));
    for secret in &secrets {
        assert!(!files_contain(dir.path(), secret));
    }
}

const CRASH_DIR: &str = "SEQPOOL_TSS_CRASH_DIR";
/// Fresh shares the child makes before it waits to be killed, so that it cannot finish the whole
/// list before the parent has read far enough to kill it.
const CRASH_LIMIT: &str = "SEQPOOL_TSS_CRASH_LIMIT";

/// Child half of the crash test: signs every package listed in the work file, printing each
/// share as soon as the keystore returned it. It is killed with SIGKILL at an arbitrary point.
#[test]
fn crash_child_entry() {
    let Ok(dir) = std::env::var(CRASH_DIR) else {
        return;
    };
    let dir = Path::new(&dir);
    let mut ks = Keystore::open(&dir.join("store"), &KeystoreSecret::passphrase(PASS)).unwrap();
    let work = std::fs::read_to_string(dir.join("packages.hex")).unwrap();
    let limit: usize = std::env::var(CRASH_LIMIT)
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(usize::MAX);
    let mut fresh = 0;
    for (i, line) in work.lines().enumerate() {
        if fresh == limit {
            // Block until the parent kills this process (it never writes to our stdin).
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        }
        let bytes = hex::decode(line).unwrap();
        let (key_id, _, package) = messages::signing_package_from_pb(
            &pb::SigningPackage::decode(bytes.as_slice()).unwrap(),
        )
        .unwrap();
        match ks.sign(key_id, &package) {
            Ok(share) => {
                fresh += 1;
                println!("signed {i} {}", hex::encode(share.serialize()))
            }
            Err(TssError::ReusedCommitment(_)) => println!("refused {i}"),
            Err(e) => panic!("child failed: {e}"),
        }
    }
    println!("done");
}

#[test]
fn sigkill_mid_signing_never_reuses_or_loses() {
    let mut rng = rng(45);
    let members = members(4, &mut rng);
    let key = run_dkg(KeyId(1), SessionId(1), &members, &mut rng);
    let me = members[0].id;
    let signers: BTreeSet<Identifier> = key
        .shares
        .keys()
        .copied()
        .filter(|id| *id != me)
        .take(2)
        .chain([me])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    const TOTAL: usize = 150;
    let mut packages = Vec::new();
    let mut others = Vec::new();
    {
        let mut ks =
            Keystore::open_with(&store, &KeystoreSecret::passphrase(PASS), fast_kdf()).unwrap();
        ks.put_key(KeyId(1), &key.shares[&me], &key.public).unwrap();
        let commitments = ks.generate_nonces(KeyId(1), TOTAL as u8, &mut rng).unwrap();
        let mut lines = String::new();
        for (i, c) in commitments.iter().enumerate() {
            let (package, nonces) = package_with(
                &key,
                me,
                *c,
                &signers,
                format!("msg {i}").as_bytes(),
                &mut rng,
            );
            let encoded =
                messages::signing_package_to_pb(KeyId(1), SessionId(i as u64), &package).unwrap();
            lines.push_str(&hex::encode(encoded.encode_to_vec()));
            lines.push('\n');
            packages.push(package);
            others.push(nonces);
        }
        std::fs::write(dir.path().join("packages.hex"), lines).unwrap();
    }
    let mut signed: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    // Kill the child at three different points; each run resumes on the same keystore.
    for kill_after in [3usize, 11, 29] {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_child_entry",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_DIR, dir.path())
            .env(CRASH_LIMIT, (kill_after + 40).to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut fresh = 0;
        let mut killed = false;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            // libtest prints "test crash_child_entry ... " on the line the child's first output
            // continues, so look for the marker anywhere in the line.
            let Some(start) = ["signed ", "refused "]
                .iter()
                .filter_map(|marker| line.find(marker))
                .min()
            else {
                continue;
            };
            let mut parts = line[start..].split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some("signed"), Some(i), Some(share)) => {
                    let i: usize = i.parse().unwrap();
                    assert!(
                        signed.insert(i, hex::decode(share).unwrap()).is_none(),
                        "package {i} signed twice"
                    );
                    fresh += 1;
                    if fresh == kill_after && !killed {
                        child.kill().unwrap(); // SIGKILL on Unix
                        killed = true;
                    }
                }
                (Some("refused"), Some(i), _) => {
                    let i: usize = i.parse().unwrap();
                    assert!(i < TOTAL);
                }
                _ => {}
            }
        }
        let status = child.wait().unwrap();
        assert!(
            killed && !status.success(),
            "child should have been killed (killed {killed}, status {status}, fresh {fresh})"
        );

        // After the crash: the keystore opens, every signed nonce stays retired, and at most one
        // nonce (retired but its share not yet printed) is missing from the count.
        let mut ks = Keystore::open(&store, &KeystoreSecret::passphrase(PASS)).unwrap();
        ks.key(KeyId(1)).unwrap();
        let unused = ks.unused_nonces(KeyId(1)).unwrap();
        assert!(
            unused == TOTAL - signed.len() || unused + 1 == TOTAL - signed.len(),
            "unused {unused}, signed {}",
            signed.len()
        );
        for i in signed.keys() {
            assert!(matches!(
                ks.sign(KeyId(1), &packages[*i]),
                Err(TssError::ReusedCommitment(_))
            ));
        }
    }
    // Every share the child returned is a correct share: it aggregates into a valid signature.
    for (i, share) in signed.iter().take(5) {
        let mut shares = BTreeMap::from([(
            me,
            frost_secp256k1::round2::SignatureShare::deserialize(share).unwrap(),
        )]);
        for (id, n) in &others[*i] {
            shares.insert(
                *id,
                sign::sign_with_nonces(&key.shares[id], &key.public, &packages[*i], n).unwrap(),
            );
        }
        sign::aggregate(&packages[*i], &shares, &key.public).unwrap();
    }
    // Nothing else was lost: the remaining unused nonces still sign.
    let mut ks = Keystore::open(&store, &KeystoreSecret::passphrase(PASS)).unwrap();
    let next = (0..TOTAL).rev().find(|i| !signed.contains_key(i)).unwrap();
    ks.sign(KeyId(1), &packages[next]).unwrap();
}

#[test]
fn member_identity_round_trips_encrypted_and_is_never_replaced() {
    let mut rng = rng(77);
    let identity = seqpool_tss::MemberSecret::random(&mut rng);
    let dir = tempfile::tempdir().unwrap();
    {
        let mut ks =
            Keystore::open_with(dir.path(), &KeystoreSecret::passphrase(PASS), fast_kdf()).unwrap();
        assert!(ks.identity().unwrap().is_none());
        ks.put_identity(&identity).unwrap();
        // Storing the same identity again is a no-op; a different one is refused.
        ks.put_identity(&identity).unwrap();
        let other = seqpool_tss::MemberSecret::random(&mut rng);
        assert!(matches!(
            ks.put_identity(&other),
            Err(TssError::InvalidParameters(_))
        ));
        ks.flush().unwrap();
    }
    let signer_secret = identity.signer_key().to_bytes();
    let encryption_secret = identity.encryption_key().to_bytes();
    assert!(!files_contain(dir.path(), &signer_secret));
    assert!(!files_contain(dir.path(), &encryption_secret));
    let mut ks = Keystore::open(dir.path(), &KeystoreSecret::passphrase(PASS)).unwrap();
    let back = ks.identity().unwrap().unwrap();
    assert_eq!(back.public(), identity.public());
    assert_eq!(back.signer_key().to_bytes(), signer_secret);
}
