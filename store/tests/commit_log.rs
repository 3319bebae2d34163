//! The crash windows of the commit log: a commit is durable once its record is in `commits.wal`;
//! LevelDB receives the batch afterwards and is synced at checkpoints. Each test builds the files a
//! crash in one window leaves behind (LevelDB as of an earlier close plus the log as of a later
//! commit) and checks what opening them gives.
use std::collections::BTreeMap;
use std::path::Path;

use seqpool_store::{RootHash, StateRead, Storage, StoreError};

type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

const LOG: &str = "commits.wal";

/// Block `version`: 500 writes over a shared key space, and every fifth block deletes some keys.
fn block(version: u64) -> Changes {
    let mut changes = Changes::new();
    for i in 0..500u64 {
        let key = format!("acct/{:04}", (version * 131 + i * 7) % 3_000);
        changes.insert(
            key.into_bytes(),
            Some(format!("v{version}/{i}").into_bytes()),
        );
    }
    #[allow(clippy::manual_is_multiple_of)] // is_multiple_of needs Rust 1.87; MSRV is 1.85
    if version % 5 == 0 {
        for j in 0..40u64 {
            changes.insert(
                format!("acct/{:04}", (version + j * 71) % 3_000).into_bytes(),
                None,
            );
        }
    }
    changes
}

fn commit_blocks(storage: &Storage, versions: std::ops::RangeInclusive<u64>) -> RootHash {
    let mut root = [0; 32];
    for version in versions {
        let prepared = storage.prepare(block(version), version).expect("prepare");
        root = storage.commit(prepared).expect("commit");
    }
    root
}

/// The content of `acct/` at every version up to `latest`, from the blocks.
fn expected_content(latest: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut content = BTreeMap::new();
    for version in 1..=latest {
        for (k, v) in block(version) {
            match v {
                Some(v) => content.insert(k, v),
                None => content.remove(&k),
            };
        }
    }
    content
}

fn assert_state(storage: &Storage, latest: u64, root: RootHash) {
    assert_eq!(storage.latest_version(), Some(latest));
    assert_eq!(storage.root_hash(latest).expect("root"), root);
    for version in [1, latest / 2 + 1, latest] {
        let entries: BTreeMap<Vec<u8>, Vec<u8>> = storage
            .snapshot_at(version)
            .expect("snapshot")
            .prefix_raw(b"acct/")
            .expect("prefix")
            .into_iter()
            .collect();
        assert_eq!(entries, expected_content(version), "content at {version}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("list") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

fn log_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join(LOG)).expect("commit log").len()
}

/// A store closed at version 3: LevelDB synced, the log empty.
fn closed_at_3(dir: &Path) -> RootHash {
    let storage = Storage::open(dir).expect("open");
    let root = commit_blocks(&storage, 1..=3);
    drop(storage);
    assert_eq!(log_len(dir), 0, "a clean close empties the log");
    root
}

#[test]
fn a_commit_in_the_log_but_not_in_leveldb_is_replayed_on_open() {
    let live = tempfile::tempdir().expect("tempdir");
    let crashed = tempfile::tempdir().expect("tempdir");
    closed_at_3(live.path());
    copy_dir(live.path(), crashed.path());

    // Commit 4: once commit returns, its log record is durable. The crashed copy has LevelDB as of
    // version 3 and this log, as if the process died before LevelDB got the batch.
    let storage = Storage::open(live.path()).expect("reopen");
    let root4 = commit_blocks(&storage, 4..=4);
    std::fs::copy(live.path().join(LOG), crashed.path().join(LOG)).expect("copy log");
    drop(storage);

    let storage = Storage::open(crashed.path()).expect("open after the crash");
    assert_state(&storage, 4, root4);
    // The replay was checkpointed: the log is empty and the store goes on.
    assert_eq!(log_len(crashed.path()), 0);
    let root5 = commit_blocks(&storage, 5..=5);
    drop(storage);
    let live = Storage::open(live.path()).expect("reopen live");
    assert_eq!(
        commit_blocks(&live, 5..=5),
        root5,
        "same state, same next root"
    );
}

#[test]
fn logged_versions_that_leveldb_already_has_are_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    let root = commit_blocks(&storage, 1..=6);
    // The log as a crash after LevelDB got the batches but before the checkpoint leaves it.
    let log = std::fs::read(dir.path().join(LOG)).expect("read log");
    assert!(!log.is_empty(), "six commits are fewer than a checkpoint");
    drop(storage);
    std::fs::write(dir.path().join(LOG), &log).expect("put the log back");

    let storage = Storage::open(dir.path()).expect("reopen");
    assert_state(&storage, 6, root);
    assert_eq!(log_len(dir.path()), 0);
}

#[test]
fn a_torn_last_record_is_a_commit_that_never_returned() {
    let live = tempfile::tempdir().expect("tempdir");
    let crashed = tempfile::tempdir().expect("tempdir");
    let root3 = closed_at_3(live.path());
    copy_dir(live.path(), crashed.path());
    let storage = Storage::open(live.path()).expect("reopen");
    let root4 = commit_blocks(&storage, 4..=4);
    let log = std::fs::read(live.path().join(LOG)).expect("read log");
    drop(storage);

    // The process died while appending record 4: its commit had not returned, so 3 is latest.
    for cut in [1, log.len() / 2, log.len() - 1] {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(crashed.path(), dir.path());
        std::fs::write(dir.path().join(LOG), &log[..cut]).expect("torn log");
        let storage = Storage::open(dir.path()).expect("open with a torn log");
        assert_state(&storage, 3, root3);
        // The block comes again (CometBFT replays it) and gives the same root.
        assert_eq!(commit_blocks(&storage, 4..=4), root4, "cut at {cut}");
    }
}

#[test]
fn a_log_that_does_not_continue_the_database_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let other = tempfile::tempdir().expect("tempdir");
    closed_at_3(dir.path());
    // Another store's log starting at version 5: version 4 would be missing.
    let storage = Storage::open(other.path()).expect("open other");
    commit_blocks(&storage, 1..=4);
    drop(storage);
    let storage = Storage::open(other.path()).expect("reopen other");
    commit_blocks(&storage, 5..=5);
    std::fs::copy(other.path().join(LOG), dir.path().join(LOG)).expect("copy log");
    drop(storage);

    match Storage::open(dir.path()) {
        Err(StoreError::Corrupt { key, reason }) => {
            assert_eq!(key, LOG);
            assert!(reason.contains("version 5"), "{reason}");
        }
        Err(other) => panic!("expected Corrupt, got {other}"),
        Ok(_) => panic!("a log with a gap must not open"),
    }
}
