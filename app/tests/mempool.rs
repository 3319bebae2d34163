//! CheckTx admission against a real chain's state (the in-process driver).
use cosmrs::Any;
use prost::{Message, Name};
use seqpool_proto::admin::v1::MsgTransferAdmin;

use seqpool_app::driver::Driver;
use seqpool_app::mempool::{CheckKind, MempoolState};
use seqpool_app::tx::sign_tx;
use seqpool_component::codes;
use seqpool_store::Snapshot;

fn transfer_admin(d: &Driver, sequence: u64) -> Vec<u8> {
    transfer_admin_with_memo(d, sequence, "")
}

/// The admin's MsgTransferAdmin; another memo makes another tx for the same sequence.
fn transfer_admin_with_memo(d: &Driver, sequence: u64, memo: &str) -> Vec<u8> {
    let msg = MsgTransferAdmin {
        authority: d.admin_address(),
        new_admin: d.validators[0].operator(),
    };
    let any = Any {
        type_url: MsgTransferAdmin::type_url(),
        value: msg.encode_to_vec(),
    };
    sign_tx(&d.admin_key, &d.chain_id, 0, sequence, vec![any], memo)
}

fn latest(d: &Driver) -> Snapshot {
    d.nodes[0].app.storage().latest_snapshot()
}

/// A one-validator chain after its first block, and a mempool over that state.
fn chain_at_height_1(dir: &std::path::Path) -> (Driver, MempoolState) {
    let mut d = Driver::new(dir, 1, 1).expect("driver");
    d.produce_block(vec![]).expect("block 1");
    let mut m = MempoolState::default();
    m.reset(latest(&d), &d.chain_id);
    (d, m)
}

fn tx_hash(bytes: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).into()
}

#[test]
fn recheck_remembers_verified_signatures_for_two_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut d, mut m) = chain_at_height_1(dir.path());

    let tx0 = transfer_admin(&d, 0);
    let tx1 = transfer_admin(&d, 1);
    assert!(m.check(&tx0, CheckKind::New).is_ok());
    assert!(m.check(&tx1, CheckKind::New).is_ok());
    assert!(m.verified_since_commit(&tx_hash(&tx1)));

    // A block that includes neither: both are rechecked, found, and kept for the next block.
    m.reset(latest(&d), &d.chain_id);
    assert!(m.verified_count_since_commit() == 0);
    assert_eq!(m.check(&tx0, CheckKind::Recheck).map(|a| a.sequence), Ok(0));
    assert_eq!(m.check(&tx1, CheckKind::Recheck).map(|a| a.sequence), Ok(1));
    assert!(m.verified_since_commit(&tx_hash(&tx0)));

    // Recheck still applies the stateful rules: tx0 is replayed once a block has it.
    let applied = d.produce_block(vec![tx0.clone().into()]).expect("block 2");
    assert!(
        applied.tx_results[0].code.is_ok(),
        "{}",
        applied.tx_results[0].log
    );
    m.reset(latest(&d), &d.chain_id);
    assert_eq!(
        m.check(&tx0, CheckKind::Recheck).map_err(|e| e.code),
        Err(codes::SEQUENCE_REPLAYED)
    );
    assert!(m.check(&tx1, CheckKind::Recheck).is_ok());

    // Two commits without a recheck forget a tx.
    m.reset(latest(&d), &d.chain_id);
    m.reset(latest(&d), &d.chain_id);
    assert!(!m.verified_since_commit(&tx_hash(&tx1)));
    assert!(!m.remembers_signature(&tx_hash(&tx1)));
}

#[test]
fn recheck_of_an_unknown_tx_verifies_its_signature() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (d, mut m) = chain_at_height_1(dir.path());

    let mut raw =
        cosmrs::proto::cosmos::tx::v1beta1::TxRaw::decode(transfer_admin(&d, 0).as_slice())
            .expect("TxRaw");
    raw.signatures[0][5] ^= 1;
    let forged = raw.encode_to_vec();
    for kind in [CheckKind::Recheck, CheckKind::New, CheckKind::Recheck] {
        assert_eq!(
            m.check(&forged, kind).map_err(|e| e.code),
            Err(codes::INVALID_SIGNATURE)
        );
    }
    assert!(m.verified_count_since_commit() == 0);
}

fn sequence_of(m: &mut MempoolState, tx: &[u8], kind: CheckKind) -> Result<u64, u32> {
    m.check(tx, kind).map(|a| a.sequence).map_err(|e| e.code)
}

