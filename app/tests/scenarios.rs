//! App scenarios through the in-process ABCI 2.0 driver (no CometBFT process; real LevelDB stores).
use bytes::Bytes;
use cosmrs::Any;
use k256::ecdsa::SigningKey;
use prost::{Message, Name};
use seqpool_app::driver::{test_key, Driver};
use seqpool_app::tx::sign_tx;
use seqpool_app::vote_ext;
use seqpool_component::codes;
use seqpool_proto::admin::v1::{MsgTransferAdmin, MsgUpdateParams};
use seqpool_proto::app::v1::InjectedExtendedCommit;
use tendermint::abci::response::ProcessProposal;

fn any<M: Message + Name>(m: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: m.encode_to_vec(),
    }
}

fn pb_any<M: Message + Name>(m: &M) -> pbjson_types::Any {
    pbjson_types::Any {
        type_url: M::type_url(),
        value: m.encode_to_vec().into(),
    }
}

fn account_of(d: &Driver, key: &SigningKey) -> (u64, u64) {
    let addr = seqpool_component::address::account_address(
        key.verifying_key().to_encoded_point(true).as_bytes(),
    );
    let snapshot = d.nodes[0].app.storage().latest_snapshot();
    let acc = seqpool_auth::AuthRead::account(&snapshot, &addr)
        .expect("read")
        .expect("registered");
    (acc.account_number, acc.sequence)
}

fn signed(d: &Driver, key: &SigningKey, msgs: Vec<Any>) -> Bytes {
    let (number, sequence) = account_of(d, key);
    Bytes::from(sign_tx(key, &d.chain_id, number, sequence, msgs, ""))
}

fn update_auth_params(d: &Driver, key: &SigningKey, max_tx_bytes: u64) -> Bytes {
    let addr = seqpool_component::address::account_address(
        key.verifying_key().to_encoded_point(true).as_bytes(),
    );
    let mut p = seqpool_auth::params::default_params();
    p.max_tx_bytes = max_tx_bytes;
    signed(
        d,
        key,
        vec![any(&MsgUpdateParams {
            authority: addr,
            params: Some(pb_any(&p)),
        })],
    )
}

#[test]
fn four_validators_agree_and_count_liveness() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 4).expect("driver");
    let mut hashes = Vec::new();
    for _ in 0..10 {
        hashes.push(d.produce_block(vec![]).expect("block").app_hash);
    }
    // Blocks carry liveness records, so the state (and the hash) moves every block.
    hashes.dedup();
    assert_eq!(hashes.len(), 10);
    let snapshot = d.nodes[0].app.storage().latest_snapshot();
    let liveness = seqpool_staking::StakingRead::all_liveness(&snapshot).expect("liveness");
    assert_eq!(liveness.len(), 4);
    for l in liveness {
        // Blocks 2..=10 each carry the extended commit of the height before.
        assert_eq!(
            (l.total_signed, l.total_missed, l.last_signed_height),
            (9, 0, 9),
            "{l:?}"
        );
    }
}

#[test]
fn offline_validators_are_counted_as_missing_with_100_validators() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 100, 1).expect("driver");
    d.offline = (0..33).collect();
    for _ in 0..4 {
        d.produce_block(vec![]).expect("block");
    }
    let snapshot = d.nodes[0].app.storage().latest_snapshot();
    let liveness = seqpool_staking::StakingRead::all_liveness(&snapshot).expect("liveness");
    let missing = liveness.iter().filter(|l| l.total_missed == 3).count();
    let signing = liveness.iter().filter(|l| l.total_signed == 3).count();
    assert_eq!((missing, signing), (33, 67));
}

