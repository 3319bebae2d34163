//! x/gov through the in-process ABCI 2.0 driver: proposals submitted, voted and decided by the
//! validators' operators, executed as the gov authority (real LevelDB stores, two nodes that must
//! agree on every app hash).
use bytes::Bytes;
use cosmrs::Any;
use prost::{Message, Name};
use seqpool_app::driver::{BlockOutcome, Driver};
use seqpool_component::{address, codes};
use seqpool_gov::{
    GovRead, MsgCancelProposal, MsgSubmitProposal, MsgVote, MsgVoteWeighted, Proposal,
    ProposalStatus, VoteOption, WeightedVoteOption,
};
use seqpool_proto::admin::v1::MsgUpdateParams;
use tendermint::abci::types::ExecTxResult;

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

/// A MsgUpdateParams, as the gov authority, for x/auth with `max_tx_bytes`.
fn auth_max_tx_bytes_to(max_tx_bytes: u64) -> pbjson_types::Any {
    let mut p = seqpool_auth::params::default_params();
    p.max_tx_bytes = max_tx_bytes;
    pb_any(&MsgUpdateParams {
        authority: address::gov_authority(),
        params: Some(pb_any(&p)),
    })
}

fn auth_max_tx_bytes(d: &Driver) -> u64 {
    let snapshot = d.nodes[1].app.storage().latest_snapshot();
    seqpool_auth::AuthRead::auth_params(&snapshot)
        .expect("params")
        .max_tx_bytes
}

struct Net {
    d: Driver,
    _dir: tempfile::TempDir,
}

/// Four validators of power 10 (operators 0-3), two nodes.
fn net() -> Net {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 2).expect("driver");
    d.produce_block(vec![]).expect("block 1");
    Net { d, _dir: dir }
}

fn tx(d: &Driver, by: usize, msg: Any) -> Bytes {
    let key = d.validators[by].operator_key.clone();
    d.signed_tx(&key, vec![msg]).expect("sign")
}

fn code(r: &ExecTxResult) -> u32 {
    r.code.value()
}

fn assert_ok(out: &BlockOutcome) {
    for r in &out.tx_results {
        assert_eq!(code(r), 0, "{}", r.log);
    }
}

fn submit_msg(d: &Driver, by: usize, messages: Vec<pbjson_types::Any>, expedited: bool) -> Any {
    any(&MsgSubmitProposal {
        messages,
        proposer: d.validators[by].operator(),
        title: "raise max_tx_bytes".into(),
        summary: "a test proposal".into(),
        metadata: String::new(),
        expedited,
    })
}

