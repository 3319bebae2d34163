//! A byzantine proposer's own vote extension in the injected extended commit (hardening issue
//! point 2): one that VerifyVoteExtension would refuse is ignored, named in an event, and costs
//! the block nothing per entry; the proposal is still accepted, since CometBFT lets an honest
//! proposer carry a late precommit whose extension was never verified.
use bytes::Bytes;
use prost::Message;
use seqpool_app::driver::Driver;
use seqpool_app::vote_ext;
use seqpool_proto::app::v1::{InjectedExtendedCommit, VoteExtension};
use seqpool_proto::mpc::v1::MpcVote;
use tendermint::abci::response::ProcessProposal;

fn injected(block: &[Bytes]) -> InjectedExtendedCommit {
    vote_ext::decode_injected(&block[0])
        .expect("first tx is the extended commit")
        .expect("decodes")
}

/// The proposer (validator `idx`) replaces its own extension in the block's injected commit by
/// `extension` and signs it again with its consensus key: a valid signature over content that no
/// honest node would have accepted in VerifyVoteExtension.
fn resign_own_raw(d: &Driver, block: &[Bytes], idx: usize, extension: Vec<u8>) -> Vec<Bytes> {
    let mut commit = injected(block);
    let address = d.validators[idx].consensus_address();
    let vote = commit
        .votes
        .iter_mut()
        .find(|v| v.validator_address == address)
        .expect("the proposer's vote");
    vote.vote_extension = extension;
    let sig: k256::ecdsa::Signature = k256::ecdsa::signature::Signer::sign(
        &d.validators[idx].consensus_key,
        &vote_ext::sign_bytes(
            &d.chain_id,
            commit.height,
            commit.round,
            &vote.vote_extension,
        ),
    );
    vote.extension_signature = sig.to_bytes().to_vec();
    let mut out = block.to_vec();
    out[0] = Bytes::from(vote_ext::encode_injected(&commit));
    out
}

/// [`resign_own_raw`] with the proposer's extension changed by `change`.
fn resign_own_extension(
    d: &Driver,
    block: &[Bytes],
    idx: usize,
    change: impl FnOnce(&mut VoteExtension),
) -> Vec<Bytes> {
    let address = d.validators[idx].consensus_address();
    let vote = injected(block)
        .votes
        .into_iter()
        .find(|v| v.validator_address == address)
        .expect("the proposer's vote");
    let mut ext = VoteExtension::decode(vote.vote_extension.as_slice()).expect("extension");
    change(&mut ext);
    resign_own_raw(d, block, idx, ext.encode_to_vec())
}

/// Whether every node accepts `block` in ProcessProposal.
fn all_accept(d: &mut Driver, block: &[Bytes]) -> bool {
    d.process(block)
        .expect("process")
        .iter()
        .all(|p| *p == ProcessProposal::Accept)
}

fn events_of<'a>(
    out: &'a seqpool_app::driver::BlockOutcome,
    kind: &str,
) -> Vec<&'a tendermint::abci::Event> {
    out.events.iter().filter(|e| e.kind == kind).collect()
}