#[test]
fn admin_updates_params_and_transfers_the_role() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 2).expect("driver");
    d.produce_block(vec![]).expect("block 1");
    let admin = d.admin_key.clone();
    let out = d
        .produce_block(vec![update_auth_params(&d, &admin, 20_000)])
        .expect("block");
    assert_eq!(
        out.tx_results[0].code.value(),
        0,
        "{}",
        out.tx_results[0].log
    );
    let snapshot = d.nodes[1].app.storage().latest_snapshot();
    assert_eq!(
        seqpool_auth::AuthRead::auth_params(&snapshot)
            .expect("params")
            .max_tx_bytes,
        20_000
    );

    // Invalid params are refused with INVALID_MESSAGE and change nothing.
    let out = d
        .produce_block(vec![update_auth_params(&d, &admin, 10)])
        .expect("block");
    assert_eq!(out.tx_results[0].code.value(), codes::INVALID_MESSAGE);
    let snapshot = d.nodes[1].app.storage().latest_snapshot();
    assert_eq!(
        seqpool_auth::AuthRead::auth_params(&snapshot)
            .expect("params")
            .max_tx_bytes,
        20_000
    );

    // Hand the role to validator 0's operator; the old admin loses it.
    let new_admin = d.validators[0].operator();
    let msg = MsgTransferAdmin {
        authority: d.admin_address(),
        new_admin: new_admin.clone(),
    };
    let out = d
        .produce_block(vec![signed(&d, &admin, vec![any(&msg)])])
        .expect("block");
    assert_eq!(
        out.tx_results[0].code.value(),
        0,
        "{}",
        out.tx_results[0].log
    );
    let out = d
        .produce_block(vec![update_auth_params(&d, &admin, 30_000)])
        .expect("block");
    assert_eq!(out.tx_results[0].code.value(), codes::UNAUTHORIZED);
    let operator = d.validators[0].operator_key.clone();
    let out = d
        .produce_block(vec![update_auth_params(&d, &operator, 30_000)])
        .expect("block");
    assert_eq!(
        out.tx_results[0].code.value(),
        0,
        "{}",
        out.tx_results[0].log
    );
    let snapshot = d.nodes[0].app.storage().latest_snapshot();
    assert_eq!(
        seqpool_admin::AdminRead::admin(&snapshot).expect("admin"),
        Some(new_admin)
    );
}

fn injected(block: &[Bytes]) -> InjectedExtendedCommit {
    vote_ext::decode_injected(&block[0])
        .expect("first tx is the extended commit")
        .expect("decodes")
}

fn with_injected(block: &[Bytes], commit: &InjectedExtendedCommit) -> Vec<Bytes> {
    let mut out = block.to_vec();
    out[0] = Bytes::from(vote_ext::encode_injected(commit));
    out
}

#[test]
fn forged_altered_or_short_extended_commits_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 4).expect("driver");
    d.produce_block(vec![]).expect("block 1");
    d.produce_block(vec![]).expect("block 2");
    let block = d.propose(vec![]).expect("propose");
    let all_reject = |v: Vec<ProcessProposal>| v.iter().all(|p| *p == ProcessProposal::Reject);

    // Altered extension content (signature no longer matches).
    let mut c = injected(&block);
    c.votes[1].vote_extension.push(0);
    assert!(all_reject(
        d.process(&with_injected(&block, &c)).expect("process")
    ));

    // Forged signature.
    let mut c = injected(&block);
    let n = c.votes[2].extension_signature.len();
    c.votes[2].extension_signature[n - 1] ^= 1;
    assert!(all_reject(
        d.process(&with_injected(&block, &c)).expect("process")
    ));

    // A vote signed by a key outside the validator set, in a slot of the set.
    let mut c = injected(&block);
    let outsider = test_key("outsider");
    let sig: k256::ecdsa::Signature = k256::ecdsa::signature::Signer::sign(
        &outsider,
        &vote_ext::sign_bytes(&d.chain_id, 2, 0, &c.votes[0].vote_extension),
    );
    c.votes[0].extension_signature = sig.to_bytes().to_vec();
    assert!(all_reject(
        d.process(&with_injected(&block, &c)).expect("process")
    ));

    // Short: extensions of two of four validators dropped (the block's commit has all four).
    let mut c = injected(&block);
    for v in c.votes.iter_mut().take(2) {
        v.block_id_flag = vote_ext::FLAG_ABSENT;
        v.vote_extension.clear();
        v.extension_signature.clear();
    }
    assert!(all_reject(
        d.process(&with_injected(&block, &c)).expect("process")
    ));

    // Missing altogether, wrong height, or a vote left out of the list.
    assert!(all_reject(d.process(&block[1..]).expect("process")));
    let mut c = injected(&block);
    c.height += 1;
    assert!(all_reject(
        d.process(&with_injected(&block, &c)).expect("process")
    ));
    let mut c = injected(&block);
    c.votes.pop();
    assert!(all_reject(
        d.process(&with_injected(&block, &c)).expect("process")
    ));

    // The honest proposal is still accepted, and the chain goes on.
    assert!(d
        .process(&block)
        .expect("process")
        .iter()
        .all(|p| *p == ProcessProposal::Accept));
    d.finish(block).expect("finish");
    d.produce_block(vec![]).expect("block 4");
}

