//! x/mpc signing through the in-process ABCI driver with real FROST: every validator has its
//! MPC identity and encrypted keystore (the driver's MpcNodes); the group key is an existing key
//! given in genesis (`mpc.keys`, status ACTIVE; the shares are made by a trusted dealer in the
//! test and put into each validator's keystore), so these tests start at signing and leave the
//! DKG to mpc_keygen.rs. Nonce commitments, shares and aggregation all travel through vote
//! extensions and state as in a real network.
use std::collections::BTreeMap;

use bytes::Bytes;
use cosmrs::Any;
use frost_secp256k1 as frost;
use frost_secp256k1::keys::{IdentifierList, KeyPackage, PublicKeyPackage};
use prost::{Message, Name};
use rand::rngs::StdRng;
use rand::SeedableRng;
use seqpool_app::driver::{test_key, Driver, TestValidator};
use seqpool_app::tx::sign_tx;
use seqpool_mpc::requests;
use seqpool_mpc::signing;
use seqpool_mpc::state::MpcRead;
use seqpool_mpc::{
    BatchHeader, GroupKey, KeyStatus, L1Contracts, Member, MsgSubmitBatch, RequestStatus,
    SigningRequest, VerifyingShare,
};
use seqpool_staking::StakingRead;
use seqpool_tss::KeyId;
use seqpoold::mpc::testing::MpcDriver;

const L1_CHAIN_ID: u64 = 31_337;
const INBOX: [u8; 20] = [0x1b; 20];

fn l1_contracts() -> L1Contracts {
    L1Contracts {
        chain_id: L1_CHAIN_ID,
        batch_inbox: INBOX.to_vec(),
        locking_pool: vec![0x2c; 20],
        group_key_registry: vec![0x3d; 20],
        governance: vec![0x4e; 20],
    }
}

fn any<M: Message + Name>(m: &M) -> Any {
    Any {
        type_url: M::type_url(),
        value: m.encode_to_vec(),
    }
}

struct Net {
    d: Driver,
    key: GroupKey,
    public: PublicKeyPackage,
    _dir: tempfile::TempDir,
}

fn validators(n: usize) -> Vec<TestValidator> {
    (0..n)
        .map(|i| TestValidator {
            name: format!("val{i}"),
            consensus_key: test_key(&format!("consensus/{i}")),
            operator_key: test_key(&format!("operator/{i}")),
            power: 10,
        })
        .collect()
}

/// A network of `n` validators (`nodes` of them with a full app) continuing an ACTIVE key.
fn net(n: usize, nodes: usize, params: impl FnOnce(&mut seqpool_mpc::Params)) -> Net {
    let dir = tempfile::tempdir().expect("tempdir");
    let vals = validators(n);
    let members: Vec<Member> = Driver::members_of(&vals);
    let ids: Vec<frost::Identifier> = members
        .iter()
        .map(|m| frost::Identifier::deserialize(&m.identifier).expect("identifier"))
        .collect();
    let t = seqpool_tss::threshold_for(n);
    let mut rng = StdRng::seed_from_u64(n as u64);
    let (shares, public) =
        frost::keys::generate_with_dealer(n as u16, t, IdentifierList::Custom(&ids), &mut rng)
            .expect("dealer");
    let affine = seqpool_tss::eth::group_key_affine(public.verifying_key()).expect("L1 key");
    let mut sorted = members.clone();
    sorted.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    let key = GroupKey {
        key_id: 1,
        group_key: public.verifying_key().serialize().expect("key"),
        px: affine.x.to_vec(),
        py: affine.y.to_vec(),
        threshold: u32::from(t),
        verifying_shares: public
            .verifying_shares()
            .iter()
            .map(|(id, s)| VerifyingShare {
                identifier: id.serialize(),
                share: s.serialize().expect("share"),
            })
            .collect(),
        members: sorted,
        status: KeyStatus::Active as i32,
        public_key_package_hash: seqpool_tss::messages::public_key_package_hash(&public)
            .expect("hash")
            .to_vec(),
        registered_on_l1: true,
        ..Default::default()
    };
    let mut p = seqpool_mpc::params::default_params();
    p.l1 = Some(l1_contracts());
    params(&mut p);
    let genesis_key = key.clone();
    let mut d = Driver::with_validators_mpc(dir.path(), vals, nodes, move |g| {
        g.mpc.params = Some(p);
        g.mpc.keys = vec![genesis_key];
    })
    .expect("driver");
    for (i, id) in ids.iter().enumerate() {
        let package = KeyPackage::try_from(shares[id].clone()).expect("key package");
        d.mpc_node(i)
            .expect("mpc node")
            .keystore
            .put_key(KeyId(1), &package, &public)
            .expect("put key");
    }
    Net {
        d,
        key,
        public,
        _dir: dir,
    }
}

fn l2_hash(number: u64) -> [u8; 32] {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&number.to_be_bytes());
    h[31] = 0xaa;
    h
}

fn l2_state_root(number: u64) -> [u8; 32] {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&number.to_be_bytes());
    h[31] = 0x55;
    h
}

/// Every validator's L2 view learns blocks `range` (the same chain for all).
fn feed_l2(d: &mut Driver, range: std::ops::RangeInclusive<u64>) {
    for i in 0..d.validators.len() {
        let node = d.mpc_node(i).expect("mpc node");
        let mut headers = node.signer.l2_headers.lock().expect("headers");
        for number in range.clone() {
            headers.observe(number, l2_hash(number), l2_state_root(number));
        }
    }
}

fn header(index: u64, start: u64, end: u64) -> BatchHeader {
    let hashes: Vec<[u8; 32]> = (start..=end).map(l2_hash).collect();
    BatchHeader {
        batch_index: index,
        l2_start_block: start,
        l2_end_block: end,
        l2_blocks_root: seqpool_mpc::batch::blocks_root(&hashes).to_vec(),
        l2_state_root: l2_state_root(end).to_vec(),
    }
}

fn snapshot(d: &Driver) -> seqpool_store::Snapshot {
    d.nodes[0].app.storage().latest_snapshot()
}

fn submit_batch_tx(d: &Driver, from: usize, batch: BatchHeader) -> Bytes {
    let v = &d.validators[from];
    let operator = v.operator();
    let acc = seqpool_auth::AuthRead::account(&snapshot(d), &operator)
        .expect("read")
        .expect("operator account");
    Bytes::from(sign_tx(
        &v.operator_key,
        &d.chain_id,
        acc.account_number,
        acc.sequence,
        vec![any(&MsgSubmitBatch {
            operator,
            batch: Some(batch),
        })],
        "",
    ))
}

/// Blocks until every key member has registered nonce commitments (they top up in their first
/// extension; the next block registers them).
fn warm_up(net: &mut Net) {
    for _ in 0..3 {
        net.d.produce_block(vec![]).expect("block");
        let s = snapshot(&net.d);
        let ready = net.key.members.iter().all(|m| {
            !signing::unused_commitments(&s, 1, &m.identifier)
                .expect("read")
                .is_empty()
        });
        if ready {
            return;
        }
    }
    panic!("members did not register nonce commitments within 3 blocks");
}

fn request(d: &Driver, id: u64) -> SigningRequest {
    snapshot(d)
        .signing_request(id)
        .expect("read")
        .expect("request exists")
}

/// Puts batch `index` (L2 blocks start..=end) in a block; returns (request id, height).
fn submit(d: &mut Driver, index: u64, start: u64, end: u64) -> (u64, u64) {
    let tx = submit_batch_tx(d, 0, header(index, start, end));
    let out = d.produce_block(vec![tx]).expect("block");
    let result = out.tx_results.last().expect("tx result");
    assert_eq!(result.code.value(), 0, "MsgSubmitBatch: {}", result.log);
    let id = seqpool_mpc::requests::batch_request(&snapshot(d), index)
        .expect("read")
        .expect("batch request")
        .request_id;
    (id, out.height)
}

fn assert_valid_signature(net: &Net, r: &SigningRequest) {
    let sig = frost::Signature::deserialize(&r.signature).expect("signature decodes");
    net.public
        .verifying_key()
        .verify(&r.digest, &sig)
        .expect("the group key verifies the signature");
    assert!(
        seqpool_tss::eth::verify_like_l1(net.public.verifying_key(), &sig, &r.digest)
            .expect("L1 check"),
        "the L1 verifier's check accepts it"
    );
}

/// Request `id` is SIGNED at `height` with a signature the group key and the L1 check accept.
fn assert_signed_at(net: &Net, id: u64, height: u64) -> SigningRequest {
    let r = request(&net.d, id);
    assert_eq!(
        (r.status(), r.signed_height),
        (RequestStatus::Signed, height),
        "{r:?}"
    );
    assert_valid_signature(net, &r);
    r
}

/// Batch `index` over L2 blocks start..=end (known to every node) is signed in the block after
/// the one that carries it.
fn batch_signed_next_block(net: &mut Net, index: u64, start: u64, end: u64) {
    feed_l2(&mut net.d, start..=end);
    let (id, h) = submit(&mut net.d, index, start, end);
    net.d.produce_block(vec![]).expect("block");
    assert_signed_at(net, id, h + 1);
}

/// Identifier of validator `idx`'s member.
fn identifier(net: &Net, idx: usize) -> Vec<u8> {
    net.d.mpc_member(idx).identifier
}

