//! MPC identities through the in-process driver: genesis members, each validator's MpcNode over
//! its own encrypted keystore (also after a restart), and a joiner registering its member with
//! MsgRegisterMember.
#![allow(clippy::unwrap_used)] // test code: a failed step is a failed test

use bytes::Bytes;
use k256::ecdsa::SigningKey;
use prost::Name;
use seqpool_app::driver::{test_key, Driver, TestValidator};
use seqpool_app::tx::sign_tx;
use seqpool_component::codes;
use seqpool_mpc::state::MpcRead;
use seqpoold::mpc::testing::MpcDriver;

fn any<M: Name>(m: &M) -> cosmrs::Any {
    cosmrs::Any {
        type_url: M::type_url(),
        value: m.encode_to_vec(),
    }
}

fn signed(d: &Driver, key: &SigningKey, msgs: Vec<cosmrs::Any>) -> Bytes {
    let addr = seqpool_component::address::account_address(
        key.verifying_key().to_encoded_point(true).as_bytes(),
    );
    let snapshot = d.nodes[0].app.storage().latest_snapshot();
    let acc = seqpool_auth::AuthRead::account(&snapshot, &addr)
        .unwrap()
        .expect("registered account");
    Bytes::from(sign_tx(
        key,
        &d.chain_id,
        acc.account_number,
        acc.sequence,
        msgs,
        "",
    ))
}

#[test]
fn genesis_members_and_a_node_per_validator() {
    let dir = tempfile::tempdir().unwrap();
    // 5 validators, 2 full nodes: validators 2..5 vote through node 0 with their own MpcNode.
    let mut d = Driver::new_mpc(dir.path(), 5, 2, |_| {}).unwrap();
    // InitChain's writes are committed with the first block.
    d.produce_block(vec![]).unwrap();
    let snapshot = d.nodes[1].app.storage().latest_snapshot();
    let members = snapshot.members().unwrap();
    assert_eq!(members.len(), 5);
    for i in 0..5 {
        let expected = d.mpc_member(i);
        assert!(members.contains(&expected), "validator {i} not in genesis");
        let node = d.mpc_node(i).expect("an MpcNode per validator");
        assert_eq!(
            node.identity.public().signer_key.to_vec(),
            expected.signer_key
        );
        assert_eq!(
            node.identity.identifier().unwrap().serialize(),
            expected.identifier
        );
    }
    let roster = seqpool_mpc::members::roster(&snapshot).unwrap();
    assert_eq!(roster.len(), 5);
    assert!(roster.windows(2).all(|w| w[0].identifier < w[1].identifier));
    for _ in 0..2 {
        d.produce_block(vec![]).unwrap();
    }
    drop(snapshot); // it holds node 1's database open
                    // A restarted node reopens its keystore and finds the same identity in it.
    d.restart_node(1).unwrap();
    let reopened = d.mpc_node(1).unwrap().identity.public();
    assert_eq!(reopened.signer_key.to_vec(), d.mpc_member(1).signer_key);
    d.produce_block(vec![]).unwrap();
}

#[test]
fn a_joiner_registers_its_member_by_tx() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Driver::new_mpc(dir.path(), 4, 1, |g| {
        // The joiner's operator account exists (funded on L1 in real life; registered here).
        g.auth.accounts.push(seqpool_proto::auth::v1::Account {
            address: seqpool_component::address::account_address(
                test_key("joiner/op")
                    .verifying_key()
                    .to_encoded_point(true)
                    .as_bytes(),
            ),
            ..Default::default()
        });
    })
    .unwrap();
    let joiner = d.add_standby(TestValidator {
        name: "joiner".into(),
        consensus_key: test_key("joiner"),
        operator_key: test_key("joiner/op"),
        power: 0,
    });
    d.produce_block(vec![]).unwrap();
    // The joiner is not a validator in x/staking yet: its operator operates nothing.
    let msg = d.register_member_msg(joiner);
    let tx = signed(&d, &test_key("joiner/op"), vec![any(&msg)]);
    let out = d.produce_block(vec![tx]).unwrap();
    assert_eq!(
        out.tx_results[0].code.value(),
        codes::NOT_VALIDATOR_OPERATOR
    );

    // A genesis validator re-registers (a node that lost its keystore) with a new identity;
    // someone else's key is refused.
    let op1 = d.validators[1].operator_key.clone();
    let stolen = seqpool_mpc::members::register_msg(
        &d.validators[2].mpc_identity(),
        &d.chain_id,
        &d.validators[1].operator(),
    );
    let tx = signed(&d, &op1, vec![any(&stolen)]);
    let out = d.produce_block(vec![tx]).unwrap();
    assert_eq!(out.tx_results[0].code.value(), codes::MEMBER_KEY_TAKEN);
    let fresh = seqpool_tss::MemberSecret::random(&mut rand::rngs::OsRng);
    let msg = seqpool_mpc::members::register_msg(&fresh, &d.chain_id, &d.validators[1].operator());
    let tx = signed(&d, &op1, vec![any(&msg)]);
    let out = d.produce_block(vec![tx]).unwrap();
    assert_eq!(out.tx_results[0].code.value(), 0, "{:?}", out.tx_results[0]);
    // The joiner locks on L1 (every validator attests it): x/staking makes it a validator whose
    // operator is its consensus key's account, and it registers from that account.
    let point = d.validators[joiner]
        .consensus_key
        .verifying_key()
        .to_encoded_point(false);
    let next_nonce =
        seqpool_bridge::BridgeRead::next_nonce(&d.nodes[0].app.storage().latest_snapshot())
            .unwrap();
    let lock = seqpool_bridge::L1Event {
        nonce: next_nonce,
        tx_hash: vec![0x42; 32],
        log_index: 0,
        block_number: 100,
        payload: Some(seqpool_bridge::Payload::Locked(
            seqpool_proto::bridge::v1::Locked {
                sequencer_id: 9,
                signer: vec![0xAA; 20],
                owner: vec![0xBB; 20],
                amount: (10u128 * 1_000_000_000_000_000_000).to_string(),
                signer_pubkey: point.as_bytes()[1..].to_vec(),
            },
        )),
    };
    for v in 0..4 {
        d.bridge_votes.insert(
            v,
            seqpool_bridge::BridgeVote {
                events: vec![lock.clone()],
                ..Default::default()
            },
        );
    }
    let joined = (0..6).any(|_| {
        d.produce_block(vec![]).unwrap();
        d.bridge_votes.clear();
        let snapshot = d.nodes[0].app.storage().latest_snapshot();
        seqpool_staking::StakingRead::validator(&snapshot, &d.mpc_member(joiner).validator)
            .unwrap()
            .is_some_and(|v| v.power > 0)
    });
    assert!(joined, "the L1 lock did not make the joiner a validator");
    let tx = d.register_member_tx(joiner).unwrap();
    let out = d.produce_block(vec![tx]).unwrap();
    assert_eq!(out.tx_results[0].code.value(), 0, "{:?}", out.tx_results[0]);
    let snapshot = d.nodes[0].app.storage().latest_snapshot();
    let roster = seqpool_mpc::members::roster(&snapshot).unwrap();
    assert!(
        roster.contains(&d.mpc_member(joiner)),
        "joiner not in the roster"
    );
    let validator1 = d.mpc_member(1).validator;
    let member = snapshot.member(&validator1).unwrap().unwrap();
    assert_eq!(member.signer_key, fresh.public().signer_key.to_vec());
    assert_eq!(snapshot.members().unwrap().len(), 5);
}