#[test]
fn check_tx_refuses_bad_txs_with_their_own_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 1).expect("driver");
    d.produce_block(vec![]).expect("block 1");
    let admin = d.admin_key.clone();
    let code = |d: &Driver, tx: &[u8]| d.check_tx(0, tx).code.value();

    assert_eq!(code(&d, b"\xff\xffnot a tx at all"), codes::TX_DECODE);
    assert_eq!(
        code(&d, &vote_ext::encode_injected(&Default::default())),
        codes::RESERVED_TX
    );
    assert_eq!(code(&d, &vec![0x0a; 40_000]), codes::TX_TOO_LARGE);

    let (number, seq) = account_of(&d, &admin);
    let msg = |authority: String| {
        let mut p = seqpool_auth::params::default_params();
        p.max_pending_txs_per_account = 2;
        vec![any(&MsgUpdateParams {
            authority,
            params: Some(pb_any(&p)),
        })]
    };
    let admin_msgs = msg(d.admin_address());
    // Wrong chain-id, wrong account number (bad signature), unknown account.
    assert_eq!(
        code(
            &d,
            &sign_tx(&admin, "other-chain", number, seq, admin_msgs.clone(), "")
        ),
        codes::WRONG_CHAIN_ID
    );
    assert_eq!(
        code(
            &d,
            &sign_tx(&admin, &d.chain_id, number + 7, seq, admin_msgs.clone(), "")
        ),
        codes::INVALID_SIGNATURE
    );
    let stranger = test_key("stranger");
    let stranger_addr = seqpool_component::address::account_address(
        stranger.verifying_key().to_encoded_point(true).as_bytes(),
    );
    assert_eq!(
        code(
            &d,
            &sign_tx(&stranger, &d.chain_id, 0, 0, msg(stranger_addr), "")
        ),
        codes::UNKNOWN_ACCOUNT
    );
    // A message whose signer is not the tx's signer.
    let operator = d.validators[0].operator_key.clone();
    assert_eq!(
        code(
            &d,
            &sign_tx(&operator, &d.chain_id, 1, 0, admin_msgs.clone(), "")
        ),
        codes::UNAUTHORIZED
    );
    // A gap, then in order, then a replay of a pending sequence.
    assert_eq!(
        code(
            &d,
            &sign_tx(&admin, &d.chain_id, number, seq + 1, admin_msgs.clone(), "")
        ),
        codes::SEQUENCE_GAP
    );
    let first = sign_tx(&admin, &d.chain_id, number, seq, admin_msgs.clone(), "");
    assert_eq!(code(&d, &first), 0);
    assert_eq!(
        code(
            &d,
            &sign_tx(&admin, &d.chain_id, number, seq, admin_msgs.clone(), "memo")
        ),
        codes::SEQUENCE_REPLAYED
    );
    // The tx lands; sending it again is a replay of a used sequence.
    let out = d
        .produce_block(vec![Bytes::from(first.clone())])
        .expect("block");
    assert_eq!(
        out.tx_results[0].code.value(),
        0,
        "{}",
        out.tx_results[0].log
    );
    assert_eq!(code(&d, &first), codes::SEQUENCE_REPLAYED);
    // The pending limit (now 2) per account.
    assert_eq!(
        code(
            &d,
            &sign_tx(&admin, &d.chain_id, number, seq + 1, admin_msgs.clone(), "")
        ),
        0
    );
    assert_eq!(
        code(
            &d,
            &sign_tx(&admin, &d.chain_id, number, seq + 2, admin_msgs.clone(), "")
        ),
        0
    );
    assert_eq!(
        code(
            &d,
            &sign_tx(&admin, &d.chain_id, number, seq + 3, admin_msgs, "")
        ),
        codes::MEMPOOL_ACCOUNT_FULL
    );
}

