//! Versioned reads, the prepare/commit rules, proofs and the latest-version cache.
use std::collections::BTreeMap;

use seqpool_store::{verify_proof, StateRead, Storage, StoreError};

type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

fn changes(items: &[(&str, Option<&str>)]) -> Changes {
    items
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec())))
        .collect()
}

fn commit(storage: &Storage, items: &[(&str, Option<&str>)], version: u64) -> [u8; 32] {
    let prepared = storage.prepare(changes(items), version).expect("prepare");
    let root = prepared.root;
    assert_eq!(storage.commit(prepared).expect("commit"), root);
    root
}

fn get(snapshot: &impl StateRead, key: &str) -> Option<String> {
    snapshot
        .get_raw(key.as_bytes())
        .expect("get")
        .map(|v| String::from_utf8(v).expect("utf8"))
}

fn prefix(snapshot: &impl StateRead, p: &str) -> Vec<(String, String)> {
    snapshot
        .prefix_raw(p.as_bytes())
        .expect("prefix")
        .into_iter()
        .map(|(k, v)| {
            (
                String::from_utf8(k).expect("utf8"),
                String::from_utf8(v).expect("utf8"),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn reads_at_past_heights_see_their_own_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    assert_eq!(storage.latest_version(), None);
    assert_eq!(get(&storage.latest_snapshot(), "a/1"), None);

    commit(
        &storage,
        &[
            ("a/1", Some("one")),
            ("a/2", Some("two")),
            ("b/1", Some("bee")),
        ],
        1,
    );
    commit(
        &storage,
        &[("a/1", Some("uno")), ("a/3", Some("three")), ("a/2", None)],
        2,
    );
    commit(
        &storage,
        &[
            ("a/1", None),
            ("a/2", Some("deux")),
            ("a", Some("bare")),
            ("a/0", Some("zero")),
        ],
        3,
    );
    assert_eq!(storage.latest_version(), Some(3));

    let v1 = storage.snapshot_at(1).expect("v1");
    let v2 = storage.snapshot_at(2).expect("v2");
    let v3 = storage.snapshot_at(3).expect("v3");
    assert_eq!(
        (v1.version(), v2.version(), v3.version()),
        (Some(1), Some(2), Some(3))
    );

    assert_eq!(get(&v1, "a/1").as_deref(), Some("one"));
    assert_eq!(get(&v2, "a/1").as_deref(), Some("uno"));
    assert_eq!(get(&v3, "a/1"), None);
    assert_eq!(get(&v1, "a/2").as_deref(), Some("two"));
    assert_eq!(get(&v2, "a/2"), None);
    assert_eq!(get(&v3, "a/2").as_deref(), Some("deux"));
    assert_eq!(get(&v1, "a/3"), None);

    assert_eq!(prefix(&v1, "a/"), pairs(&[("a/1", "one"), ("a/2", "two")]));
    assert_eq!(
        prefix(&v2, "a/"),
        pairs(&[("a/1", "uno"), ("a/3", "three")])
    );
    assert_eq!(
        prefix(&v3, "a/"),
        pairs(&[("a/0", "zero"), ("a/2", "deux"), ("a/3", "three")])
    );
    assert_eq!(
        prefix(&v3, "a"),
        pairs(&[
            ("a", "bare"),
            ("a/0", "zero"),
            ("a/2", "deux"),
            ("a/3", "three")
        ])
    );
    assert_eq!(prefix(&v3, "b/"), pairs(&[("b/1", "bee")]));
    assert_eq!(prefix(&v2, "c"), vec![]);
    assert_eq!(prefix(&v3, "").len(), 5);

    // Roots differ per version and the snapshots agree with root_hash.
    let roots: Vec<_> = (1..=3)
        .map(|v| storage.root_hash(v).expect("root"))
        .collect();
    assert_ne!(roots[0], roots[1]);
    assert_ne!(roots[1], roots[2]);
    assert_eq!(v1.root_hash(), roots[0]);
    assert_eq!(storage.latest_snapshot().root_hash(), roots[2]);

    assert!(matches!(
        storage.snapshot_at(4),
        Err(StoreError::VersionUnavailable {
            requested: 4,
            latest: Some(3)
        })
    ));
    // Version 0 was never committed: the first commit was version 1.
    assert!(matches!(
        storage.snapshot_at(0),
        Err(StoreError::VersionUnavailable { requested: 0, .. })
    ));
}

#[test]
fn keys_with_zero_bytes_and_prefix_boundaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    let mut c = Changes::new();
    for key in [
        &b"p\x00"[..],
        b"p\x00\x00",
        b"p\x00\x01",
        b"p\x01",
        b"p",
        b"q\x00",
        b"o\xff",
    ] {
        c.insert(key.to_vec(), Some(key.to_vec()));
    }
    storage
        .commit(storage.prepare(c, 5).expect("prepare"))
        .expect("commit");
    let snap = storage.latest_snapshot();
    let keys = |p: &[u8]| {
        snap.prefix_raw(p)
            .expect("prefix")
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(b"p\x00"),
        vec![
            b"p\x00".to_vec(),
            b"p\x00\x00".to_vec(),
            b"p\x00\x01".to_vec()
        ]
    );
    assert_eq!(keys(b"p").len(), 5);
    assert_eq!(keys(b"q"), vec![b"q\x00".to_vec()]);
    assert_eq!(
        snap.get_raw(b"p\x00\x00").expect("get"),
        Some(b"p\x00\x00".to_vec())
    );
    assert_eq!(snap.get_raw(b"p\x00\x02").expect("get"), None);
}

#[test]
fn prepare_rules_and_stale_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");

    // Genesis prepared at 0 only in memory, then discarded: nothing is written.
    let genesis = storage
        .prepare(changes(&[("g", Some("1"))]), 0)
        .expect("prepare genesis");
    drop(genesis);
    assert_eq!(storage.latest_version(), None);

    // First commit at version 1 (genesis + block 1 together).
    let root1 = commit(&storage, &[("g", Some("1")), ("x", Some("1"))], 1);

    assert!(matches!(
        storage.prepare(changes(&[("x", Some("2"))]), 3),
        Err(StoreError::VersionOutOfOrder {
            attempted: 3,
            expected: 2
        })
    ));
    assert!(matches!(
        storage.prepare(changes(&[("x", Some("2"))]), 1),
        Err(StoreError::VersionOutOfOrder {
            attempted: 1,
            expected: 2
        })
    ));

    // Two proposals for height 2; preparing twice is harmless and deterministic.
    let a = storage
        .prepare(changes(&[("x", Some("a"))]), 2)
        .expect("prepare a");
    let a_again = storage
        .prepare(changes(&[("x", Some("a"))]), 2)
        .expect("prepare a again");
    let b = storage
        .prepare(changes(&[("x", Some("b"))]), 2)
        .expect("prepare b");
    assert_eq!(a.root, a_again.root);
    assert_ne!(a.root, b.root);
    assert_eq!(storage.root_hash(1).expect("root 1"), root1);
    assert_eq!(get(&storage.latest_snapshot(), "x").as_deref(), Some("1"));

    let root_b = storage.commit(b).expect("commit b");
    assert_eq!(storage.latest_version(), Some(2));
    // `a` was built on version 1, which is no longer the latest.
    assert!(matches!(
        storage.commit(a),
        Err(StoreError::VersionOutOfOrder {
            attempted: 2,
            expected: 3
        })
    ));
    assert_eq!(storage.root_hash(2).expect("root 2"), root_b);
    assert_eq!(get(&storage.latest_snapshot(), "x").as_deref(), Some("b"));

    // Empty keys and values are refused with a clear error and nothing changes.
    assert!(matches!(
        storage.prepare(changes(&[("", Some("v"))]), 3),
        Err(StoreError::EmptyValue)
    ));
    assert!(matches!(
        storage.prepare(changes(&[("k", Some(""))]), 3),
        Err(StoreError::EmptyValue)
    ));

    // A block without changes still creates a version, with the same root.
    let root3 = commit(&storage, &[], 3);
    assert_eq!(root3, root_b);
    assert_eq!(storage.snapshot_at(3).expect("v3").root_hash(), root_b);

    // A prepared commit from another store is refused.
    let other_dir = tempfile::tempdir().expect("tempdir");
    let other = Storage::open(other_dir.path()).expect("open other");
    let foreign = other
        .prepare(changes(&[("z", Some("z"))]), 4)
        .expect("prepare foreign");
    assert!(matches!(storage.commit(foreign), Err(StoreError::Tree(_))));
    assert_eq!(storage.latest_version(), Some(3));
}

#[test]
fn empty_first_block_and_empty_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    let empty_root = storage.latest_snapshot().root_hash();
    // An empty block at version 7 on an empty store is the empty tree, as jmt computes it.
    assert_eq!(commit(&storage, &[], 7), empty_root);
    assert_eq!(storage.root_hash(7).expect("root"), empty_root);
    // Insert then delete everything: back to the empty root.
    let with_x = commit(&storage, &[("x", Some("1"))], 8);
    assert_ne!(with_x, empty_root);
    assert_eq!(commit(&storage, &[("x", None)], 9), empty_root);
    // Deleting an absent key is a no-op.
    assert_eq!(commit(&storage, &[("never", None)], 10), empty_root);

    let dir0 = tempfile::tempdir().expect("tempdir");
    let at_zero = Storage::open(dir0.path()).expect("open");
    assert_eq!(commit(&at_zero, &[], 0), empty_root);
}