/// Submits a proposal from operator `by`; returns its id.
fn submit(d: &mut Driver, by: usize, messages: Vec<pbjson_types::Any>, expedited: bool) -> u64 {
    let t = tx(d, by, submit_msg(d, by, messages, expedited));
    let out = d.produce_block(vec![t]).expect("block");
    assert_ok(&out);
    out.tx_results[0]
        .events
        .iter()
        .filter(|e| e.kind == "seqpool.gov.v1.EventSubmitProposal")
        .flat_map(|e| e.attributes.iter())
        .find(|a| a.key_bytes() == b"proposal_id")
        .and_then(|a| a.value_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a proposal_id attribute")
}

fn vote_tx(d: &Driver, by: usize, id: u64, option: VoteOption) -> Bytes {
    tx(
        d,
        by,
        any(&MsgVote {
            proposal_id: id,
            voter: d.validators[by].operator(),
            option: option as i32,
            metadata: String::new(),
        }),
    )
}

/// One block in which each `(operator, option)` votes on `id`.
fn vote(d: &mut Driver, id: u64, votes: &[(usize, VoteOption)]) {
    let txs = votes
        .iter()
        .map(|(by, option)| vote_tx(d, *by, id, *option))
        .collect();
    let out = d.produce_block(txs).expect("block");
    assert_ok(&out);
}

/// Operators 0, 1 and 2 (three of four) vote YES on `id`.
fn three_vote_yes(d: &mut Driver, id: u64) {
    vote(
        d,
        id,
        &[
            (0, VoteOption::Yes),
            (1, VoteOption::Yes),
            (2, VoteOption::Yes),
        ],
    );
}

fn proposal(d: &Driver, id: u64) -> Proposal {
    let snapshot = d.nodes[1].app.storage().latest_snapshot();
    snapshot.proposal(id).expect("read").expect("exists")
}

fn status(d: &Driver, id: u64) -> ProposalStatus {
    ProposalStatus::try_from(proposal(d, id).status).expect("a known status")
}

/// Empty blocks (one second of block time each) until `id` leaves its voting period; the height
/// that decided it. Fails after `max_blocks`.
fn run_until_decided(d: &mut Driver, id: u64, max_blocks: u64) -> u64 {
    for _ in 0..max_blocks {
        if status(d, id) != ProposalStatus::VotingPeriod {
            return d.height;
        }
        d.produce_block(vec![]).expect("block");
    }
    panic!(
        "proposal {id} is still open after {max_blocks} blocks: {:?}",
        proposal(d, id)
    );
}

#[test]
fn a_param_change_passes_and_applies_when_voting_ends() {
    let Net { mut d, _dir } = net();
    let before = auth_max_tx_bytes(&d);
    let id = submit(&mut d, 0, vec![auth_max_tx_bytes_to(20_000)], false);
    assert_eq!(id, 1);
    let submitted = d.height;
    three_vote_yes(&mut d, id);
    // Nothing changes while voting is open, however many have voted.
    d.produce_block(vec![]).expect("block");
    assert_eq!(status(&d, id), ProposalStatus::VotingPeriod);
    assert_eq!(auth_max_tx_bytes(&d), before);

    let decided = run_until_decided(&mut d, id, 40);
    let p = proposal(&d, id);
    assert_eq!(status(&d, id), ProposalStatus::Passed, "{p:?}");
    // The devnet's 20 s voting period at the driver's one second per block.
    assert_eq!(decided, submitted + 20);
    assert_eq!(p.decided_height, decided);
    let tally = p.final_tally_result.expect("tally");
    assert_eq!((tally.yes, tally.no, tally.eligible), (30, 0, 40));
    assert_eq!(auth_max_tx_bytes(&d), 20_000);
}

#[test]
fn a_proposal_short_of_quorum_or_vetoed_is_rejected_and_changes_nothing() {
    let Net { mut d, _dir } = net();
    let before = auth_max_tx_bytes(&d);
    // One of four (25%) is below the 33.4% quorum.
    let short = submit(&mut d, 0, vec![auth_max_tx_bytes_to(20_000)], false);
    // Two of four vote NO_WITH_VETO: 50% of the votes, above the 33.4% veto.
    let vetoed = submit(&mut d, 1, vec![auth_max_tx_bytes_to(21_000)], false);
    vote(&mut d, short, &[(0, VoteOption::Yes)]);
    vote(
        &mut d,
        vetoed,
        &[
            (0, VoteOption::Yes),
            (1, VoteOption::Yes),
            (2, VoteOption::NoWithVeto),
            (3, VoteOption::NoWithVeto),
        ],
    );
    run_until_decided(&mut d, vetoed, 40);
    for (id, why) in [(short, "quorum"), (vetoed, "vetoed")] {
        let p = proposal(&d, id);
        assert_eq!(status(&d, id), ProposalStatus::Rejected, "{p:?}");
        assert!(p.failed_reason.contains(why), "{}", p.failed_reason);
    }
    assert_eq!(auth_max_tx_bytes(&d), before);
}

#[test]
fn an_expedited_proposal_passes_early_or_falls_back_to_a_normal_vote() {
    let Net { mut d, _dir } = net();
    let fast = submit(&mut d, 0, vec![auth_max_tx_bytes_to(20_000)], true);
    let submitted = d.height;
    three_vote_yes(&mut d, fast);
    let decided = run_until_decided(&mut d, fast, 40);
    assert_eq!(status(&d, fast), ProposalStatus::Passed);
    // The devnet's 8 s expedited period.
    assert_eq!(decided, submitted + 8);
    assert_eq!(auth_max_tx_bytes(&d), 20_000);

    // Two YES of three votes (66.6%) is short of the expedited 66.7%: the proposal stays open
    // until the normal period ends, where 50% passes it.
    let slow = submit(&mut d, 1, vec![auth_max_tx_bytes_to(22_000)], true);
    let submitted = d.height;
    vote(
        &mut d,
        slow,
        &[
            (0, VoteOption::Yes),
            (1, VoteOption::Yes),
            (2, VoteOption::No),
        ],
    );
    while d.height < submitted + 9 {
        d.produce_block(vec![]).expect("block");
    }
    let p = proposal(&d, slow);
    assert_eq!(status(&d, slow), ProposalStatus::VotingPeriod, "{p:?}");
    assert!(
        !p.expedited,
        "an expedited proposal that failed becomes a normal one"
    );
    assert_eq!(auth_max_tx_bytes(&d), 20_000);
    let decided = run_until_decided(&mut d, slow, 40);
    assert_eq!(status(&d, slow), ProposalStatus::Passed);
    assert_eq!(decided, submitted + 20);
    assert_eq!(auth_max_tx_bytes(&d), 22_000);
}

#[test]
fn a_proposal_whose_second_message_fails_changes_nothing() {
    let Net { mut d, _dir } = net();
    let before = auth_max_tx_bytes(&d);
    let mut bad = seqpool_staking::params::default_params();
    bad.liveness_window = 0;
    let bad = pb_any(&MsgUpdateParams {
        authority: address::gov_authority(),
        params: Some(pb_any(&bad)),
    });
    let id = submit(&mut d, 0, vec![auth_max_tx_bytes_to(20_000), bad], false);
    vote(
        &mut d,
        id,
        &[
            (0, VoteOption::Yes),
            (1, VoteOption::Yes),
            (2, VoteOption::Yes),
            (3, VoteOption::Yes),
        ],
    );
    run_until_decided(&mut d, id, 40);
    let p = proposal(&d, id);
    assert_eq!(status(&d, id), ProposalStatus::Failed, "{p:?}");
    assert!(p.failed_reason.contains("message 1"), "{}", p.failed_reason);
    assert!(
        p.failed_reason.contains("liveness_window"),
        "{}",
        p.failed_reason
    );
    // The first message's change was made on the fork only.
    assert_eq!(auth_max_tx_bytes(&d), before);
}

#[test]
fn the_proposer_cancels_and_no_one_else_can() {
    let Net { mut d, _dir } = net();
    let before = auth_max_tx_bytes(&d);
    let id = submit(&mut d, 0, vec![auth_max_tx_bytes_to(20_000)], false);
    vote(&mut d, id, &[(0, VoteOption::Yes), (1, VoteOption::Yes)]);
    let cancel = |d: &Driver, by: usize| {
        tx(
            d,
            by,
            any(&MsgCancelProposal {
                proposal_id: id,
                proposer: d.validators[by].operator(),
            }),
        )
    };
    let out = d.produce_block(vec![cancel(&d, 1)]).expect("block");
    assert_eq!(code(&out.tx_results[0]), codes::UNAUTHORIZED);
    let out = d.produce_block(vec![cancel(&d, 0)]).expect("block");
    assert_ok(&out);
    assert_eq!(status(&d, id), ProposalStatus::Canceled);
    let out = d
        .produce_block(vec![vote_tx(&d, 2, id, VoteOption::Yes)])
        .expect("block");
    assert_eq!(code(&out.tx_results[0]), codes::VOTING_CLOSED);
    for _ in 0..25 {
        d.produce_block(vec![]).expect("block");
    }
    assert_eq!(status(&d, id), ProposalStatus::Canceled);
    assert_eq!(auth_max_tx_bytes(&d), before);
}

#[test]
fn a_validator_tombstoned_mid_vote_loses_its_vote() {
    let Net { mut d, _dir } = net();
    let id = submit(&mut d, 0, vec![auth_max_tx_bytes_to(20_000)], false);
    // A tie (two YES, two NO) would be rejected ...
    vote(
        &mut d,
        id,
        &[
            (0, VoteOption::Yes),
            (1, VoteOption::Yes),
            (2, VoteOption::No),
            (3, VoteOption::No),
        ],
    );
    // ... but validator 3 double-signs and is tombstoned before voting ends: its power counts
    // neither for NO nor in the eligible power.
    let evidence_height = d.height;
    d.misbehavior = vec![d.duplicate_vote(3, evidence_height)];
    d.produce_block(vec![]).expect("block");
    run_until_decided(&mut d, id, 40);
    let p = proposal(&d, id);
    assert_eq!(status(&d, id), ProposalStatus::Passed, "{p:?}");
    let tally = p.final_tally_result.expect("tally");
    assert_eq!((tally.yes, tally.no, tally.eligible), (20, 10, 30));
}

#[test]
fn weighted_votes_split_power() {
    let Net { mut d, _dir } = net();
    let id = submit(&mut d, 0, vec![auth_max_tx_bytes_to(20_000)], false);
    let weighted = |d: &Driver, by: usize, yes: u32| {
        tx(
            d,
            by,
            any(&MsgVoteWeighted {
                proposal_id: id,
                voter: d.validators[by].operator(),
                options: vec![
                    WeightedVoteOption {
                        option: VoteOption::Yes as i32,
                        weight_bps: yes,
                    },
                    WeightedVoteOption {
                        option: VoteOption::No as i32,
                        weight_bps: 10_000 - yes,
                    },
                ],
                metadata: String::new(),
            }),
        )
    };
    let out = d
        .produce_block(vec![weighted(&d, 0, 7_000), weighted(&d, 1, 2_000)])
        .expect("block");
    assert_ok(&out);
    // A later vote replaces the earlier one.
    let out = d
        .produce_block(vec![weighted(&d, 1, 4_000)])
        .expect("block");
    assert_ok(&out);
    run_until_decided(&mut d, id, 40);
    let tally = proposal(&d, id).final_tally_result.expect("tally");
    // 7 + 4 YES, 3 + 6 NO of power 10 each.
    assert_eq!((tally.yes, tally.no), (11, 9));
    assert_eq!(status(&d, id), ProposalStatus::Passed);
}

#[test]
fn submissions_and_votes_that_break_the_rules_are_refused() {
    let Net { mut d, _dir } = net();
    let admin = d.admin_key.clone();
    let refused = |d: &mut Driver, t: Bytes| {
        let out = d.produce_block(vec![t]).expect("block");
        (code(&out.tx_results[0]), out.tx_results[0].log.clone())
    };
    // The admin operates no validator.
    let mut msg = MsgSubmitProposal {
        messages: vec![auth_max_tx_bytes_to(20_000)],
        proposer: d.admin_address(),
        title: "t".into(),
        ..Default::default()
    };
    let t = d.signed_tx(&admin, vec![any(&msg)]).expect("sign");
    assert_eq!(refused(&mut d, t).0, codes::UNAUTHORIZED);
    // A message that names another signer than the gov authority (it would act for the admin).
    msg.proposer = d.validators[0].operator();
    let mut p = seqpool_auth::params::default_params();
    p.max_tx_bytes = 20_000;
    msg.messages = vec![pb_any(&MsgUpdateParams {
        authority: d.admin_address(),
        params: Some(pb_any(&p)),
    })];
    let t = tx(&d, 0, any(&msg));
    let (c, log) = refused(&mut d, t);
    assert_eq!(c, codes::INVALID_MESSAGE, "{log}");
    assert!(log.contains("gov authority"), "{log}");
    // A gov message inside a proposal; an unknown message; no message; no title.
    let inner = pb_any(&MsgVote {
        proposal_id: 1,
        voter: address::gov_authority(),
        option: VoteOption::Yes as i32,
        metadata: String::new(),
    });
    for (messages, title, want) in [
        (vec![inner], "t", codes::INVALID_MESSAGE),
        (
            vec![pbjson_types::Any {
                type_url: "/seqpool.nothing.v1.MsgNothing".into(),
                value: Default::default(),
            }],
            "t",
            codes::UNKNOWN_MESSAGE,
        ),
        (vec![], "t", codes::INVALID_MESSAGE),
        (
            vec![auth_max_tx_bytes_to(20_000)],
            " ",
            codes::INVALID_MESSAGE,
        ),
    ] {
        msg.messages = messages;
        msg.title = title.into();
        let t = tx(&d, 0, any(&msg));
        let (c, log) = refused(&mut d, t);
        assert_eq!(c, want, "{log}");
    }
    // At most four open proposals per proposer (the devnet's limit).
    for _ in 0..4 {
        submit(&mut d, 1, vec![auth_max_tx_bytes_to(20_000)], false);
    }
    let t = tx(
        &d,
        1,
        submit_msg(&d, 1, vec![auth_max_tx_bytes_to(20_000)], false),
    );
    assert_eq!(refused(&mut d, t).0, codes::TOO_MANY_OPEN_PROPOSALS);
    // Votes: an unknown proposal; the admin, who had no power when voting started.
    let t = vote_tx(&d, 0, 99, VoteOption::Yes);
    assert_eq!(refused(&mut d, t).0, codes::PROPOSAL_NOT_FOUND);
    let t = d
        .signed_tx(
            &admin,
            vec![any(&MsgVote {
                proposal_id: 1,
                voter: d.admin_address(),
                option: VoteOption::Yes as i32,
                metadata: String::new(),
            })],
        )
        .expect("sign");
    assert_eq!(refused(&mut d, t).0, codes::UNAUTHORIZED);
    let t = vote_tx(&d, 0, 1, VoteOption::Unspecified);
    assert_eq!(refused(&mut d, t).0, codes::INVALID_MESSAGE);
}

#[test]
fn gov_params_change_only_by_a_proposal() {
    let Net { mut d, _dir } = net();
    let admin = d.admin_key.clone();
    let mut p = seqpool_gov::params::default_params();
    p.voting_period_seconds = 30;
    let as_admin = MsgUpdateParams {
        authority: d.admin_address(),
        params: Some(pb_any(&p)),
    };
    let out = d
        .produce_block(vec![d
            .signed_tx(&admin, vec![any(&as_admin)])
            .expect("sign")])
        .expect("block");
    assert_eq!(code(&out.tx_results[0]), codes::UNAUTHORIZED);
    let as_gov = pb_any(&MsgUpdateParams {
        authority: address::gov_authority(),
        params: Some(pb_any(&p)),
    });
    let id = submit(&mut d, 0, vec![as_gov], false);
    vote(
        &mut d,
        id,
        &[
            (0, VoteOption::Yes),
            (1, VoteOption::Yes),
            (2, VoteOption::Abstain),
        ],
    );
    run_until_decided(&mut d, id, 40);
    assert_eq!(status(&d, id), ProposalStatus::Passed);
    let snapshot = d.nodes[0].app.storage().latest_snapshot();
    assert_eq!(
        snapshot.gov_params().expect("params").voting_period_seconds,
        30
    );
    // The next proposal gets the new period.
    let next = submit(&mut d, 0, vec![auth_max_tx_bytes_to(20_000)], false);
    let p = proposal(&d, next);
    let (start, end) = (
        p.submit_time.expect("submit").seconds,
        p.voting_end_time.expect("end").seconds,
    );
    assert_eq!(end - start, 30);
}

fn admin_sends(d: &mut Driver, msg: Any) -> (u32, String) {
    let admin = d.admin_key.clone();
    let t = d.signed_tx(&admin, vec![msg]).expect("sign");
    let out = d.produce_block(vec![t]).expect("block");
    (code(&out.tx_results[0]), out.tx_results[0].log.clone())
}

fn admin_update_auth(d: &Driver, max_tx_bytes: u64) -> Any {
    let mut p = seqpool_auth::params::default_params();
    p.max_tx_bytes = max_tx_bytes;
    any(&MsgUpdateParams {
        authority: d.admin_address(),
        params: Some(pb_any(&p)),
    })
}

#[test]
fn a_proposal_retires_the_admin_for_good() {
    use seqpool_admin::{MsgRetireAdmin, MsgTransferAdmin};
    let Net { mut d, _dir } = net();
    // Before: the admin rules alone.
    let m = admin_update_auth(&d, 19_000);
    assert_eq!(admin_sends(&mut d, m).0, 0);
    let retire = pb_any(&MsgRetireAdmin {
        authority: address::gov_authority(),
    });
    let id = submit(&mut d, 0, vec![retire], false);
    three_vote_yes(&mut d, id);
    let decided = run_until_decided(&mut d, id, 40);
    assert_eq!(
        status(&d, id),
        ProposalStatus::Passed,
        "{:?}",
        proposal(&d, id)
    );
    let snapshot = d.nodes[1].app.storage().latest_snapshot();
    let shown = seqpool_admin::query::admin(&snapshot, &Default::default()).expect("query");
    assert_eq!(shown.admin, "");
    assert_eq!(shown.retired_at_height, decided);
    assert_eq!(shown.gov_authority, address::gov_authority());

    // Every admin path is refused, and nothing brings the admin back.
    let m = admin_update_auth(&d, 18_000);
    let (c, log) = admin_sends(&mut d, m);
    assert_eq!(c, codes::UNAUTHORIZED, "{log}");
    assert!(log.contains("retired"), "{log}");
    let m = any(&MsgTransferAdmin {
        authority: d.admin_address(),
        new_admin: d.validators[0].operator(),
    });
    assert_eq!(admin_sends(&mut d, m).0, codes::UNAUTHORIZED);
    let m = any(&seqpool_mpc::MsgRequestGovernanceAction {
        authority: d.admin_address(),
        ..Default::default()
    });
    assert_eq!(admin_sends(&mut d, m).0, codes::UNAUTHORIZED);
    let m = any(&MsgRetireAdmin {
        authority: d.admin_address(),
    });
    assert_eq!(admin_sends(&mut d, m).0, codes::INVALID_MESSAGE);
    assert_eq!(auth_max_tx_bytes(&d), 19_000);

    // A proposal to appoint an admin again fails (MsgTransferAdmin is the admin's alone), and
    // governance itself goes on.
    let appoint = pb_any(&MsgTransferAdmin {
        authority: address::gov_authority(),
        new_admin: d.validators[0].operator(),
    });
    let id = submit(&mut d, 0, vec![appoint], false);
    let change = submit(&mut d, 1, vec![auth_max_tx_bytes_to(21_000)], false);
    for p in [id, change] {
        three_vote_yes(&mut d, p);
    }
    run_until_decided(&mut d, change, 40);
    assert_eq!(status(&d, id), ProposalStatus::Failed);
    assert_eq!(status(&d, change), ProposalStatus::Passed);
    assert_eq!(auth_max_tx_bytes(&d), 21_000);
    let snapshot = d.nodes[0].app.storage().latest_snapshot();
    assert_eq!(
        seqpool_admin::AdminRead::admin(&snapshot).expect("read"),
        None
    );
}

#[test]
fn the_admin_may_retire_itself() {
    use seqpool_admin::MsgRetireAdmin;
    let Net { mut d, _dir } = net();
    let m = any(&MsgRetireAdmin {
        authority: d.admin_address(),
    });
    let (c, log) = admin_sends(&mut d, m);
    assert_eq!(c, 0, "{log}");
    let m = admin_update_auth(&d, 18_000);
    assert_eq!(admin_sends(&mut d, m).0, codes::UNAUTHORIZED);
}