/// Identifiers of the signers of attempt `attempt` (1-based) of request `id`.
fn attempt_signers(net: &Net, id: u64, attempt: usize) -> Vec<Vec<u8>> {
    snapshot(&net.d).signing_attempts(id).expect("read")[attempt - 1]
        .package
        .as_ref()
        .expect("package")
        .signers
        .iter()
        .map(|s| s.identifier.clone())
        .collect()
}

/// The validator the chain will choose first among the signers of request `id` when all are
/// online (the rotation in signing::start_attempt: members by identifier from id % n).
fn first_choice(net: &Net, id: u64) -> usize {
    let n = net.key.members.len();
    let chosen = &net.key.members[(id as usize) % n].identifier;
    (0..net.d.validators.len())
        .find(|&i| identifier(net, i) == *chosen)
        .expect("a validator")
}

fn signed_in_next_block(n: usize, nodes: usize) -> Net {
    let mut net = net(n, nodes, |_| {});
    warm_up(&mut net);
    feed_l2(&mut net.d, 1..=8);
    let (id, h) = submit(&mut net.d, 0, 1, 8);
    let r = request(&net.d, id);
    assert_eq!(r.created_height, h);
    assert_eq!(
        r.status(),
        RequestStatus::Signing,
        "attempt started in block h"
    );
    net.d.produce_block(vec![]).expect("block h+1");
    let r = request(&net.d, id);
    assert_eq!(r.status(), RequestStatus::Signed, "{r:?}");
    assert_eq!(r.signed_height, h + 1, "signed one block after the request");
    assert_eq!(r.attempts, 1);
    assert_eq!(r.signature.len(), 65);
    assert_valid_signature(&net, &r);
    // The digest is the contract's: cross-check with the l1 crate's alloy encoding.
    let b = header(0, 1, 8);
    let theirs = seqpool_l1::digest::batch_digest(
        L1_CHAIN_ID,
        alloy::primitives::Address::from(INBOX),
        &seqpool_l1::bindings::BatchInbox::BatchHeader {
            batchIndex: b.batch_index,
            l2StartBlock: b.l2_start_block,
            l2EndBlock: b.l2_end_block,
            l2BlocksRoot: alloy::primitives::B256::from_slice(&b.l2_blocks_root),
            l2StateRoot: alloy::primitives::B256::from_slice(&b.l2_state_root),
        },
    );
    assert_eq!(r.digest, theirs.to_vec());
    // Next batches continue the range; each is signed in the block after it.
    batch_signed_next_block(&mut net, 1, 9, 12);
    net
}

#[test]
fn batch_signed_in_the_next_block_n4() {
    let net = signed_in_next_block(4, 4);
    // The queries over abci_query (gRPC and REST serve the same functions).
    use seqpool_proto::mpc::v1 as q;
    fn ask<Resp: Message + Default>(net: &Net, path: &str, req: impl Message) -> Resp {
        let resp = seqpool_app::query::abci_query(
            net.d.nodes[0].app.storage(),
            &tendermint::abci::request::Query {
                data: req.encode_to_vec().into(),
                path: path.into(),
                height: 0u32.into(),
                prove: false,
            },
        );
        assert_eq!(resp.code.value(), 0, "{path}: {}", resp.log);
        Resp::decode(resp.value.as_ref()).expect("response decodes")
    }
    let r: q::QueryRequestResponse = ask(
        &net,
        "/seqpool.mpc.v1.Query/Request",
        q::QueryRequestRequest { request_id: 1 },
    );
    assert_eq!(r.request.expect("request").status(), RequestStatus::Signed);
    assert_eq!(r.attempts.len(), 1);
    let b: q::QueryBatchesResponse = ask(
        &net,
        "/seqpool.mpc.v1.Query/Batches",
        q::QueryBatchesRequest::default(),
    );
    assert_eq!(
        (b.batches.len(), b.next_batch_index, b.next_l2_block),
        (2, 2, 13)
    );
    let signed: q::QueryRequestsResponse = ask(
        &net,
        "/seqpool.mpc.v1.Query/Requests",
        q::QueryRequestsRequest {
            status: RequestStatus::Signed as i32,
            ..Default::default()
        },
    );
    assert_eq!(signed.requests.len(), 2);
    let key: q::QueryActiveKeyResponse = ask(
        &net,
        "/seqpool.mpc.v1.Query/ActiveKey",
        q::QueryActiveKeyRequest {},
    );
    assert_eq!(key.key.expect("key").group_key, net.key.group_key);
}

#[test]
fn batch_signed_in_the_next_block_n10() {
    signed_in_next_block(10, 2);
}

#[test]
fn submit_batch_refuses_gaps_and_strangers() {
    let mut net = net(4, 1, |p| p.max_batch_blocks = 10);
    let d = &mut net.d;
    // Genesis state is committed with the first block.
    d.produce_block(vec![]).expect("block 1");
    let code = |d: &mut Driver, tx: Bytes| {
        let out = d.produce_block(vec![tx]).expect("block");
        out.tx_results.last().expect("result").code.value()
    };
    let skip = submit_batch_tx(d, 0, header(1, 1, 4));
    assert_eq!(code(d, skip), seqpool_component::codes::BATCH_OUT_OF_ORDER);
    let long = submit_batch_tx(d, 0, header(0, 1, 11));
    assert_eq!(code(d, long), seqpool_component::codes::INVALID_BATCH);
    let wrong_start = submit_batch_tx(d, 0, header(0, 2, 4));
    assert_eq!(
        code(d, wrong_start),
        seqpool_component::codes::BATCH_OUT_OF_ORDER
    );
    // An account that operates no validator.
    let stranger = test_key("stranger");
    let operator = seqpool_component::address::account_address(
        stranger.verifying_key().to_encoded_point(true).as_bytes(),
    );
    let tx = Bytes::from(sign_tx(
        &stranger,
        &d.chain_id,
        0,
        0,
        vec![any(&MsgSubmitBatch {
            operator,
            batch: Some(header(0, 1, 4)),
        })],
        "",
    ));
    // PrepareProposal leaves out a tx of an unknown account; a byzantine proposer may not.
    let out = d.produce_block_verbatim(vec![tx]).expect("block");
    assert_ne!(out.tx_results.last().expect("result").code.value(), 0);
    // The admin's account exists but operates no validator.
    let admin = d.admin_address();
    let acc = seqpool_auth::AuthRead::account(&snapshot(d), &admin)
        .expect("read")
        .expect("the admin account is created at genesis");
    {
        let tx = Bytes::from(sign_tx(
            &d.admin_key,
            &d.chain_id,
            acc.account_number,
            acc.sequence,
            vec![any(&MsgSubmitBatch {
                operator: admin,
                batch: Some(header(0, 1, 4)),
            })],
            "",
        ));
        assert_eq!(code(d, tx), seqpool_component::codes::NOT_ACTIVE_VALIDATOR);
    }
    let ok = submit_batch_tx(d, 0, header(0, 1, 4));
    assert_eq!(code(d, ok), 0);
    let (next, next_l2) = requests::next_batch(&snapshot(d)).expect("read");
    assert_eq!((next, next_l2), (1, 5));
}

#[test]
fn an_offline_validator_is_left_out_and_the_batch_is_still_signed() {
    let mut net = net(4, 4, |_| {});
    warm_up(&mut net);
    feed_l2(&mut net.d, 1..=4);
    // Offline before the request: not chosen (its extension was not in the last commit).
    let off = first_choice(&net, 1);
    net.d.offline.insert(off);
    net.d.produce_block(vec![]).expect("block");
    let (id, h) = submit(&mut net.d, 0, 1, 4);
    net.d.produce_block(vec![]).expect("block");
    assert_signed_at(&net, id, h + 1);
    assert!(!attempt_signers(&net, id, 1).contains(&identifier(&net, off)));
}

#[test]
fn a_signer_that_goes_offline_mid_attempt_is_missing_and_the_retry_signs() {
    let mut net = net(4, 4, |_| {});
    warm_up(&mut net);
    feed_l2(&mut net.d, 1..=4);
    // Online for the choice in block h, absent from the votes of h: its share never comes.
    let off = first_choice(&net, 1);
    let tx = submit_batch_tx(&net.d, 0, header(0, 1, 4));
    net.d.offline.insert(off);
    let h = net.d.produce_block(vec![tx]).expect("block h").height;
    net.d.produce_block(vec![]).expect("block h+1");
    let r = request(&net.d, 1);
    assert_eq!(
        r.status(),
        RequestStatus::Signing,
        "timed out, retried: {r:?}"
    );
    assert_eq!(r.attempts, 2);
    net.d.produce_block(vec![]).expect("block h+2");
    assert_signed_at(&net, 1, h + 2);
    let attempts = snapshot(&net.d).signing_attempts(1).expect("read");
    assert_eq!(attempts[0].missing, vec![identifier(&net, off)]);
    assert!(attempts[0].culprits.is_empty(), "missing is not blamed");
}

