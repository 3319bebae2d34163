//! The request status index (x/mpc state) against a full scan of every request, through every
//! transition: created, signing, committed, signed and failed, resubmitted, retried, landed by L1
//! receipts.
#![allow(clippy::unwrap_used)]
use seqpool_component::{BlockContext, StateRead, StateWrite};
use seqpool_mpc::requests::{
    create_batch, create_governance_action, create_reward_distribution, create_rotate_group_key,
    create_slashing, governance_payload, retry_action,
};
use seqpool_mpc::state::{MpcRead, MpcWrite};
use seqpool_mpc::{BatchHeader, GroupKey, L1Contracts, RequestStatus, RequestType, SigningRequest};
use seqpool_proto::bridge::v1::{l1_receipt, ActionExecuted, BatchAppended, L1Receipt};
use seqpool_proto::mpc::v1::QueryRequestsRequest;
use seqpool_proto::producer::v1::RewardSettlement;
use seqpool_store::{StateDelta, Storage};

fn ctx(height: u64) -> BlockContext {
    BlockContext {
        chain_id: "test".into(),
        height,
        time_unix_nanos: 0,
    }
}

fn set_l1<S: StateWrite>(state: &mut S) {
    let mut params = state.mpc_params().unwrap();
    params.l1 = Some(L1Contracts {
        chain_id: 5,
        batch_inbox: vec![1; 20],
        locking_pool: vec![2; 20],
        group_key_registry: vec![3; 20],
        governance: vec![4; 20],
    });
    state.put_mpc_params(&params);
}

fn header(index: u64, start: u64, root: u8) -> BatchHeader {
    BatchHeader {
        batch_index: index,
        l2_start_block: start,
        l2_end_block: start + 3,
        l2_blocks_root: vec![root; 32],
        l2_state_root: vec![root + 1; 32],
    }
}

/// Every status query (whole and paged by one) equals a filtered scan of every request, and
/// the open-request ids equal the PENDING and SIGNING ones.
fn assert_index_equals_scan(state: &impl StateRead, step: &str) {
    let all = state.signing_requests(0, usize::MAX).unwrap();
    for status in seqpool_mpc::state::ALL_STATUSES.into_iter().skip(1) {
        let scan: Vec<SigningRequest> = all
            .iter()
            .filter(|r| r.status() == status)
            .cloned()
            .collect();
        let ask = |from_id: u64, limit: u32| {
            seqpool_mpc::query::requests(
                state,
                &QueryRequestsRequest {
                    status: status as i32,
                    from_id,
                    limit,
                },
            )
            .unwrap()
            .requests
        };
        assert_eq!(ask(0, 0), scan, "{step}: {status:?}");
        // Paged one by one from each returned id + 1.
        let mut paged = Vec::new();
        let mut from = 0;
        while let Some(r) = ask(from, 1).pop() {
            from = r.request_id + 1;
            paged.push(r);
        }
        assert_eq!(paged, scan, "{step}: {status:?} paged");
    }
    let open: Vec<u64> = all
        .iter()
        .filter(|r| matches!(r.status(), RequestStatus::Pending | RequestStatus::Signing))
        .map(|r| r.request_id)
        .collect();
    assert_eq!(state.open_request_ids().unwrap(), open, "{step}: open");
}

fn set_status(state: &mut impl MpcWrite, id: u64, status: RequestStatus) {
    let mut r = state.signing_request(id).unwrap().unwrap();
    r.set_status(status);
    state.put_signing_request(&r);
}

#[test]
fn status_index_equals_a_full_scan_through_every_transition() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let mut state = StateDelta::new(storage.latest_snapshot());
    set_l1(&mut state);
    let (b0, _) = create_batch(&mut state, &ctx(1), &header(0, 1, 0x10), "op").unwrap();
    let (b1, _) = create_batch(&mut state, &ctx(1), &header(1, 5, 0x20), "op").unwrap();
    let selector = [0xaa, 0xbb, 0xcc, 0xdd];
    let (action, _) =
        create_governance_action(&mut state, &ctx(1), [9; 20], &selector, "admin", None).unwrap();
    assert_index_equals_scan(&state, "created");
    set_status(&mut state, b0.request_id, RequestStatus::Signing);
    set_status(&mut state, b1.request_id, RequestStatus::Signing);
    assert_index_equals_scan(&state, "signing");

    // Committed: later moves find the old entry in the store, not in the block's delta.
    let prepared = storage.prepare(state.changes(), 1).unwrap();
    storage.commit(prepared).unwrap();
    let mut state = StateDelta::new(storage.latest_snapshot());
    assert_index_equals_scan(&state, "committed");

    set_status(&mut state, b0.request_id, RequestStatus::Signed);
    set_status(&mut state, b1.request_id, RequestStatus::Failed);
    set_status(&mut state, action.request_id, RequestStatus::Signing);
    // Back to PENDING between attempts, then SIGNED.
    set_status(&mut state, action.request_id, RequestStatus::Pending);
    set_status(&mut state, action.request_id, RequestStatus::Signed);
    assert_index_equals_scan(&state, "signed and failed");

    // The failed batch is submitted again under the same index.
    let (again, _) = create_batch(&mut state, &ctx(2), &header(1, 5, 0x30), "op").unwrap();
    assert_index_equals_scan(&state, "resubmitted");

    // L1 receipts land the signed batch and the action.
    let landed_batch = L1Receipt {
        tx_hash: vec![7; 32],
        block_number: 30,
        payload: Some(l1_receipt::Payload::BatchAppended(BatchAppended {
            batch_index: 0,
            l2_start_block: 1,
            l2_end_block: 4,
            l2_blocks_root: vec![0x10; 32],
            l2_state_root: vec![0x11; 32],
        })),
        ..Default::default()
    };
    let landed_action = L1Receipt {
        tx_hash: vec![8; 32],
        block_number: 31,
        payload: Some(l1_receipt::Payload::ActionExecuted(ActionExecuted {
            target: vec![9; 20],
            selector: selector.to_vec(),
            action_nonce: 0,
        })),
        ..Default::default()
    };
    assert_eq!(
        action.payload,
        governance_payload(&[9; 20], &selector, 0),
        "the action signs nonce 0"
    );
    seqpool_mpc::receipts::apply(&mut state, &landed_batch, 3).unwrap();
    seqpool_mpc::receipts::apply(&mut state, &landed_action, 3).unwrap();
    for id in [b0.request_id, action.request_id] {
        assert_eq!(
            state.signing_request(id).unwrap().unwrap().status(),
            RequestStatus::Landed
        );
    }
    set_status(&mut state, again.request_id, RequestStatus::Signing);
    set_status(&mut state, again.request_id, RequestStatus::Signed);
    assert_index_equals_scan(&state, "landed");

    let prepared = storage.prepare(state.changes(), 2).unwrap();
    storage.commit(prepared).unwrap();
    let state = StateDelta::new(storage.latest_snapshot());
    assert_index_equals_scan(&state, "committed again");
    let signed = |state: &StateDelta<_>| {
        seqpool_mpc::query::requests(
            state,
            &QueryRequestsRequest {
                status: RequestStatus::Signed as i32,
                ..Default::default()
            },
        )
        .unwrap()
        .requests
        .into_iter()
        .map(|r| r.request_id)
        .collect::<Vec<_>>()
    };
    assert_eq!(signed(&state), vec![again.request_id]);
}

