//! Damaged records give a clear StoreError naming the record, never a panic.
use std::collections::BTreeMap;
use std::path::Path;

use rusty_leveldb::{LdbIterator, Options, DB};
use seqpool_store::{StateRead, Storage, StoreError};

fn populate(dir: &Path) -> [u8; 32] {
    let storage = Storage::open(dir).expect("open");
    let mut root = [0; 32];
    for version in 1..=3u64 {
        let changes: BTreeMap<Vec<u8>, Option<Vec<u8>>> = (0..300u64)
            .map(|i| {
                (
                    format!("key/{i:04}").into_bytes(),
                    Some(format!("v{version}-{i}").into_bytes()),
                )
            })
            .collect();
        root = storage
            .commit(storage.prepare(changes, version).expect("prepare"))
            .expect("commit");
    }
    root
}

/// Edits the raw database while no Storage has it open.
fn with_raw_db(dir: &Path, edit: impl FnOnce(&mut DB)) {
    let mut db = DB::open(dir, Options::default()).expect("raw open");
    edit(&mut db);
    db.flush().expect("raw flush");
}

fn node_keys(db: &mut DB) -> Vec<Vec<u8>> {
    let mut iter = db.new_iter().expect("iter");
    iter.seek(b"n");
    let mut out = Vec::new();
    while let Some((k, _)) = iter.current() {
        if !k.starts_with(b"n") {
            break;
        }
        out.push(k.to_vec());
        if !iter.advance() {
            break;
        }
    }
    out
}

fn assert_corrupt<T>(result: Result<T, StoreError>, what: &str) -> String {
    match result {
        Err(e @ StoreError::Corrupt { .. }) => e.to_string(),
        Err(other) => panic!("{what}: expected Corrupt, got {other:?}"),
        Ok(_) => panic!("{what}: expected Corrupt, got Ok"),
    }
}

#[test]
fn damaged_version_marker_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    populate(dir.path());

    with_raw_db(dir.path(), |db| {
        db.put(b"mlatest", b"garbage").expect("put")
    });
    let msg = assert_corrupt(Storage::open(dir.path()), "short marker");
    assert!(msg.contains("marker"), "{msg}");

    // Well-formed but pointing at a version that was never committed.
    let mut marker = 9u64.to_be_bytes().to_vec();
    marker.extend_from_slice(&[7; 32]);
    with_raw_db(dir.path(), |db| db.put(b"mlatest", &marker).expect("put"));
    let msg = assert_corrupt(Storage::open(dir.path()), "marker to unknown version");
    assert!(msg.contains("version 9"), "{msg}");

    // Right version, wrong root.
    let mut marker = 3u64.to_be_bytes().to_vec();
    marker.extend_from_slice(&[7; 32]);
    with_raw_db(dir.path(), |db| db.put(b"mlatest", &marker).expect("put"));
    assert_corrupt(Storage::open(dir.path()), "marker with a wrong root");

    // Marker deleted while the tree exists.
    with_raw_db(dir.path(), |db| db.delete(b"mlatest").expect("delete"));
    assert_corrupt(Storage::open(dir.path()), "missing marker");
}

#[test]
fn damaged_tree_nodes_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = populate(dir.path());

    // Damage every non-root node of version 3 by one bit: reads through the tree must fail cleanly.
    with_raw_db(dir.path(), |db| {
        let keys = node_keys(db);
        let mut damaged = 0;
        for key in keys {
            let version = u64::from_be_bytes(key[1..9].try_into().expect("8 bytes"));
            let is_root = key.len() == 10; // `n`, version, nibble count 0
            if version == 3 && !is_root {
                let mut record = db.get(&key).expect("node record").to_vec();
                let last = record.len() - 1;
                record[last] ^= 0x40;
                db.put(&key, &record).expect("put");
                damaged += 1;
            }
        }
        assert!(damaged > 100, "damaged only {damaged} nodes");
    });
    let storage = Storage::open(dir.path()).expect("the root node is intact, so open works");
    assert_eq!(storage.latest_snapshot().root_hash(), root);
    let msg = assert_corrupt(
        storage.get_with_proof(b"key/0001", 3),
        "proof through a damaged node",
    );
    assert!(msg.contains("checksum"), "{msg}");
    let next: BTreeMap<Vec<u8>, Option<Vec<u8>>> =
        [(b"key/0001".to_vec(), Some(b"x".to_vec()))].into();
    assert_corrupt(storage.prepare(next, 4), "prepare over a damaged node");
    // Values live outside the tree, so plain reads still work.
    assert_eq!(
        storage.latest_snapshot().get_raw(b"key/0001").expect("get"),
        Some(b"v3-1".to_vec())
    );
    drop(storage);

    // A damaged root node stops the store from opening.
    with_raw_db(dir.path(), |db| {
        let mut key = b"n".to_vec();
        key.extend_from_slice(&3u64.to_be_bytes());
        key.push(0); // the root: an empty nibble path
        db.put(&key, b"\x01\x02").expect("put");
    });
    assert_corrupt(Storage::open(dir.path()), "damaged root node");
}

#[test]
fn damaged_value_records_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    populate(dir.path());
    with_raw_db(dir.path(), |db| {
        let mut iter = db.new_iter().expect("iter");
        iter.seek(b"kkey/0002");
        let (key, _) = iter.current().expect("an index entry");
        let key = key.to_vec();
        drop(iter);
        db.put(&key, b"\x09bad tag").expect("put");
    });
    let storage = Storage::open(dir.path()).expect("open");
    assert_corrupt(
        storage.latest_snapshot().get_raw(b"key/0002"),
        "get of a damaged value",
    );
    assert_corrupt(
        storage.latest_snapshot().prefix_raw(b"key/"),
        "prefix over a damaged value",
    );
}