#[test]
fn replayed_tx_in_a_block_fails_without_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 2).expect("driver");
    d.produce_block(vec![]).expect("block 1");
    let admin = d.admin_key.clone();
    let tx = update_auth_params(&d, &admin, 20_000);
    // PrepareProposal would leave the second copy out; a byzantine proposer may not.
    let out = d
        .produce_block_verbatim(vec![tx.clone(), tx])
        .expect("block");
    assert_eq!(out.tx_results[0].code.value(), 0);
    assert_eq!(out.tx_results[1].code.value(), codes::SEQUENCE_REPLAYED);
    assert_eq!(account_of(&d, &admin).1, 1);
}

/// The admin's MsgUpdateParams (auth max_tx_bytes = `max_tx_bytes`) signed for `sequence`.
fn update_auth_params_at(d: &Driver, key: &SigningKey, sequence: u64, max_tx_bytes: u64) -> Bytes {
    let mut p = seqpool_auth::params::default_params();
    p.max_tx_bytes = max_tx_bytes;
    let msg = MsgUpdateParams {
        authority: d.admin_address(),
        params: Some(pb_any(&p)),
    };
    let (number, _) = account_of(d, key);
    Bytes::from(sign_tx(
        key,
        &d.chain_id,
        number,
        sequence,
        vec![any(&msg)],
        "",
    ))
}

/// The devnet bug of issue 2: a mempool holding an account's sequences out of order. The proposal
/// puts them in sequence order, leaves out what follows a gap (it stays for a later block), and
/// keeps the other signers' txs where they were.
#[test]
fn out_of_order_submission_is_proposed_in_sequence_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 2).expect("driver");
    d.produce_block(vec![]).expect("block 1");
    let admin = d.admin_key.clone();
    let operator = d.validators[1].operator_key.clone();
    let admin_tx: Vec<Bytes> = (0..6)
        .map(|s| update_auth_params_at(&d, &admin, s, 20_000 + s))
        .collect();
    // The operator is not the admin: its tx fails in x/admin, but only after its sequence is used.
    let operator_tx = update_auth_params(&d, &operator, 20_000);
    let mempool = vec![
        admin_tx[2].clone(),
        admin_tx[3].clone(),
        operator_tx.clone(),
        admin_tx[0].clone(),
        admin_tx[1].clone(),
        admin_tx[5].clone(),
    ];

    let block = d.propose(mempool).expect("propose");
    let user_txs = &block[1..]; // after the injected extended commit
    let expected = [
        admin_tx[0].clone(),
        admin_tx[1].clone(),
        operator_tx,
        admin_tx[2].clone(),
        admin_tx[3].clone(),
    ];
    assert_eq!(user_txs, expected.as_slice());

    let out = d.produce_block(block[1..].to_vec()).expect("block 2");
    let codes_in_block: Vec<u32> = out.tx_results.iter().map(|r| r.code.value()).collect();
    let operator_code = codes_in_block[2];
    assert!(
        ![0, codes::SEQUENCE_GAP, codes::SEQUENCE_REPLAYED].contains(&operator_code),
        "{}",
        out.tx_results[2].log
    );
    assert_eq!(codes_in_block, [0, 0, operator_code, 0, 0]);
    assert_eq!(account_of(&d, &admin).1, 4);
    assert_eq!(account_of(&d, &operator).1, 1);

    // Sequence 5 waited behind the gap; with 4 it goes in next, 5 after 4 whatever their order.
    let out = d
        .produce_block(vec![admin_tx[5].clone(), admin_tx[4].clone()])
        .expect("block 3");
    let codes_in_block: Vec<u32> = out.tx_results.iter().map(|r| r.code.value()).collect();
    assert_eq!(codes_in_block, [0, 0]);
    assert_eq!(account_of(&d, &admin).1, 6);
}