/// A failed action is re-issued with its nonce and digest, the sequence index follows, the
/// nonce counter does not move, and other types are not re-issued.
#[test]
fn a_failed_action_is_retried_with_the_same_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let mut state = StateDelta::new(storage.latest_snapshot());
    set_l1(&mut state);
    let selector = [0xaa, 0xbb, 0xcc, 0xdd];
    let (action, _) =
        create_governance_action(&mut state, &ctx(1), [9; 20], &selector, "admin", None).unwrap();
    let (batch, _) = create_batch(&mut state, &ctx(1), &header(0, 1, 0x10), "op").unwrap();
    assert!(retry_action(&mut state, &ctx(2), &batch).unwrap().is_none());
    set_status(&mut state, action.request_id, RequestStatus::Failed);
    let failed = state.signing_request(action.request_id).unwrap().unwrap();
    let (retry, events) = retry_action(&mut state, &ctx(2), &failed).unwrap().unwrap();
    assert_ne!(retry.request_id, action.request_id);
    assert_eq!(
        (&retry.digest, &retry.payload, &retry.target, retry.sequence),
        (&action.digest, &action.payload, &action.target, 0)
    );
    assert_eq!(
        (retry.status(), retry.created_height),
        (RequestStatus::Pending, 2)
    );
    assert_eq!(events[1].kind, "mpc_request_retried");
    assert_eq!(
        state
            .request_by_sequence(RequestType::GovernanceAction, 0)
            .unwrap()
            .map(|r| r.request_id),
        Some(retry.request_id)
    );
    assert_index_equals_scan(&state, "retried");
    let (next, _) = create_slashing(
        &mut state,
        &ctx(3),
        &seqpool_proto::staking::v1::SlashingRequest {
            id: 1,
            validator: "AA".into(),
            sequencer_id: 7,
            amount: "50".into(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(next.sequence, 1, "the next action takes the next nonce");
}

/// A failed reward distribution and a failed key rotation are re-issued with their sequence,
/// the receipts' sequence index follows, and their counters do not move.
#[test]
fn failed_reward_and_rotation_are_retried_with_their_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let mut state = StateDelta::new(storage.latest_snapshot());
    set_l1(&mut state);
    let settlement = |epoch| RewardSettlement {
        epoch,
        ..Default::default()
    };
    let key = |tag: u8| GroupKey {
        px: vec![tag; 32],
        py: vec![tag + 1; 32],
        ..Default::default()
    };
    let (reward, _) = create_reward_distribution(&mut state, &ctx(1), &settlement(4)).unwrap();
    let (rotation, _) = create_rotate_group_key(&mut state, &ctx(1), &key(1), "test").unwrap();
    for (failed_id, kind) in [
        (reward.request_id, RequestType::RewardDistribution),
        (rotation.request_id, RequestType::RotateGroupKey),
    ] {
        set_status(&mut state, failed_id, RequestStatus::Failed);
        let failed = state.signing_request(failed_id).unwrap().unwrap();
        let (retry, events) = retry_action(&mut state, &ctx(2), &failed).unwrap().unwrap();
        assert_eq!(
            (
                retry.request_type(),
                retry.sequence,
                &retry.payload,
                &retry.digest
            ),
            (kind, 0, &failed.payload, &failed.digest),
            "{kind:?}"
        );
        assert_eq!(events[1].kind, "mpc_request_retried");
        assert_eq!(
            state
                .request_by_sequence(kind, 0)
                .unwrap()
                .map(|r| r.request_id),
            Some(retry.request_id),
            "{kind:?}: the receipt must find the retry"
        );
    }
    assert_index_equals_scan(&state, "retried");
    let (next_reward, _) = create_reward_distribution(&mut state, &ctx(3), &settlement(5)).unwrap();
    let (next_rotation, _) = create_rotate_group_key(&mut state, &ctx(3), &key(3), "test").unwrap();
    assert_eq!((next_reward.sequence, next_rotation.sequence), (1, 1));
}
