//! A process killed while rusty-leveldb appends a version edit to its MANIFEST leaves a torn last
//! record there (an edit is several `write` calls: header, then fragments). rusty-leveldb reads a
//! manifest up to its first bad record and, by default (`reuse_manifest`), appends the next
//! session's edits after it, where its reader never looks again: the tables those edits added are
//! unknown on the open after, deleted as obsolete, and the logs they replaced are gone already.
//! The store opens LevelDB with `reuse_manifest = false`. (Found reading rusty-leveldb while
//! chasing a crash_stress failure whose cause was another one, tests/leveldb_get.rs.)
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use seqpool_store::{RootHash, StateRead, Storage};

type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

fn block(version: u64) -> Changes {
    (0..200u64)
        .map(|i| {
            let key = format!("acct/{:04}", (version * 37 + i * 11) % 1_000);
            (
                key.into_bytes(),
                Some(format!("v{version}/{i}").into_bytes()),
            )
        })
        .collect()
}

fn commit_blocks(storage: &Storage, versions: std::ops::RangeInclusive<u64>) -> RootHash {
    let mut root = [0; 32];
    for version in versions {
        let prepared = storage.prepare(block(version), version).expect("prepare");
        root = storage.commit(prepared).expect("commit");
    }
    root
}

fn content(latest: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut content = BTreeMap::new();
    for version in 1..=latest {
        for (k, v) in block(version) {
            content.insert(k, v.expect("only writes"));
        }
    }
    content
}

/// The manifest that `CURRENT` names.
fn current_manifest(dir: &Path) -> PathBuf {
    let current = std::fs::read_to_string(dir.join("CURRENT")).expect("CURRENT");
    dir.join(current.trim())
}

#[test]
fn a_torn_manifest_record_loses_no_later_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    commit_blocks(&storage, 1..=3);
    drop(storage);

    // The kill, in the middle of appending an edit: a record header (checksum, length 200, type
    // FULL) and only the first 10 of its 200 bytes.
    let mut manifest = std::fs::OpenOptions::new()
        .append(true)
        .open(current_manifest(dir.path()))
        .expect("open manifest");
    manifest
        .write_all(&[0x12, 0x34, 0x56, 0x78, 200, 0, 1])
        .and_then(|()| manifest.write_all(&[0xAB; 10]))
        .expect("tear the manifest");
    drop(manifest);

    // The next session: its open moves LevelDB's log (versions 1..=3) into a table, which a
    // manifest edit records, and deletes the log; then it commits 4..=6 and closes.
    let storage = Storage::open(dir.path()).expect("open after the torn edit");
    assert_eq!(storage.latest_version(), Some(3));
    let root6 = commit_blocks(&storage, 4..=6);
    drop(storage);

    let storage = Storage::open(dir.path()).expect("open again");
    assert_eq!(storage.latest_version(), Some(6));
    assert_eq!(storage.root_hash(6).expect("root 6"), root6);
    for version in [1, 3, 6] {
        let entries: BTreeMap<Vec<u8>, Vec<u8>> = storage
            .snapshot_at(version)
            .expect("snapshot")
            .prefix_raw(b"acct/")
            .expect("prefix")
            .into_iter()
            .collect();
        assert!(entries == content(version), "content at version {version}");
    }
}