#[test]
fn proofs_of_presence_and_absence_verify_and_tampering_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    let items: Vec<(String, String)> = (0..200)
        .map(|i| (format!("key/{i:03}"), format!("value {i}")))
        .collect();
    let c: Changes = items
        .iter()
        .map(|(k, v)| (k.clone().into_bytes(), Some(v.clone().into_bytes())))
        .collect();
    storage
        .commit(storage.prepare(c, 1).expect("prepare"))
        .expect("commit");
    commit(&storage, &[("key/007", Some("changed"))], 2);
    let root1 = storage.root_hash(1).expect("root1");
    let root2 = storage.root_hash(2).expect("root2");

    let (value, proof) = storage.get_with_proof(b"key/007", 1).expect("proof");
    assert_eq!(value.as_deref(), Some(&b"value 7"[..]));
    verify_proof(&root1, b"key/007", Some(b"value 7"), &proof).expect("valid at v1");
    assert!(verify_proof(&root2, b"key/007", Some(b"value 7"), &proof).is_err());
    assert!(verify_proof(&root1, b"key/007", Some(b"value 8"), &proof).is_err());
    assert!(verify_proof(&root1, b"key/008", Some(b"value 7"), &proof).is_err());

    let (value, proof) = storage.get_with_proof(b"key/007", 2).expect("proof v2");
    assert_eq!(value.as_deref(), Some(&b"changed"[..]));
    verify_proof(&root2, b"key/007", Some(b"changed"), &proof).expect("valid at v2");

    let (value, absent) = storage
        .get_with_proof(b"missing", 2)
        .expect("absence proof");
    assert_eq!(value, None);
    verify_proof(&root2, b"missing", None, &absent).expect("absence verifies");
    assert!(verify_proof(&root2, b"key/001", None, &absent).is_err());

    // Garbage and truncated proofs are errors, never panics.
    for bad in [
        vec![],
        vec![0xff; 7],
        proof[..proof.len() / 2].to_vec(),
        vec![0xff; 4096],
    ] {
        assert!(matches!(
            verify_proof(&root2, b"key/007", Some(b"changed"), &bad),
            Err(StoreError::InvalidProof(_))
        ));
    }
    let mut flipped = proof.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(verify_proof(&root2, b"key/007", Some(b"changed"), &flipped).is_err());

    assert!(matches!(
        storage.get_with_proof(b"key/007", 3),
        Err(StoreError::VersionUnavailable { .. })
    ));
}

