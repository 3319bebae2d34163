//! StateDelta over a real snapshot: transactional forks and merged prefix reads.
use std::collections::BTreeMap;

use seqpool_store::{StateDelta, StateRead, StateWrite, Storage};

fn base() -> (tempfile::TempDir, Storage) {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::open(dir.path()).expect("open");
    let changes: BTreeMap<Vec<u8>, Option<Vec<u8>>> =
        [("p/a", "1"), ("p/b", "2"), ("p/c", "3"), ("q/a", "9")]
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), Some(v.as_bytes().to_vec())))
            .collect();
    storage
        .commit(storage.prepare(changes, 1).expect("prepare"))
        .expect("commit");
    (dir, storage)
}

fn keys(state: &impl StateRead, prefix: &str) -> Vec<String> {
    state
        .prefix_raw(prefix.as_bytes())
        .expect("prefix")
        .into_iter()
        .map(|(k, _)| String::from_utf8(k).expect("utf8"))
        .collect()
}

#[test]
fn failed_transact_leaves_no_trace() {
    let (_dir, storage) = base();
    let mut delta = StateDelta::new(storage.latest_snapshot());
    delta.put_raw(b"p/d".to_vec(), b"4".to_vec());
    let result: Result<(), &str> = delta.transact(|d| {
        d.put_raw(b"p/e".to_vec(), b"5".to_vec());
        d.delete(b"p/a".to_vec());
        d.put_raw(b"p/d".to_vec(), b"overwritten".to_vec());
        assert_eq!(d.get_raw(b"p/a").expect("get"), None);
        Err("tx failed")
    });
    assert_eq!(result, Err("tx failed"));
    assert_eq!(delta.get_raw(b"p/a").expect("get"), Some(b"1".to_vec()));
    assert_eq!(delta.get_raw(b"p/d").expect("get"), Some(b"4".to_vec()));
    assert_eq!(delta.get_raw(b"p/e").expect("get"), None);
    let changes = delta.changes();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes.get(b"p/d".as_slice()), Some(&Some(b"4".to_vec())));
}

#[test]
fn nested_transacts_merge_only_what_succeeded() {
    let (_dir, storage) = base();
    let mut delta = StateDelta::new(storage.latest_snapshot());
    let outer: Result<(), ()> = delta.transact(|d| {
        d.put_raw(b"p/outer".to_vec(), b"o".to_vec());
        let inner_ok: Result<(), ()> = d.transact(|d| {
            d.put_raw(b"p/inner-ok".to_vec(), b"i".to_vec());
            Ok(())
        });
        assert!(inner_ok.is_ok());
        let inner_bad: Result<(), ()> = d.transact(|d| {
            d.put_raw(b"p/inner-bad".to_vec(), b"x".to_vec());
            d.delete(b"p/outer".to_vec());
            Err(())
        });
        assert!(inner_bad.is_err());
        assert_eq!(d.get_raw(b"p/outer").expect("get"), Some(b"o".to_vec()));
        Ok(())
    });
    assert!(outer.is_ok());
    assert_eq!(
        keys(&delta, "p/"),
        ["p/a", "p/b", "p/c", "p/inner-ok", "p/outer"]
    );

    // An outer failure discards its successful inner forks too.
    let failed: Result<(), ()> = delta.transact(|d| {
        let _: Result<(), ()> = d.transact(|d| {
            d.put_raw(b"p/deep".to_vec(), b"d".to_vec());
            Ok(())
        });
        Err(())
    });
    assert!(failed.is_err());
    assert_eq!(delta.get_raw(b"p/deep").expect("get"), None);
}

#[test]
fn prefix_reads_merge_buffered_writes_and_deletes() {
    let (_dir, storage) = base();
    let mut delta = StateDelta::new(storage.latest_snapshot());
    delta.delete(b"p/b".to_vec());
    delta.put_raw(b"p/bb".to_vec(), b"22".to_vec());
    delta.put_raw(b"q/b".to_vec(), b"8".to_vec());
    let _: Result<(), ()> = delta.transact(|d| {
        d.delete(b"p/c".to_vec());
        d.put_raw(b"p/a".to_vec(), b"updated".to_vec());
        Ok(())
    });
    let merged = delta.prefix_raw(b"p/").expect("prefix");
    assert_eq!(
        merged,
        vec![
            (b"p/a".to_vec(), b"updated".to_vec()),
            (b"p/bb".to_vec(), b"22".to_vec())
        ]
    );
    assert_eq!(keys(&delta, "q/"), ["q/a", "q/b"]);

    // Committing the delta makes the store agree with what the delta showed.
    let (_, changes) = delta.into_parts();
    storage
        .commit(storage.prepare(changes, 2).expect("prepare"))
        .expect("commit");
    let snap = storage.latest_snapshot();
    assert_eq!(snap.prefix_raw(b"p/").expect("prefix"), merged);
    assert_eq!(
        keys(&storage.snapshot_at(1).expect("v1"), "p/"),
        ["p/a", "p/b", "p/c"]
    );
}