/// Hardening point 12: a height whose round-0 block does not commit and whose round-1 block,
/// another one, does. Round 0's block starts the batch's attempt with signers chosen among all
/// members, and they answer it in their round-0 precommits. Round 1's proposer left one of those
/// signers' extensions out of its injected commit (allowed while more than 2/3 remains), so the
/// same attempt gets another package: the other signers, with the same nonce commitments. Before,
/// a signer answered (request, attempt) from its cache, round 0's share, invalid for round 1's
/// package: share faults against honest validators (and a jail at max_share_faults). Now each
/// refuses the package its nonce cannot sign again, nobody is blamed, and the next attempt signs.
#[test]
fn a_block_that_commits_at_a_later_round_costs_honest_signers_nothing() {
    let mut net = net(4, 4, |p| p.max_share_faults = 1);
    warm_up(&mut net);
    feed_l2(&mut net.d, 1..=8);
    let tx = submit_batch_tx(&net.d, 0, header(0, 1, 8));
    let round0 = net.d.propose(vec![tx]).expect("propose");
    let votes = net.d.abandon_round(&round0).expect("round 0");
    let index_of = |address: &[u8]| {
        (0..net.d.validators.len())
            .find(|&i| net.d.validators[i].consensus_address().as_slice() == address)
            .expect("a validator")
    };
    let signed_round0: Vec<usize> = votes
        .iter()
        .filter(|v| {
            seqpool_proto::app::v1::VoteExtension::decode(v.vote_extension.as_ref())
                .ok()
                .and_then(|e| e.mpc)
                .is_some_and(|m| !m.shares.is_empty())
        })
        .map(|v| index_of(v.validator.address.as_slice()))
        .collect();
    assert_eq!(signed_round0.len(), 3, "t = 3 signers answered round 0");
    // Round 1: the same txs, one round-0 signer's extension left out of the injected commit.
    let left_out = signed_round0[0];
    let round1 = net.d.leave_out_extension(&round0, left_out);
    let out = net.d.accept_and_finish(round1).expect("round 1 commits");
    let h = out.height;
    let id = requests::batch_request(&snapshot(&net.d), 0)
        .expect("read")
        .expect("batch request")
        .request_id;
    assert!(
        !attempt_signers(&net, id, 1).contains(&identifier(&net, left_out)),
        "round 1's package differs from round 0's"
    );
    let mut refused_by = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let out = net.d.produce_block(vec![]).expect("block");
        assert!(
            !out.events.iter().any(|e| e.kind == "mpc_share_fault"),
            "an honest signer was blamed at height {}: {:?}",
            out.height,
            out.events
        );
        for e in out
            .events
            .iter()
            .filter(|e| e.kind == "mpc_request_refused")
        {
            for a in &e.attributes {
                if a.key_bytes() == b"validator" {
                    refused_by.insert(a.value_str().expect("utf-8").to_string());
                }
            }
        }
        if request(&net.d, id).status() == RequestStatus::Signed {
            break;
        }
    }
    let r = request(&net.d, id);
    assert_eq!(r.status(), RequestStatus::Signed, "{r:?}");
    assert!(r.signed_height > h + 1, "signed by a later attempt: {r:?}");
    assert_valid_signature(&net, &r);
    // Who refused: round 0's signers, whose nonce had signed round 0's package (the left-out one
    // too, once a later attempt named its unconsumed commitment), and the two in both packages.
    let address = |i: usize| hex::encode_upper(net.d.validators[i].consensus_address());
    let burned: std::collections::BTreeSet<String> =
        signed_round0.iter().map(|&i| address(i)).collect();
    assert!(refused_by.is_subset(&burned), "{refused_by:?} {burned:?}");
    assert!(signed_round0[1..]
        .iter()
        .all(|&i| refused_by.contains(&address(i))));
    for v in &net.d.validators {
        let address = hex::encode_upper(v.consensus_address());
        let validator = snapshot(&net.d)
            .validator(&address)
            .expect("read")
            .expect("validator");
        assert!(!validator.jailed, "{} jailed", v.name);
        assert_eq!(
            signing::share_faults(&snapshot(&net.d), &address).expect("read"),
            0
        );
    }
}

#[test]
fn a_corrupting_validator_is_blamed_jailed_and_the_batch_still_signed() {
    let mut net = net(4, 4, |p| p.max_share_faults = 1);
    warm_up(&mut net);
    feed_l2(&mut net.d, 1..=4);
    let culprit = first_choice(&net, 1);
    net.d.mpc_node(culprit).expect("node").signer.corrupt_shares = true;
    let (id, h) = submit(&mut net.d, 0, 1, 4);
    net.d.produce_block(vec![]).expect("block h+1");
    let attempts = snapshot(&net.d).signing_attempts(id).expect("read");
    assert_eq!(attempts[0].culprits.len(), 1, "{attempts:?}");
    let blame = &attempts[0].culprits[0];
    assert_eq!(blame.identifier, identifier(&net, culprit));
    let address = hex::encode_upper(net.d.validators[culprit].consensus_address());
    assert_eq!(blame.validator, address);
    let v = snapshot(&net.d)
        .validator(&address)
        .expect("read")
        .expect("validator");
    assert!(v.jailed, "penalised: jailed after max_share_faults = 1");
    assert_eq!(v.jail_reason, seqpool_staking::jail::REASON_MPC_FAULTS);
    net.d.produce_block(vec![]).expect("block h+2");
    assert_signed_at(&net, id, h + 2);
    let second = &snapshot(&net.d).signing_attempts(id).expect("read")[1];
    assert!(!second
        .package
        .as_ref()
        .expect("package")
        .signers
        .iter()
        .any(|s| s.identifier == identifier(&net, culprit)));
}

#[test]
fn a_node_whose_l2_view_disagrees_refuses_and_the_others_sign() {
    let mut net = net(4, 4, |_| {});
    warm_up(&mut net);
    feed_l2(&mut net.d, 1..=4);
    let dissenter = first_choice(&net, 1);
    {
        let node = net.d.mpc_node(dissenter).expect("node");
        let mut headers = node.signer.l2_headers.lock().expect("headers");
        headers.observe(3, [0xee; 32], l2_state_root(3));
    }
    let (id, h) = submit(&mut net.d, 0, 1, 4);
    // Its own check, as ExtendVote runs it.
    {
        let s = snapshot(&net.d);
        let (r, a) = signing::live_attempts(&s).expect("read").remove(0);
        let chain_id = net.d.chain_id.clone();
        let node = net.d.mpc_node(dissenter).expect("node");
        assert!(matches!(
            node.signer.check(&s, &chain_id, &r, &a),
            Err(seqpoold::mpc::signer::Refusal::Disagrees(_))
        ));
    }
    net.d.produce_block(vec![]).expect("block h+1");
    net.d.produce_block(vec![]).expect("block h+2");
    assert_signed_at(&net, id, h + 2);
    let attempts = snapshot(&net.d).signing_attempts(id).expect("read");
    assert_eq!(attempts[0].missing, vec![identifier(&net, dissenter)]);
    assert!(attempts[0].culprits.is_empty(), "a refusal is not blamed");
}

#[test]
fn a_restarted_node_never_signs_with_a_used_nonce() {
    let mut net = net(4, 4, |_| {});
    warm_up(&mut net);
    feed_l2(&mut net.d, 1..=8);
    let signer = first_choice(&net, 1);
    let (id, _) = submit(&mut net.d, 0, 1, 4);
    let attempt = snapshot(&net.d)
        .signing_attempt(id, 1)
        .expect("read")
        .expect("attempt");
    net.d.produce_block(vec![]).expect("block");
    assert_eq!(request(&net.d, id).status(), RequestStatus::Signed);
    net.d.restart_node(signer).expect("restart");
    // The reopened keystore refuses the package whose nonce it already used.
    let package_pb = attempt.package.clone().expect("package");
    let (key_id, _, package) =
        seqpool_tss::messages::signing_package_from_pb(&package_pb).expect("package");
    let node = net.d.mpc_node(signer).expect("node after restart");
    let again = node.keystore.sign(key_id, &package);
    assert!(
        matches!(again, Err(seqpool_tss::TssError::ReusedCommitment(_))),
        "{again:?}"
    );
    // And it keeps signing new requests with its remaining (unused) nonces (its L2 view is
    // rebuilt by the watcher after a restart; here the test feeds it).
    batch_signed_next_block(&mut net, 1, 5, 8);
}

#[test]
fn several_requests_sign_in_parallel_with_distinct_nonces() {
    let mut net = net(4, 2, |_| {});
    warm_up(&mut net);
    feed_l2(&mut net.d, 1..=12);
    let v = &net.d.validators[0];
    let acc = seqpool_auth::AuthRead::account(&snapshot(&net.d), &v.operator())
        .expect("read")
        .expect("operator account");
    let txs: Vec<Bytes> = (0..3u64)
        .map(|i| {
            Bytes::from(sign_tx(
                &v.operator_key,
                &net.d.chain_id,
                acc.account_number,
                acc.sequence + i,
                vec![any(&MsgSubmitBatch {
                    operator: v.operator(),
                    batch: Some(header(i, 1 + 4 * i, 4 + 4 * i)),
                })],
                "",
            ))
        })
        .collect();
    let h = net.d.produce_block(txs).expect("block h").height;
    net.d.produce_block(vec![]).expect("block h+1");
    let mut used = std::collections::BTreeSet::new();
    for id in 1..=3 {
        assert_signed_at(&net, id, h + 1);
        let attempt = snapshot(&net.d)
            .signing_attempt(id, 1)
            .expect("read")
            .expect("attempt");
        for signer in attempt.package.expect("package").signers {
            let c = signer.commitment.expect("commitment");
            assert!(used.insert(c.hiding), "a commitment in two packages");
        }
    }
}

