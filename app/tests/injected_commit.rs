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
/// `change(extension)` and signs it again with its consensus key: a valid signature over content
/// that no honest node would have accepted in VerifyVoteExtension.
fn resign_own_extension(
    d: &Driver,
    block: &[Bytes],
    idx: usize,
    change: impl FnOnce(&mut VoteExtension),
) -> Vec<Bytes> {
    let mut commit = injected(block);
    let address = d.validators[idx].consensus_address();
    let vote = commit
        .votes
        .iter_mut()
        .find(|v| v.validator_address == address)
        .expect("the proposer's vote");
    let mut ext = VoteExtension::decode(vote.vote_extension.as_slice()).expect("extension");
    change(&mut ext);
    vote.vote_extension = ext.encode_to_vec();
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

#[test]
fn an_injected_extension_over_its_caps_is_ignored_not_amplified() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 4).expect("driver");
    d.produce_block(vec![]).expect("block 1");
    d.produce_block(vec![]).expect("block 2");
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
        d.process(&block)
            .expect("process")
            .iter()
            .all(|p| *p == ProcessProposal::Accept),
        "an extension that fails its checks must not make the proposal invalid"
    );
    let out = d.finish(block).expect("finish");
    let ignored: Vec<_> = out
        .events
        .iter()
        .filter(|e| e.kind == "vote_extension_ignored")
        .collect();
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