#[test]
fn restart_resumes_from_the_committed_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (height, hash) = {
        let mut d = Driver::new(dir.path(), 4, 1).expect("driver");
        for _ in 0..3 {
            d.produce_block(vec![]).expect("block");
        }
        (d.height, d.nodes[0].app.last_app_hash())
    };
    let storage = seqpool_store::Storage::open(dir.path().join("node0")).expect("reopen");
    assert_eq!(storage.latest_version(), Some(height));
    let mempool = std::sync::Arc::new(std::sync::Mutex::new(Default::default()));
    let app = seqpool_app::app::App::new(storage.clone(), mempool).expect("app");
    assert_eq!(app.last_app_hash(), hash);
    assert_eq!(
        app.chain().map(|c| c.chain_id.as_str()),
        Some("seqpool-test")
    );
    let info = seqpool_app::query::info(&storage);
    assert_eq!(info.last_block_height.value(), height);
    assert_eq!(info.last_block_app_hash.as_bytes(), &hash);
}

/// The app hash after a fixed scenario. It changes whenever the state format or the state machine
/// changes: review the change, then refresh with `UPDATE_SNAPSHOTS=1 cargo test -p seqpool-app --test scenarios`.
#[test]
fn app_hash_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 1).expect("driver");
    let admin = d.admin_key.clone();
    d.produce_block(vec![]).expect("block");
    d.produce_block(vec![update_auth_params(&d, &admin, 20_000)])
        .expect("block");
    let msg = MsgTransferAdmin {
        authority: d.admin_address(),
        new_admin: d.validators[1].operator(),
    };
    d.produce_block(vec![signed(&d, &admin, vec![any(&msg)])])
        .expect("block");
    let out = d.produce_block(vec![]).expect("block");
    let got = format!(
        "height {} app_hash {}\n",
        out.height,
        hex::encode_upper(out.app_hash)
    );
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/app_hash.txt");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &got).expect("write snapshot");
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        got, want,
        "app hash changed; if intended, refresh with UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn crash_between_finalize_and_commit_replays_to_the_same_hash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 2).expect("driver");
    for _ in 0..3 {
        d.produce_block(vec![]).expect("block");
    }
    let admin = d.admin_key.clone();
    let tx = update_auth_params(&d, &admin, 20_000);
    let before_crash = d
        .finalize_without_commit(1, vec![tx.clone()])
        .expect("finalize");
    d.restart_node(1).expect("restart");
    assert_eq!(
        d.nodes[1].app.storage().latest_version(),
        Some(3),
        "nothing uncommitted survives"
    );
    // CometBFT replays block 4 after the handshake; every node reaches the same hash as before.
    let out = d.produce_block(vec![tx]).expect("replayed block");
    assert_eq!(out.app_hash, before_crash);
    d.produce_block(vec![]).expect("and the chain goes on");
}