/// The status queries (what the relayer polls) equal a filtered scan of every request, for every
/// status, on node 0's committed state: the status index followed the signing path's transitions.
fn assert_status_index_matches_a_scan(d: &Driver) {
    use seqpool_proto::mpc::v1::QueryRequestsRequest;
    let state = snapshot(d);
    let all = state.signing_requests(0, usize::MAX).expect("scan");
    for status in [
        RequestStatus::Pending,
        RequestStatus::Signing,
        RequestStatus::Signed,
        RequestStatus::Landed,
        RequestStatus::Failed,
    ] {
        let indexed = seqpool_mpc::query::requests(
            &state,
            &QueryRequestsRequest {
                status: status as i32,
                ..Default::default()
            },
        )
        .expect("query")
        .requests;
        let scanned: Vec<SigningRequest> = all
            .iter()
            .filter(|r| r.status() == status)
            .cloned()
            .collect();
        assert_eq!(indexed, scanned, "{status:?}");
    }
}

#[test]
fn a_request_fails_after_max_attempts_without_enough_signers() {
    let mut net = net(4, 4, |p| p.max_sign_attempts = 2);
    warm_up(&mut net);
    feed_l2(&mut net.d, 1..=4);
    // t = 3 of 4: one offline and one whose L2 view disagrees leave two willing signers.
    let off = first_choice(&net, 1);
    net.d.offline.insert(off);
    let dissenter = (0..4).find(|&i| i != off).expect("another validator");
    {
        let node = net.d.mpc_node(dissenter).expect("node");
        let mut headers = node.signer.l2_headers.lock().expect("headers");
        headers.observe(2, [0xee; 32], l2_state_root(2));
    }
    let (id, _) = submit(&mut net.d, 0, 1, 4);
    for _ in 0..3 {
        net.d.produce_block(vec![]).expect("block");
    }
    let r = request(&net.d, id);
    assert_eq!(r.status(), RequestStatus::Failed, "{r:?}");
    assert_eq!(r.attempts, 2);
    assert!(r.failure.contains("2 attempts"), "{}", r.failure);
    // A failed batch may be proposed again with the same index and range.
    net.d.offline.clear();
    feed_l2(&mut net.d, 1..=4);
    let (again, h) = submit(&mut net.d, 0, 1, 4);
    assert_ne!(again, id);
    net.d.produce_block(vec![]).expect("block");
    assert_signed_at(&net, again, h + 1);
    // FAILED, then a resubmission SIGNED: the index followed both.
    assert_eq!(
        snapshot(&net.d)
            .request_ids_with_status(RequestStatus::Failed)
            .expect("index"),
        vec![id]
    );
    assert_status_index_matches_a_scan(&net.d);
}

/// The admin's MsgRequestGovernanceAction (`data` on `target`) in a block; returns the msg and
/// the block's height.
fn request_governance_action(
    net: &mut Net,
    target: [u8; 20],
    data: &[u8],
) -> (seqpool_mpc::MsgRequestGovernanceAction, u64) {
    let admin = net.d.admin_address();
    let acc = seqpool_auth::AuthRead::account(&snapshot(&net.d), &admin)
        .expect("read")
        .expect("admin account");
    let msg = seqpool_mpc::MsgRequestGovernanceAction {
        authority: admin,
        target: target.to_vec(),
        data: data.to_vec(),
    };
    let tx = Bytes::from(sign_tx(
        &net.d.admin_key,
        &net.d.chain_id,
        acc.account_number,
        acc.sequence,
        vec![any(&msg)],
        "",
    ));
    let out = net.d.produce_block(vec![tx]).expect("block h");
    let result = out.tx_results.last().expect("result");
    assert_eq!(result.code.value(), 0, "{}", result.log);
    (msg, out.height)
}

#[test]
fn the_admin_asks_for_a_governance_action_and_the_group_signs_it() {
    let mut net = net(4, 2, |_| {});
    warm_up(&mut net);
    let data = Driver::set_max_lock_call(1_000);
    let (msg, height) = request_governance_action(&mut net, [0x2c; 20], &data);
    net.d.produce_block(vec![]).expect("block h+1");
    let r = assert_signed_at(&net, 1, height + 1);
    assert_eq!(r.request_type(), seqpool_mpc::RequestType::GovernanceAction);
    assert_eq!(
        r.digest,
        requests::governance_digest(L1_CHAIN_ID, [0x4e; 20], &[0x2c; 20], &data, 0).to_vec()
    );
    // Anyone else is refused.
    let v = &net.d.validators[1];
    let acc = seqpool_auth::AuthRead::account(&snapshot(&net.d), &v.operator())
        .expect("read")
        .expect("operator account");
    let tx = Bytes::from(sign_tx(
        &v.operator_key,
        &net.d.chain_id,
        acc.account_number,
        acc.sequence,
        vec![any(&seqpool_mpc::MsgRequestGovernanceAction {
            authority: v.operator(),
            ..msg
        })],
        "",
    ));
    let out = net.d.produce_block(vec![tx]).expect("block");
    assert_eq!(
        out.tx_results.last().expect("result").code.value(),
        seqpool_component::codes::UNAUTHORIZED
    );
}

/// Governance.executeSigned takes only actionNonce == its counter, so an action whose request
/// ends FAILED is re-issued: a new request with the same nonce and digest, which the receipt
/// index points at, is signed once the signers answer; the next action takes the next nonce.
#[test]
fn a_failed_governance_action_is_retried_with_its_nonce_and_signed() {
    let mut net = net(4, 4, |p| p.max_sign_attempts = 2);
    warm_up(&mut net);
    // t = 3 of 4 (and more than 2/3 of the power must vote, so one validator at most is
    // offline): attempt 1 takes the three online ones, one of them sends an invalid share and is
    // left out of attempt 2, which then needs the offline one and times out.
    let off = 0;
    let corrupting = 1;
    net.d.offline.insert(off);
    net.d
        .mpc_node(corrupting)
        .expect("node")
        .signer
        .corrupt_shares = true;
    net.d.produce_block(vec![]).expect("block");
    let pool = [0x2c; 20];
    let data = Driver::set_max_lock_call(1_000);
    let (_, height) = request_governance_action(&mut net, pool, &data);
    let first = request(&net.d, 1);
    assert_eq!(
        first.request_type(),
        seqpool_mpc::RequestType::GovernanceAction
    );
    let mut failed_at = None;
    for _ in 0..4 {
        let out = net.d.produce_block(vec![]).expect("block");
        if request(&net.d, 1).status() == RequestStatus::Failed {
            failed_at = Some(out.height);
            break;
        }
    }
    let failed_at = failed_at.expect("FAILED within 4 blocks after 2 attempts of 1 block");
    let failed = request(&net.d, 1);
    assert_eq!(failed.attempts, 2, "{failed:?}");
    assert!(failed.failure.contains("2 attempts"), "{}", failed.failure);

    // The retry: same action nonce, payload and digest; created in the block that failed it.
    let retry = snapshot(&net.d)
        .request_by_sequence(seqpool_mpc::RequestType::GovernanceAction, 0)
        .expect("read")
        .expect("a request holds action nonce 0");
    assert_ne!(
        retry.request_id, failed.request_id,
        "the receipt index points at a new request"
    );
    assert_eq!(
        (
            retry.request_type(),
            retry.sequence,
            &retry.digest,
            &retry.payload,
            &retry.target,
            retry.created_height,
        ),
        (
            seqpool_mpc::RequestType::GovernanceAction,
            0,
            &failed.digest,
            &failed.payload,
            &failed.target,
            failed_at,
        )
    );
    assert_eq!(
        retry.digest,
        requests::governance_digest(L1_CHAIN_ID, [0x4e; 20], &pool, &data, 0).to_vec()
    );
    assert!(
        failed
            .failure
            .contains(&format!("retried as request {}", retry.request_id)),
        "{}",
        failed.failure
    );
    assert!(retry.created_height > height);

    let attempts = snapshot(&net.d).signing_attempts(1).expect("read");
    assert_eq!(attempts[0].culprits.len(), 1, "{attempts:?}");
    assert_eq!(attempts[1].missing, vec![identifier(&net, off)]);

    // The signers answer again: the retry is signed (its first attempt starts in the next block,
    // the shares come in the one after).
    net.d.offline.clear();
    net.d
        .mpc_node(corrupting)
        .expect("node")
        .signer
        .corrupt_shares = false;
    let mut signed = false;
    for _ in 0..3 {
        net.d.produce_block(vec![]).expect("block");
        if request(&net.d, retry.request_id).status() == RequestStatus::Signed {
            signed = true;
            break;
        }
    }
    let r = request(&net.d, retry.request_id);
    assert!(signed, "the retry is signed within 3 blocks: {r:?}");
    assert_valid_signature(&net, &r);
    assert_eq!(request(&net.d, 1).status(), RequestStatus::Failed);
    // Governance.ActionExecuted with nonce 0 lands the retry.
    let executed = seqpool_bridge::L1Receipt {
        tx_hash: vec![9; 32],
        log_index: 0,
        block_number: 70,
        payload: Some(seqpool_bridge::l1_receipt::Payload::ActionExecuted(
            seqpool_proto::bridge::v1::ActionExecuted {
                target: pool.to_vec(),
                selector: data[..4].to_vec(),
                action_nonce: 0,
            },
        )),
    };
    assert_eq!(
        seqpool_mpc::receipts::status(&snapshot(&net.d), &executed).expect("status"),
        seqpool_mpc::receipts::ReceiptStatus::Pending
    );
    let mut delta = seqpool_store::StateDelta::new(snapshot(&net.d));
    seqpool_mpc::receipts::apply(&mut delta, &executed, 99).expect("apply");
    let landed = delta
        .signing_request(retry.request_id)
        .expect("read")
        .expect("retry");
    assert_eq!(landed.status(), RequestStatus::Landed, "{landed:?}");

    // A later action takes the next nonce.
    let (_, height) = request_governance_action(&mut net, pool, &data);
    net.d.produce_block(vec![]).expect("block h+1");
    let next_id = retry.request_id + 1;
    let next = assert_signed_at(&net, next_id, height + 1);
    assert_eq!(next.sequence, 1, "{next:?}");
    assert_eq!(
        next.digest,
        requests::governance_digest(L1_CHAIN_ID, [0x4e; 20], &pool, &data, 1).to_vec()
    );
    assert_status_index_matches_a_scan(&net.d);
}