#[test]
fn an_injected_extension_over_its_caps_is_ignored_not_amplified() {
    let (_dir, mut d) = four_validators_at_height_2();
    let honest = d.propose(vec![]).expect("propose");
    // 10,000 refusals where a vote may carry 256: before, every node accepted it and emitted an
    // event per entry (about 95 response bytes per injected byte).
    let block = resign_own_extension(&d, &honest, 0, |ext| {
        ext.mpc = Some(MpcVote {
            refused: vec![100; 10_000],
            ..Default::default()
        });
    });
    assert!(
        all_accept(&mut d, &block),
        "an extension that fails its checks must not make the proposal invalid"
    );
    let out = d.finish(block).expect("finish");
    let ignored = events_of(&out, "vote_extension_ignored");
    assert_eq!(ignored.len(), 1, "{ignored:?}");
    let attr = |name: &str| {
        ignored[0]
            .attributes
            .iter()
            .find(|a| a.key_bytes() == name.as_bytes())
            .and_then(|a| a.value_str().ok())
            .map(str::to_string)
    };
    assert_eq!(
        attr("validator"),
        Some(hex::encode_upper(d.validators[0].consensus_address()))
    );
    assert_eq!(attr("height"), Some("2".into()));
    assert!(
        out.events.len() < 50,
        "{} block events for one ignored extension",
        out.events.len()
    );
    let bytes: usize = out
        .events
        .iter()
        .flat_map(|e| e.attributes.iter())
        .map(|a| a.key_bytes().len() + a.value_bytes().len())
        .sum();
    assert!(bytes < 8 * 1024, "{bytes} bytes of event attributes");
    // The chain goes on, with every node on the same app hash (the driver checks it).
    d.produce_block(vec![]).expect("block 4");
}

/// Four validators, each with a node, after two blocks (so the next block injects a commit).
fn four_validators_at_height_2() -> (tempfile::TempDir, Driver) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 4).expect("driver");
    d.produce_block(vec![]).expect("block 1");
    d.produce_block(vec![]).expect("block 2");
    (dir, d)
}

fn event_attr(e: &tendermint::abci::Event, name: &str) -> Option<String> {
    e.attributes
        .iter()
        .find(|a| a.key_bytes() == name.as_bytes())
        .and_then(|a| a.value_str().ok())
        .map(str::to_string)
}

fn address_of(d: &Driver, idx: usize) -> String {
    hex::encode_upper(d.validators[idx].consensus_address())
}

/// An extension whose sections all pass their count and shape checks (four keygen payloads with
/// well-formed envelopes) but whose payload bodies add up to `bytes`.
fn extension_of_size(height: u64, app_hash: &[u8], bytes: usize) -> Vec<u8> {
    use seqpool_proto::tss::v1 as tsspb;
    let payload = |body: usize| seqpool_proto::mpc::v1::KeygenPayload {
        session_id: 1,
        round: 1,
        sender: vec![2; 33],
        envelope: Some(tsspb::SignedEnvelope {
            version: 1,
            kind: tsspb::MessageKind::DkgRound1 as i32,
            sender: vec![2; 33],
            body: vec![7; body],
            signature: vec![1; 64],
        }),
        height,
    };
    let mut ext = VoteExtension {
        liveness: Some(seqpool_staking::liveness::make_vote(height, app_hash)),
        mpc: Some(MpcVote {
            keygen: vec![payload(0); 4],
            ..Default::default()
        }),
        ..Default::default()
    };
    let base = ext.encoded_len();
    let body = bytes.saturating_sub(base) / 4;
    ext.mpc = Some(MpcVote {
        keygen: vec![payload(body); 4],
        ..Default::default()
    });
    // Varint lengths grow with the body: trim the last payload to land on `bytes` exactly.
    let over = ext.encoded_len().saturating_sub(bytes);
    if let Some(mpc) = ext.mpc.as_mut() {
        if let Some(env) = mpc.keygen[3].envelope.as_mut() {
            env.body.truncate(body - over);
        }
    }
    ext.encode_to_vec()
}

fn cap_of(d: &Driver) -> usize {
    vote_ext::extension_cap(&d.nodes[0].app.storage().latest_snapshot()).expect("cap")
}

