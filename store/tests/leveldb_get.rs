//! Why the store reads its latest-version marker through an iterator, not `DB::get`: rusty-leveldb
//! 4's table lookup answers "absent" when the lookup key equals the index key of the data block
//! that holds it. A lookup at the newest sequence number of the key's newest entry is such a key
//! when that entry ends a block and older entries of the same key start the next one: `get` then
//! skips the table and returns an older table's value, or nothing. The marker is rewritten by every
//! version as its last write, so an open after a crash could take an older version for the latest
//! (found by tests/crash_stress.rs: "commit log holds version 239 but the database ends at 222").
use rusty_leveldb::{LdbIterator, Options, DB};

fn options() -> Options {
    Options {
        create_if_missing: true,
        reuse_logs: false,
        compressor: 0,
        ..Options::default()
    }
}

fn as_version(value: &[u8]) -> u64 {
    u64::from_be_bytes(value[..8].try_into().expect("8 bytes"))
}

/// A table with one padding entry of `pad` bytes and then 20 versions of `mlatest`.
fn newest_marker(pad: usize) -> (Option<u64>, Option<u64>) {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut db = DB::open(dir.path(), options()).expect("open");
        db.put(b"a", &vec![7u8; pad]).expect("put");
        for version in 1..=20u64 {
            db.put(b"mlatest", &version.to_be_bytes()).expect("put");
        }
        db.flush().expect("flush");
    }
    // Reopened, the log becomes a level-0 table (one 4 KiB block per ~4 KiB of entries).
    let mut db = DB::open(dir.path(), options()).expect("reopen");
    let by_get = db.get(b"mlatest").map(|v| as_version(&v));
    let mut iter = db.new_iter().expect("iterator");
    iter.seek(b"mlatest");
    let by_iter = iter
        .current()
        .filter(|(k, _)| k[..] == *b"mlatest")
        .map(|(_, v)| as_version(&v));
    (by_get, by_iter)
}

#[test]
fn the_iterator_finds_the_newest_marker_where_get_misses_it() {
    let mut get_missed = Vec::new();
    // Padding sizes that put the block boundary before, at and after the newest marker.
    for pad in 4_000..4_100 {
        let (by_get, by_iter) = newest_marker(pad);
        assert_eq!(by_iter, Some(20), "iterator with padding {pad}");
        if by_get != Some(20) {
            get_missed.push(pad);
        }
    }
    // If this fails, rusty-leveldb's get was fixed and the store's `read_marker` could use it.
    assert!(
        !get_missed.is_empty(),
        "rusty-leveldb's get found the newest marker at every block boundary"
    );
}