#[test]
fn a_second_extend_vote_at_a_height_repeats_the_same_answer() {
    let mut net = net(4, 4, |_| {});
    warm_up(&mut net);
    feed_l2(&mut net.d, 1..=4);
    let signer = first_choice(&net, 1);
    let (_, h) = submit(&mut net.d, 0, 1, 4);
    // CometBFT may ask again at the same height (a later round): the same share, no new nonce.
    let s = snapshot(&net.d);
    let chain_id = net.d.chain_id.clone();
    let node = net.d.mpc_node(signer).expect("node");
    let unused = node.keystore.unused_nonces(KeyId(1)).expect("count");
    let first = node.vote_section(&s, h, &chain_id);
    let second = node.vote_section(&s, h, &chain_id);
    assert_eq!(first.shares.len(), 1, "{first:?}");
    assert_eq!(first, second);
    assert_eq!(
        node.keystore.unused_nonces(KeyId(1)).expect("count"),
        unused
    );
}

#[test]
fn a_node_without_the_l2_blocks_refuses_and_asks_its_watcher_for_them() {
    let mut net = net(4, 4, |_| {});
    warm_up(&mut net);
    let lacking = first_choice(&net, 1);
    for i in (0..4).filter(|&i| i != lacking) {
        let node = net.d.mpc_node(i).expect("node");
        let mut headers = node.signer.l2_headers.lock().expect("headers");
        for n in 1..=4 {
            headers.observe(n, l2_hash(n), l2_state_root(n));
        }
    }
    let (id, h) = submit(&mut net.d, 0, 1, 4);
    let wanted = net
        .d
        .mpc_node(lacking)
        .expect("node")
        .signer
        .l2_headers
        .lock()
        .expect("headers")
        .wanted(10);
    assert_eq!(
        wanted,
        vec![1, 2, 3, 4],
        "the watcher is asked for the blocks"
    );
    net.d.produce_block(vec![]).expect("block h+1");
    net.d.produce_block(vec![]).expect("block h+2");
    assert_signed_at(&net, id, h + 2);
}

/// Digests of the other request types against the l1 crate's alloy encodings (the contracts').
#[test]
fn request_digests_match_the_contracts() {
    use alloy::primitives::{Address, Bytes as ABytes, U256};
    use seqpool_l1::bindings::{Governance, LockingPool};
    let dist = requests::RewardDistribution {
        sequence: 3,
        start_epoch: 7,
        end_epoch: 7,
        sequencer_ids: vec![1, 2, 5],
        blocks_produced: vec![10, 0, 33],
    };
    let pool = [0x2c; 20];
    let theirs = seqpool_l1::digest::reward_digest(
        L1_CHAIN_ID,
        Address::from(pool),
        &LockingPool::RewardDistribution {
            sequence: U256::from(3),
            startEpoch: U256::from(7),
            endEpoch: U256::from(7),
            sequencerIds: vec![U256::from(1), U256::from(2), U256::from(5)],
            blocksProduced: vec![U256::from(10), U256::from(0), U256::from(33)],
        },
    );
    assert_eq!(
        requests::reward_digest(L1_CHAIN_ID, pool, &dist).to_vec(),
        theirs.to_vec()
    );
    let gov = [0x4e; 20];
    let data = requests::slash_calldata(4, 12_345_678_901_234_567_890);
    let action = Governance::GovernanceAction {
        target: Address::from(pool),
        data: ABytes::from(data.clone()),
        nonce: U256::from(9),
    };
    let slash = LockingPool::slashCall {
        sequencerId: U256::from(4),
        amount: U256::from(12_345_678_901_234_567_890u128),
    };
    assert_eq!(data, alloy::sol_types::SolCall::abi_encode(&slash));
    let theirs =
        seqpool_l1::digest::governance_action_digest(L1_CHAIN_ID, Address::from(gov), &action);
    assert_eq!(
        requests::governance_digest(L1_CHAIN_ID, gov, &pool, &data, 9).to_vec(),
        theirs.to_vec()
    );
    use alloy::sol_types::SolValue;
    assert_eq!(
        requests::governance_payload(&pool, &data, 9),
        action.abi_encode()
    );
    let px = [0x11; 32];
    let py = [0x22; 32];
    let registry = [0x3d; 20];
    let theirs = seqpool_l1::digest::rotation_digest(
        L1_CHAIN_ID,
        Address::from(registry),
        U256::from(2),
        U256::from_be_bytes(px),
        U256::from_be_bytes(py),
    );
    assert_eq!(
        requests::rotation_digest(L1_CHAIN_ID, registry, 2, &px, &py).to_vec(),
        theirs.to_vec()
    );
}

/// The sizes a bench test runs: `smoke` under `SEQPOOL_BENCH_SMOKE` (make bench-smoke), else `full`.
fn bench_sizes<T: Copy>(full: &[T], smoke: &[T]) -> Vec<T> {
    if std::env::var_os("SEQPOOL_BENCH_SMOKE").is_some() {
        smoke.to_vec()
    } else {
        full.to_vec()
    }
}