#[test]
fn new_txs_between_rechecks_see_every_pending_sequence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (d, mut m) = chain_at_height_1(dir.path());
    let txs: Vec<Vec<u8>> = (0..4).map(|s| transfer_admin(&d, s)).collect();
    for (s, tx) in txs.iter().take(3).enumerate() {
        assert_eq!(sequence_of(&mut m, tx, CheckKind::New), Ok(s as u64));
    }

    // A block without them; a new tx arrives before any recheck, then the rechecks come in
    // reverse order: all stay, and the new one is the next sequence, not "ahead".
    m.reset(latest(&d), &d.chain_id);
    assert_eq!(sequence_of(&mut m, &txs[3], CheckKind::New), Ok(3));
    for s in [2usize, 1, 0] {
        assert_eq!(
            sequence_of(&mut m, &txs[s], CheckKind::Recheck),
            Ok(s as u64)
        );
    }
    // A fifth is next after all four, and a gap is still refused.
    assert_eq!(
        sequence_of(&mut m, &transfer_admin(&d, 5), CheckKind::New),
        Err(codes::SEQUENCE_GAP)
    );
    assert_eq!(
        sequence_of(&mut m, &transfer_admin(&d, 4), CheckKind::New),
        Ok(4)
    );
}

#[test]
fn recheck_after_a_commit_drops_only_used_sequences() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut d, mut m) = chain_at_height_1(dir.path());
    let txs: Vec<Vec<u8>> = (0..3).map(|s| transfer_admin(&d, s)).collect();
    for tx in &txs {
        assert!(m.check(tx, CheckKind::New).is_ok());
    }
    let applied = d
        .produce_block(vec![txs[0].clone().into()])
        .expect("block 2");
    assert!(applied.tx_results[0].code.is_ok());
    m.reset(latest(&d), &d.chain_id);
    // Rechecked last-first: tx2's predecessor is still pending from before the commit.
    assert_eq!(sequence_of(&mut m, &txs[2], CheckKind::Recheck), Ok(2));
    assert_eq!(
        sequence_of(&mut m, &txs[0], CheckKind::Recheck),
        Err(codes::SEQUENCE_REPLAYED)
    );
    assert_eq!(sequence_of(&mut m, &txs[1], CheckKind::Recheck), Ok(1));
    assert_eq!(
        sequence_of(&mut m, &transfer_admin(&d, 3), CheckKind::New),
        Ok(3)
    );
}

#[test]
fn a_pending_sequence_is_taken_until_its_tx_is_gone_for_two_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (d, mut m) = chain_at_height_1(dir.path());
    let tx0 = transfer_admin(&d, 0);
    let tx1 = transfer_admin(&d, 1);
    let other0 = transfer_admin_with_memo(&d, 0, "other");
    assert_eq!(sequence_of(&mut m, &tx0, CheckKind::New), Ok(0));
    assert_eq!(sequence_of(&mut m, &tx1, CheckKind::New), Ok(1));
    // Neither the same bytes again nor another tx may take a pending sequence.
    assert_eq!(
        sequence_of(&mut m, &tx0, CheckKind::New),
        Err(codes::SEQUENCE_REPLAYED)
    );
    assert_eq!(
        sequence_of(&mut m, &other0, CheckKind::New),
        Err(codes::SEQUENCE_REPLAYED)
    );

    // tx0 left the mempool: only tx1 is rechecked. One commit later tx0 still counts...
    m.reset(latest(&d), &d.chain_id);
    assert_eq!(sequence_of(&mut m, &tx1, CheckKind::Recheck), Ok(1));
    assert_eq!(
        sequence_of(&mut m, &other0, CheckKind::New),
        Err(codes::SEQUENCE_REPLAYED)
    );
    // ...after two it is forgotten: tx1 now follows a gap, and sequence 0 is free again.
    m.reset(latest(&d), &d.chain_id);
    assert_eq!(
        sequence_of(&mut m, &tx1, CheckKind::Recheck),
        Err(codes::SEQUENCE_GAP)
    );
    assert_eq!(sequence_of(&mut m, &other0, CheckKind::New), Ok(0));
    // The failed recheck freed sequence 1 too: another tx may take it.
    assert_eq!(
        sequence_of(
            &mut m,
            &transfer_admin_with_memo(&d, 1, "other"),
            CheckKind::New
        ),
        Ok(1)
    );
}