#[test]
fn latest_reads_stay_exact_across_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    commit(&storage, &[("a", Some("1")), ("b", Some("1"))], 1);
    let v1 = storage.latest_snapshot();
    // Warm the cache with a hit and a miss at version 1.
    assert_eq!(get(&v1, "a").as_deref(), Some("1"));
    assert_eq!(get(&v1, "c"), None);
    commit(&storage, &[("a", Some("2")), ("c", Some("2"))], 2);
    let v2 = storage.latest_snapshot();
    assert_eq!(get(&v2, "a").as_deref(), Some("2"));
    assert_eq!(get(&v2, "c").as_deref(), Some("2"));
    assert_eq!(get(&v2, "b").as_deref(), Some("1"));
    // The old snapshot keeps reading version 1 although the cache now describes version 2.
    assert_eq!(get(&v1, "a").as_deref(), Some("1"));
    assert_eq!(get(&v1, "c"), None);

    // Snapshots and handles work from other threads.
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let s = storage.clone();
            std::thread::spawn(move || get(&s.latest_snapshot(), "a"))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("thread").as_deref(), Some("2"));
    }
}

#[test]
fn a_directory_is_opened_by_one_handle_at_a_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    assert!(matches!(Storage::open(dir.path()), Err(StoreError::Db(_))));
    drop(storage);
    Storage::open(dir.path()).expect("reopen after the first handle is gone");
}

#[test]
fn handles_are_clone_send_sync() {
    fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
    assert_shareable::<Storage>();
    assert_shareable::<seqpool_store::Snapshot>();
    fn assert_send<T: Send + 'static>() {}
    assert_send::<seqpool_store::PreparedCommit>();
}