/// Figures for docs/benchmarks.md: blocks and milliseconds from the block carrying a batch
/// request to the signature in state, through the driver (one full node, the other validators
/// voting with their own MpcNodes). Run by `make bench`:
/// `cargo test --release -p seqpoold --test mpc_signing -- --ignored --nocapture signing_latency`
#[test]
#[ignore]
fn signing_latency() {
    for n in bench_sizes(&[10, 50, 100], &[10]) {
        let mut net = net(n, 1, |_| {});
        warm_up(&mut net);
        let mut wall = Vec::new();
        let mut cpu = Vec::new();
        let mut blocks = Vec::new();
        for i in 0..5u64 {
            let (start, end) = (1 + 4 * i, 4 + 4 * i);
            feed_l2(&mut net.d, start..=end);
            let tx = submit_batch_tx(&net.d, 0, header(i, start, end));
            let t0 = std::time::Instant::now();
            let c0 = cpu_time::ThreadTime::now();
            net.d.produce_block(vec![tx]).expect("block h");
            let id = requests::batch_request(&snapshot(&net.d), i)
                .expect("read")
                .expect("request")
                .request_id;
            let mut r = request(&net.d, id);
            while r.status() != RequestStatus::Signed {
                assert!(r.attempts < 5, "not signed: {r:?}");
                net.d.produce_block(vec![]).expect("block");
                r = request(&net.d, id);
            }
            wall.push(t0.elapsed().as_secs_f64() * 1e3);
            cpu.push(c0.elapsed().as_secs_f64() * 1e3);
            blocks.push(r.signed_height - r.created_height);
        }
        // Baseline: two blocks without a request (the same n votes, no share to make or check).
        let mut base_wall = Vec::new();
        let mut base_cpu = Vec::new();
        for _ in 0..5 {
            let t0 = std::time::Instant::now();
            let c0 = cpu_time::ThreadTime::now();
            net.d.produce_block(vec![]).expect("block");
            net.d.produce_block(vec![]).expect("block");
            base_wall.push(t0.elapsed().as_secs_f64() * 1e3);
            base_cpu.push(c0.elapsed().as_secs_f64() * 1e3);
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let by_blocks: BTreeMap<u64, usize> = blocks.iter().fold(BTreeMap::new(), |mut m, b| {
            *m.entry(*b).or_default() += 1;
            m
        });
        println!(
            "mpc signing n={n} t={}: blocks request->signature {by_blocks:?}; driver time for \
             those 2 blocks (request block + signing block, {n} validators' ExtendVote on one \
             thread) mean {:.1} ms wall, {:.1} ms thread CPU; two blocks without a request \
             {:.1} ms wall, {:.1} ms thread CPU",
            net.key.threshold,
            mean(&wall),
            mean(&cpu),
            mean(&base_wall),
            mean(&base_cpu)
        );
    }
}

/// L1 receipts through the bridge section (x/bridge receipts -> x/mpc receipts, H3): a
/// BatchAppended that only half of the power reports lands nothing, nor does one whose content
/// differs from the request; once more than 2/3 report the same receipt, the SIGNED request is
/// LANDED with the L1 transaction, block and landing height, exactly once.
#[test]
fn attested_batch_receipt_lands_the_signed_request() {
    use seqpool_bridge::l1_receipt::Payload as Receipt;
    use seqpool_bridge::{BridgeVote, L1Receipt};
    use seqpool_proto::bridge::v1::BatchAppended;

    let mut net = net(4, 1, |_| {});
    warm_up(&mut net);
    feed_l2(&mut net.d, 1..=8);
    let (id, _) = submit(&mut net.d, 0, 1, 8);
    net.d.produce_block(vec![]).expect("block");
    assert_eq!(request(&net.d, id).status(), RequestStatus::Signed);

    let b = header(0, 1, 8);
    let appended = L1Receipt {
        tx_hash: vec![0xab; 32],
        log_index: 1,
        block_number: 77,
        payload: Some(Receipt::BatchAppended(BatchAppended {
            batch_index: b.batch_index,
            l2_start_block: b.l2_start_block,
            l2_end_block: b.l2_end_block,
            l2_blocks_root: b.l2_blocks_root.clone(),
            l2_state_root: b.l2_state_root.clone(),
        })),
    };
    let mut other_content = appended.clone();
    if let Some(Receipt::BatchAppended(e)) = &mut other_content.payload {
        e.l2_state_root = vec![0xee; 32];
    }
    let report = |d: &mut Driver, receipts: &[(usize, &L1Receipt)]| {
        for (i, r) in receipts {
            d.bridge_votes.insert(
                *i,
                BridgeVote {
                    receipts: vec![(*r).clone()],
                    ..Default::default()
                },
            );
        }
    };
    // Half the power for the real receipt, half for other content: neither is attested.
    report(
        &mut net.d,
        &[
            (0, &appended),
            (1, &appended),
            (2, &other_content),
            (3, &other_content),
        ],
    );
    for _ in 0..2 {
        net.d.produce_block(vec![]).expect("block");
    }
    assert_eq!(request(&net.d, id).status(), RequestStatus::Signed);
    // Three of four equal validators (> 2/3): landed, once.
    report(&mut net.d, &[(2, &appended)]);
    net.d.produce_block(vec![]).expect("block with the votes");
    let out = net.d.produce_block(vec![]).expect("block applying them");
    let r = request(&net.d, id);
    assert_eq!(r.status(), RequestStatus::Landed, "{r:?}");
    assert_eq!((r.l1_tx_hash.clone(), r.l1_block), (vec![0xab; 32], 77));
    assert!(r.landed_height > 0 && r.landed_height <= out.height);
    let landed_at = r.landed_height;
    for _ in 0..2 {
        net.d.produce_block(vec![]).expect("block");
    }
    assert_eq!(request(&net.d, id).landed_height, landed_at, "applied once");
    assert_status_index_matches_a_scan(&net.d);
}

/// Governance.ActionExecuted of a group-signed action, attested by more than 2/3 of the power,
/// lands the SIGNED request with that action nonce - but only when the event's target and
/// selector are the ones the request signed; an attested receipt that matches nothing changes no
/// request (its `mpc_receipt_unmatched` event is checked in x/mpc's unit test).
#[test]
fn attested_action_receipt_lands_the_governance_request() {
    use seqpool_bridge::l1_receipt::Payload as Receipt;
    use seqpool_bridge::{BridgeVote, L1Receipt};
    use seqpool_proto::bridge::v1::ActionExecuted;

    let mut net = net(4, 1, |_| {});
    warm_up(&mut net);
    let pool = [0x2c; 20];
    let data = Driver::set_max_lock_call(1_000);
    let (_, height) = request_governance_action(&mut net, pool, &data);
    net.d.produce_block(vec![]).expect("block h+1");
    let r = assert_signed_at(&net, 1, height + 1);
    assert_eq!(r.sequence, 0, "the first action nonce");

    let executed = |target: [u8; 20], selector: &[u8], tx: u8| L1Receipt {
        tx_hash: vec![tx; 32],
        log_index: 0,
        block_number: 60 + u64::from(tx),
        payload: Some(Receipt::ActionExecuted(ActionExecuted {
            target: target.to_vec(),
            selector: selector.to_vec(),
            action_nonce: 0,
        })),
    };
    let other_target = executed([0x1b; 20], &data[..4], 1);
    let other_selector = executed(pool, &[0xde, 0xad, 0xbe, 0xef], 2);
    let real = executed(pool, &data[..4], 3);
    let report_all = |d: &mut Driver, r: &L1Receipt| {
        for i in 0..4 {
            d.bridge_votes.insert(
                i,
                BridgeVote {
                    receipts: vec![r.clone()],
                    ..Default::default()
                },
            );
        }
    };
    for wrong in [&other_target, &other_selector] {
        assert_eq!(
            seqpool_mpc::receipts::status(&snapshot(&net.d), wrong).expect("status"),
            seqpool_mpc::receipts::ReceiptStatus::Unmatched
        );
        report_all(&mut net.d, wrong);
        net.d.produce_block(vec![]).expect("block with the votes");
        net.d.produce_block(vec![]).expect("block applying them");
        assert_eq!(request(&net.d, 1).status(), RequestStatus::Signed);
    }
    // The same path with the real receipt lands it (so the ones above were attested and refused).
    assert_eq!(
        seqpool_mpc::receipts::status(&snapshot(&net.d), &real).expect("status"),
        seqpool_mpc::receipts::ReceiptStatus::Pending
    );
    report_all(&mut net.d, &real);
    net.d.produce_block(vec![]).expect("block with the votes");
    let out = net.d.produce_block(vec![]).expect("block applying them");
    let r = request(&net.d, 1);
    assert_eq!(r.status(), RequestStatus::Landed, "{r:?}");
    assert_eq!((r.l1_tx_hash.clone(), r.l1_block), (vec![3; 32], 63));
    assert!(r.landed_height > height && r.landed_height <= out.height);
    // The relayer's poll of SIGNED requests no longer lists it.
    let signed = seqpool_mpc::query::requests(
        &snapshot(&net.d),
        &seqpool_proto::mpc::v1::QueryRequestsRequest {
            status: RequestStatus::Signed as i32,
            ..Default::default()
        },
    )
    .expect("query");
    assert!(signed.requests.is_empty(), "{:?}", signed.requests);
    assert_status_index_matches_a_scan(&net.d);
}

/// The whole loop of a batch (H3): signed on chain -> read over the node's real gRPC by the
/// sidecar's relayer loop -> appended to BatchInbox on a real anvil -> seen by seqpoold's L1 watcher
/// at its depth -> attested in the bridge section -> LANDED on chain with the L1 transaction.
#[test]
fn signed_batch_is_relayed_to_l1_and_its_receipt_lands_it() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use alloy::providers::ProviderBuilder;
    use seqpool_bridge::BridgeVote;
    use seqpool_l1::anvil::{mine, wait_for_rpc, Anvil, DEV_KEY, DEV_KEYS};
    use seqpool_l1::bindings::BatchInbox;
    use seqpool_sidecar::relayer::{self, RelayLoopConfig, Relayer};

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // The gRPC client connects lazily inside the runtime.
    let _in_runtime = rt.enter();
    let anvil = Anvil::start().expect("anvil");
    let admin = ProviderBuilder::new()
        .wallet(
            DEV_KEY
                .parse::<alloy::signers::local::PrivateKeySigner>()
                .expect("key"),
        )
        .connect_http(anvil.url.parse().expect("url"));
    let deployment = rt.block_on(async {
        wait_for_rpc(&admin).await.expect("anvil RPC");
        seqpool_l1::deploy::deploy_all(admin.clone(), &Default::default())
            .await
            .expect("deploy")
    });
    let contracts = L1Contracts {
        chain_id: deployment.chain_id,
        batch_inbox: deployment.batch_inbox.to_vec(),
        locking_pool: deployment.locking_pool.to_vec(),
        group_key_registry: deployment.group_key_registry.to_vec(),
        governance: deployment.governance.to_vec(),
    };
    let mut net = net(4, 1, |p| p.l1 = Some(contracts));
    let word = |b: &[u8]| alloy::primitives::U256::from_be_slice(b);
    rt.block_on(seqpool_l1::devnet::register_initial_group_key(
        &admin,
        &deployment,
        word(&net.key.px),
        word(&net.key.py),
    ))
    .expect("register the group key on L1");
    warm_up(&mut net);
    feed_l2(&mut net.d, 1..=8);
    let (id, _) = submit(&mut net.d, 0, 1, 8);
    net.d.produce_block(vec![]).expect("block");
    assert_eq!(request(&net.d, id).status(), RequestStatus::Signed);

    // The node's gRPC (the same server seqpoold runs) and a sidecar relayer against it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    rt.spawn(seqpoold::rpc::grpc::serve(
        net.d.nodes[0].app.storage().clone(),
        addr,
        stopped(),
    ));
    let metrics = Arc::new(seqpool_sidecar::metrics::Metrics::default());
    let relayer = Relayer::new(
        &anvil.url,
        DEV_KEYS[0].parse().expect("relayer key"),
        deployment.clone(),
        Default::default(),
        metrics.clone(),
    )
    .expect("relayer");
    let chain = seqpool_sidecar::chain::ChainClient::new(&addr.to_string(), Duration::from_secs(2))
        .expect("chain client");
    rt.spawn(relayer::run(
        relayer,
        chain,
        RelayLoopConfig {
            poll_interval: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            admin_key: None,
            l1_rpc: anvil.url.clone(),
        },
        stopped(),
    ));
    let inbox = BatchInbox::new(deployment.batch_inbox, admin.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !rt
        .block_on(async { inbox.isAppended(0).call().await })
        .expect("isAppended")
    {
        assert!(
            Instant::now() < deadline,
            "the relayer did not append batch 0"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The relayer counts the batch once its receipt is back, which can be just after the poll
    // above saw it appended.
    while metrics.get(&metrics.batches_relayed) == 0 {
        assert!(
            Instant::now() < deadline,
            "the relayer did not count the relayed batch (counted as already done: {}, failed relays: {})",
            metrics.get(&metrics.relays_already_done),
            metrics.get(&metrics.relay_failures),
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(metrics.get(&metrics.batches_relayed), 1);

    // seqpoold's L1 watcher sees the receipt at its depth; every validator attests it.
    let dir = tempfile::tempdir().expect("tempdir");
    let watcher = seqpoold::bridge_watcher::WatcherConfig {
        locking_pool: deployment.locking_pool,
        batch_inbox: Some(deployment.batch_inbox),
        group_key_registry: Some(deployment.group_key_registry),
        governance: Some(deployment.governance),
        confirmations: 2,
        use_finalized_tag: false,
        start_block: 0,
        poll_interval: Duration::from_millis(100),
        cursor_path: dir.path().join("cursor.json"),
    };
    let receipts = seqpool_app::bridge::ReceiptObservations::default();
    rt.block_on(async {
        mine(&admin, 2).await.expect("mine");
        let mut cursor = seqpoold::bridge_watcher::Cursor::default();
        seqpoold::bridge_watcher::poll_once(
            &admin,
            &watcher,
            &mut cursor,
            &Default::default(),
            &receipts,
        )
        .await
        .expect("watch");
    });
    let seen: Vec<_> = receipts.lock().expect("lock").values().cloned().collect();
    assert_eq!(seen.len(), 2, "GroupKeySet and BatchAppended: {seen:?}");
    for i in 0..4 {
        net.d.bridge_votes.insert(
            i,
            BridgeVote {
                receipts: seen.clone(),
                ..Default::default()
            },
        );
    }
    for _ in 0..2 {
        net.d.produce_block(vec![]).expect("block");
    }
    let r = request(&net.d, id);
    assert_eq!(r.status(), RequestStatus::Landed, "{r:?}");
    assert_eq!(r.l1_tx_hash, seen[1].tx_hash);
    let _ = stop_tx.send(true);
    drop(anvil);
}

/// The batch submitter finds a FAILED batch over the node's real gRPC (H3): the range it must
/// propose again before anything new, so no L2 range is lost.
#[test]
fn the_submitter_finds_a_failed_batch_to_propose_again() {
    use std::time::Duration;

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let _in_runtime = rt.enter();
    let mut net = net(4, 4, |p| p.max_sign_attempts = 1);
    warm_up(&mut net);
    feed_l2(&mut net.d, 1..=4);
    // t = 3 of 4: one offline and one whose L2 view disagrees: the only attempt fails.
    net.d.offline.insert(0);
    {
        let node = net.d.mpc_node(1).expect("node");
        let mut headers = node.signer.l2_headers.lock().expect("headers");
        headers.observe(2, [0xee; 32], l2_state_root(2));
    }
    let (id, _) = submit(&mut net.d, 0, 1, 4);
    for _ in 0..4 {
        net.d.produce_block(vec![]).expect("block");
    }
    assert_eq!(request(&net.d, id).status(), RequestStatus::Failed);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    rt.spawn(seqpoold::rpc::grpc::serve(
        net.d.nodes[0].app.storage().clone(),
        addr,
        async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        },
    ));
    let mut submitter = seqpool_sidecar::submitter::Submitter::new(
        seqpool_sidecar::chain::ChainClient::new(&addr.to_string(), Duration::from_secs(2))
            .expect("chain client"),
        seqpool_sidecar::l2::L2Client::new("http://127.0.0.1:1").expect("l2 client"),
        seqpool_client::Rpc::new("http://127.0.0.1:1").expect("rpc"),
        test_key("operator/submitter"),
        seqpool_sidecar::submitter::SubmitterConfig {
            signer: [0; 20],
            chain_id: net.d.chain_id.clone(),
            batch_blocks: 0,
            batch_interval: Duration::from_secs(2),
            poll_interval: Duration::from_millis(100),
            resubmit_after: Duration::from_secs(10),
        },
        Default::default(),
    );
    // The server may take a moment to listen.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let found = loop {
        match rt.block_on(submitter.first_failed_batch()) {
            Ok(found) => break found,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("batches query: {e}"),
        }
    };
    assert_eq!(found, Some((0, 1, 4)));
    let _ = stop_tx.send(true);
}

/// Cost of the relayer's poll (`Query/Requests`, status SIGNED) on a store holding `n` LANDED
/// batch requests and 10 SIGNED ones: through the status index vs a scan of every request
/// (the query before the index). Thread CPU time per query, robust to other processes' load.
/// `cargo test --release -p seqpoold --test mpc_signing -- --ignored --nocapture signed_poll_cost`
#[test]
#[ignore]
fn signed_poll_cost() {
    use seqpool_mpc::state::MpcWrite;
    use seqpool_proto::mpc::v1::QueryRequestsRequest;
    use seqpool_store::{StateDelta, Storage};
    for n in bench_sizes(&[1_000u64, 10_000, 100_000], &[1_000]) {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("store");
        let mut version = 0;
        for chunk in (0..n + 10).collect::<Vec<_>>().chunks(10_000) {
            let mut state = StateDelta::new(storage.latest_snapshot());
            for &i in chunk {
                let signed = i >= n;
                state.put_signing_request(&SigningRequest {
                    request_id: i + 1,
                    request_type: seqpool_mpc::RequestType::Batch as i32,
                    sequence: i,
                    payload: vec![7; 160],
                    digest: vec![9; 32],
                    body: Some(seqpool_proto::mpc::v1::signing_request::Body::Batch(
                        header(i, 1 + 4 * i, 4 + 4 * i),
                    )),
                    status: if signed {
                        RequestStatus::Signed
                    } else {
                        RequestStatus::Landed
                    } as i32,
                    signature: vec![5; 65],
                    l1_tx_hash: if signed { vec![] } else { vec![3; 32] },
                    ..Default::default()
                });
            }
            version += 1;
            let prepared = storage.prepare(state.changes(), version).expect("prepare");
            storage.commit(prepared).expect("commit");
        }
        let snapshot = storage.latest_snapshot();
        let ask = QueryRequestsRequest {
            status: RequestStatus::Signed as i32,
            ..Default::default()
        };
        let runs = 20;
        let time = |f: &dyn Fn() -> usize| {
            assert_eq!(f(), 10, "10 SIGNED requests");
            let c0 = cpu_time::ThreadTime::now();
            for _ in 0..runs {
                assert_eq!(f(), 10);
            }
            c0.elapsed().as_secs_f64() * 1e3 / f64::from(runs)
        };
        let indexed = time(&|| {
            seqpool_mpc::query::requests(&snapshot, &ask)
                .expect("query")
                .requests
                .len()
        });
        let scan = time(&|| {
            snapshot
                .signing_requests(0, usize::MAX)
                .expect("scan")
                .into_iter()
                .filter(|r| r.status() == RequestStatus::Signed)
                .count()
        });
        println!(
            "signed poll with {n} LANDED + 10 SIGNED requests: status index {indexed:.3} ms, \
             scan of every request {scan:.3} ms thread CPU per query (mean of {runs})"
        );
    }
}

/// Issue 13 point 3: a passed proposal's MsgRequestGovernanceAction becomes a GOVERNANCE_ACTION
/// that names the proposal, and the group signs it; every signer refuses a request that no
/// passed proposal (or the admin) in state justifies, or whose call the allow-list does not name.
#[test]
fn the_group_signs_governance_actions_only_as_the_chain_decided() {
    use seqpool_gov::{MsgSubmitProposal, MsgVote, ProposalStatus, VoteOption};
    use seqpool_proto::mpc::v1::signing_request::Body;
    use seqpoold::mpc::signer::Refusal;

    let mut net = net(4, 1, |_| {});
    warm_up(&mut net);
    let pool = [0x2c; 20];
    let data = Driver::set_max_lock_call(5_000);
    let action = seqpool_mpc::MsgRequestGovernanceAction {
        authority: seqpool_component::address::gov_authority(),
        target: pool.to_vec(),
        data: data.clone(),
    };
    let proposer = net.d.validators[0].operator_key.clone();
    let submit = MsgSubmitProposal {
        messages: vec![pbjson_types::Any {
            type_url: seqpool_mpc::MsgRequestGovernanceAction::type_url(),
            value: action.encode_to_vec().into(),
        }],
        proposer: net.d.validators[0].operator(),
        title: "raise maxLock".into(),
        ..Default::default()
    };
    let tx = net
        .d
        .signed_tx(&proposer, vec![any(&submit)])
        .expect("sign");
    let out = net.d.produce_block(vec![tx]).expect("block");
    assert_eq!(
        out.tx_results[0].code.value(),
        0,
        "{}",
        out.tx_results[0].log
    );
    let votes = (0..3)
        .map(|i| {
            let key = net.d.validators[i].operator_key.clone();
            let vote = MsgVote {
                proposal_id: 1,
                voter: net.d.validators[i].operator(),
                option: VoteOption::Yes as i32,
                metadata: String::new(),
            };
            net.d.signed_tx(&key, vec![any(&vote)]).expect("sign")
        })
        .collect();
    net.d.produce_block(votes).expect("block");
    let mut decided = None;
    for _ in 0..30 {
        let out = net.d.produce_block(vec![]).expect("block");
        let s = snapshot(&net.d);
        let p = seqpool_gov::GovRead::proposal(&s, 1)
            .expect("read")
            .expect("proposal");
        if p.status != ProposalStatus::VotingPeriod as i32 {
            assert_eq!(p.status, ProposalStatus::Passed as i32, "{p:?}");
            decided = Some(out.height);
            break;
        }
    }
    let decided = decided.expect("the proposal is decided within 30 blocks");
    net.d.produce_block(vec![]).expect("block");
    let r = assert_signed_at(&net, 1, decided + 1);
    assert_eq!(r.body, Some(Body::GovernanceProposalId(1)));
    assert_eq!(r.requested_by, seqpool_component::address::gov_authority());

    // The same request with other calldata, another origin, or a call outside the allow-list:
    // a signer's own check refuses each one, naming why.
    let state = snapshot(&net.d);
    let check = |net: &mut Net, forged: &SigningRequest| -> String {
        let attempt = seqpool_mpc::SigningAttempt {
            request_id: forged.request_id,
            attempt: 1,
            package: Some(seqpool_proto::tss::v1::SigningPackage {
                message: forged.digest.clone(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let node = net.d.mpc_node(1).expect("node");
        match node.signer.check(&state, "", forged, &attempt) {
            Err(Refusal::Disagrees(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    };
    let forge = |target: [u8; 20], data: &[u8], body: Option<Body>, by: &str| SigningRequest {
        payload: requests::governance_payload(&target, data, r.sequence),
        digest: requests::governance_digest(L1_CHAIN_ID, [0x4e; 20], &target, data, r.sequence)
            .to_vec(),
        body,
        requested_by: by.to_string(),
        ..r.clone()
    };
    let other = Driver::set_max_lock_call(9_999_999);
    let why = check(
        &mut net,
        &forge(pool, &other, Some(Body::GovernanceProposalId(1)), ""),
    );
    assert!(why.contains("carries no"), "{why}");
    let why = check(
        &mut net,
        &forge(pool, &data, Some(Body::GovernanceProposalId(7)), ""),
    );
    assert!(why.contains("does not exist"), "{why}");
    let stranger = net.d.validators[2].operator();
    let why = check(&mut net, &forge(pool, &data, None, &stranger));
    assert!(why.contains("not the admin"), "{why}");
    let admin = net.d.admin_address();
    let slash = requests::slash_calldata(3, 1_000);
    let why = check(&mut net, &forge(pool, &slash, None, &admin));
    assert!(why.contains("allowed_l1_calls"), "{why}");
    // Governance.removeAdmin only after the chain admin's retirement, asked for by anyone.
    let removal = requests::remove_admin_calldata();
    let why = check(&mut net, &forge([0x4e; 20], &removal, None, &admin));
    assert!(why.contains("has not retired"), "{why}");
    // The admin's own allowed call is justified while it holds the role.
    let node = net.d.mpc_node(1).expect("node");
    let fine = forge(pool, &data, None, &admin);
    let attempt = seqpool_mpc::SigningAttempt {
        package: Some(seqpool_proto::tss::v1::SigningPackage {
            message: fine.digest.clone(),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(node.signer.check(&state, "", &fine, &attempt).is_ok());
}

/// The chain makes no request the signers would refuse: the admin may not ask for a call outside
/// the allow-list, and may not retire while an action it asked for is unsigned (the signers would
/// refuse it, and Governance takes action nonces in order, so every later action would wait).
#[test]
fn the_chain_makes_no_governance_request_its_signers_would_refuse() {
    let mut net = net(4, 1, |_| {});
    warm_up(&mut net);
    let admin = net.d.admin_address();
    let key = net.d.admin_key.clone();
    let slash = seqpool_mpc::MsgRequestGovernanceAction {
        authority: admin.clone(),
        target: vec![0x2c; 20],
        data: requests::slash_calldata(3, 1_000),
    };
    let tx = net.d.signed_tx(&key, vec![any(&slash)]).expect("sign");
    let out = net.d.produce_block(vec![tx]).expect("block");
    assert_eq!(
        out.tx_results[0].code.value(),
        seqpool_component::codes::UNAUTHORIZED,
        "{}",
        out.tx_results[0].log
    );
    assert!(out.tx_results[0].log.contains("allowed_l1_calls"));

    // An allowed action and the admin's retirement in one block: the retirement is refused.
    let allowed = seqpool_mpc::MsgRequestGovernanceAction {
        data: Driver::set_max_lock_call(5_000),
        ..slash
    };
    let retire = seqpool_admin::MsgRetireAdmin {
        authority: admin.clone(),
    };
    let acc = seqpool_auth::AuthRead::account(&snapshot(&net.d), &admin)
        .expect("read")
        .expect("admin");
    let txs = [any(&allowed), any(&retire)]
        .into_iter()
        .enumerate()
        .map(|(i, msg)| {
            Bytes::from(sign_tx(
                &key,
                &net.d.chain_id,
                acc.account_number,
                acc.sequence + i as u64,
                vec![msg],
                "",
            ))
        })
        .collect();
    let out = net.d.produce_block(txs).expect("block");
    assert_eq!(
        out.tx_results[0].code.value(),
        0,
        "{}",
        out.tx_results[0].log
    );
    assert_eq!(
        out.tx_results[1].code.value(),
        seqpool_component::codes::INVALID_MESSAGE,
        "{}",
        out.tx_results[1].log
    );
    assert!(out.tx_results[1].log.contains("not signed yet"));
    // Handing the role over would strand it the same way.
    let transfer = seqpool_admin::MsgTransferAdmin {
        authority: admin.clone(),
        new_admin: net.d.validators[0].operator(),
    };
    let refused = seqpool_app::msgs::Msg::TransferAdmin(transfer).execute(
        &mut seqpool_store::StateDelta::new(snapshot(&net.d)),
        &seqpool_component::MsgContext {
            block: seqpool_component::BlockContext {
                chain_id: net.d.chain_id.clone(),
                height: net.d.height + 1,
                time_unix_nanos: 0,
            },
            signer: admin.clone(),
            proposal: None,
        },
    );
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.message.contains("not signed yet")),
        "{refused:?}"
    );
    net.d.produce_block(vec![]).expect("block");
    let signed = snapshot(&net.d)
        .signing_requests_with_status(RequestStatus::Signed, 0, 100)
        .expect("read");
    assert_eq!(signed.len(), 1, "{signed:?}");
    // Governance.removeAdmin is no action the admin may ask for: only its retirement makes one.
    let removal = requests::remove_admin_calldata();
    let early = seqpool_mpc::MsgRequestGovernanceAction {
        authority: admin.clone(),
        target: vec![0x4e; 20],
        data: removal.clone(),
    };
    let tx = net.d.signed_tx(&key, vec![any(&early)]).expect("sign");
    let out = net.d.produce_block(vec![tx]).expect("block");
    assert_eq!(
        out.tx_results[0].code.value(),
        seqpool_component::codes::UNAUTHORIZED,
        "{}",
        out.tx_results[0].log
    );
    // Once it is signed, the admin may retire; the retirement asks the group to remove the L1
    // admin, and the group signs it the next block (every signer's check passes now).
    let tx = net.d.signed_tx(&key, vec![any(&retire)]).expect("sign");
    let out = net.d.produce_block(vec![tx]).expect("block");
    assert_eq!(
        out.tx_results[0].code.value(),
        0,
        "{}",
        out.tx_results[0].log
    );
    let retired_at = out.height;
    net.d.produce_block(vec![]).expect("block");
    let state = snapshot(&net.d);
    let signed = state
        .signing_requests_with_status(RequestStatus::Signed, 0, 100)
        .expect("read");
    let removal_request = signed
        .iter()
        .find(|r| {
            requests::decode_governance_payload(&r.payload, r.sequence)
                .is_some_and(|(target, data)| target == [0x4e; 20] && data == removal)
        })
        .unwrap_or_else(|| panic!("no signed Governance.removeAdmin in {signed:?}"));
    assert_eq!(removal_request.requested_by, admin);
    assert_eq!(removal_request.signed_height, retired_at + 1);
    assert_valid_signature(&net, removal_request);
}