#[test]
fn verify_vote_extension_refuses_an_extension_over_its_byte_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 2).expect("driver");
    d.produce_block(vec![]).expect("block 1");
    let out = d.produce_block(vec![]).expect("block 2");
    let cap = cap_of(&d);
    // The cap follows the validator count: 4 here, and it grows with more.
    assert_eq!(cap, vote_ext::max_extension_bytes(4, 16));
    assert!(vote_ext::max_extension_bytes(100, 16) > cap);
    let at_cap = extension_of_size(3, &out.app_hash, cap);
    assert_eq!(at_cap.len(), cap);
    assert_eq!(
        d.verify_extension(1, 0, at_cap),
        tendermint::abci::response::VerifyVoteExtension::Accept
    );
    // One byte more, every section still within its count: refused (before, any body size was).
    let over = extension_of_size(3, &out.app_hash, cap + 1);
    assert_eq!(over.len(), cap + 1);
    assert_eq!(
        d.verify_extension(1, 0, over),
        tendermint::abci::response::VerifyVoteExtension::Reject
    );
}

#[test]
fn a_late_extension_over_the_cap_is_left_out_by_the_proposer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 4).expect("driver");
    d.produce_block(vec![]).expect("block 1");
    let out = d.produce_block(vec![]).expect("block 2");
    let cap = cap_of(&d);
    // Validator 3's precommit came late with 2 MB that VerifyVoteExtension never saw.
    d.set_late_extension(3, extension_of_size(3, &out.app_hash, 2 << 20));
    let block = d.propose(vec![]).expect("propose");
    let commit = injected(&block);
    let address = d.validators[3].consensus_address();
    let vote = commit
        .votes
        .iter()
        .find(|v| v.validator_address == address)
        .expect("validator 3's vote");
    assert_eq!(vote.block_id_flag, vote_ext::FLAG_COMMIT);
    assert!(
        vote.vote_extension.is_empty() && vote.extension_signature.is_empty(),
        "a {}-byte extension (cap {cap}) was carried",
        vote.vote_extension.len()
    );
    assert!(block[0].len() < 64 * 1024, "{} bytes", block[0].len());
    let out = d.accept_and_finish(block).expect("every node accepts");
    let left_out = events_of(&out, "vote_extension_left_out");
    assert_eq!(left_out.len(), 1, "{:?}", out.events);
    assert_eq!(
        event_attr(left_out[0], "validator"),
        Some(address_of(&d, 3))
    );
    d.produce_block(vec![]).expect("the chain goes on");
}

#[test]
fn a_proposal_never_exceeds_max_tx_bytes_whatever_the_extensions_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 4).expect("driver");
    d.produce_block(vec![]).expect("block 1");
    let out = d.produce_block(vec![]).expect("block 2");
    let cap = cap_of(&d);
    // Two validators' extensions at the cap: together more than a small block holds.
    d.set_late_extension(2, extension_of_size(3, &out.app_hash, cap));
    d.set_late_extension(3, extension_of_size(3, &out.app_hash, cap - 100));
    let limit = (cap + cap / 2) as i64;
    let block = d.propose_within(vec![], limit).expect("propose");
    let total: usize = block.iter().map(|t| t.len() + 16).sum();
    assert!(
        total as i64 <= limit,
        "{total} bytes in a {limit}-byte block"
    );
    let commit = injected(&block);
    let carried: Vec<usize> = commit
        .votes
        .iter()
        .map(|v| v.vote_extension.len())
        .collect();
    // The largest (validator 2's) is left out; 3 of 4 equal powers remain, more than 2/3.
    let at = |idx: usize| {
        let address = d.validators[idx].consensus_address();
        commit
            .votes
            .iter()
            .position(|v| v.validator_address == address)
            .expect("vote")
    };
    assert_eq!(carried[at(2)], 0, "{carried:?}");
    assert_eq!(carried[at(3)], cap - 100, "{carried:?}");
    assert!(all_accept(&mut d, &block));
    // A block too small for the extensions of more than 2/3 of the power: nothing is proposed
    // (the round moves on) rather than a block over the limit.
    let block = d.propose_within(vec![], (cap / 2) as i64).expect("propose");
    assert!(block.is_empty(), "{} txs", block.len());
    let block = d.propose(vec![]).expect("propose");
    d.accept_and_finish(block).expect("block 3");
}

#[test]
fn a_proposer_may_leave_out_extensions_while_more_than_two_thirds_remain() {
    let (_dir, mut d) = four_validators_at_height_2();
    let honest = d.propose(vec![]).expect("propose");
    let leave_out = |d: &Driver, idxs: &[usize]| {
        idxs.iter().fold(honest.clone(), |block, &idx| {
            d.leave_out_extension(&block, idx)
        })
    };
    // One of four left out: 3/4 of the power remains. Before, any precommit without its
    // extension made the proposal invalid.
    let one = leave_out(&d, &[1]);
    assert!(all_accept(&mut d, &one));
    // Two of four: 2/4 is not more than 2/3, a short commit.
    let two = leave_out(&d, &[1, 2]);
    assert!(d
        .process(&two)
        .expect("process")
        .iter()
        .all(|p| *p == ProcessProposal::Reject));
    let out = d.finish(one).expect("finish");
    let named: Vec<_> = events_of(&out, "vote_extension_left_out")
        .into_iter()
        .filter_map(|e| event_attr(e, "validator"))
        .collect();
    assert_eq!(named, vec![address_of(&d, 1)]);
}

#[test]
fn an_undecodable_injected_extension_is_ignored_not_fatal() {
    let (_dir, mut d) = four_validators_at_height_2();
    // A late precommit whose signed extension is not a VoteExtension, carried by a proposer
    // that kept it (an honest one leaves it out; see fit_injected).
    let honest = d.propose(vec![]).expect("propose");
    let address = d.validators[0].consensus_address();
    let block = resign_own_raw(&d, &honest, 0, vec![0xff; 12]);
    assert!(
        all_accept(&mut d, &block),
        "an undecodable but signed extension must not make the proposal invalid"
    );
    let out = d.finish(block).expect("finish");
    let ignored = events_of(&out, "vote_extension_ignored");
    assert_eq!(ignored.len(), 1);
    assert!(event_attr(ignored[0], "reason").is_some_and(|r| r.contains("does not decode")));
    // The same extension as a late precommit: the proposer leaves it out.
    d.set_late_extension(0, vec![0xff; 12]);
    let block = d.propose(vec![]).expect("propose");
    let vote = injected(&block)
        .votes
        .into_iter()
        .find(|v| v.validator_address == address)
        .expect("vote");
    assert!(vote.vote_extension.is_empty());
    d.accept_and_finish(block).expect("block 4");
}

#[test]
fn refusals_of_requests_not_being_signed_cost_no_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The validators are MPC members, so x/mpc reads their votes.
    let members = Driver::members_of(&Driver::numbered_validators(4));
    let mut d =
        Driver::new_with_genesis(dir.path(), 4, 4, |g| g.mpc.members = members).expect("driver");
    d.produce_block(vec![]).expect("block 1");
    d.produce_block(vec![]).expect("block 2");
    let honest = d.propose(vec![]).expect("propose");
    // 200 refusals, within the 256 a vote may list, of a request that does not exist: before,
    // one event each on every node.
    let block = resign_own_extension(&d, &honest, 0, |ext| {
        ext.mpc = Some(MpcVote {
            refused: (1_000..1_200).collect(),
            // Any nonce commitments make x/mpc read the vote's refusals too.
            nonce_commitments: Some(seqpool_proto::tss::v1::SignedEnvelope {
                version: 1,
                kind: seqpool_proto::tss::v1::MessageKind::NonceCommitments as i32,
                sender: vec![2; 33],
                body: vec![1; 8],
                signature: vec![1; 64],
            }),
            ..Default::default()
        });
    });
    let out = d.accept_and_finish(block).expect("block 3");
    assert!(
        !out.events.iter().any(|e| e.kind == "mpc_request_refused"),
        "{:?}",
        out.events
    );
    assert!(out.events.len() < 20, "{} events", out.events.len());
}
