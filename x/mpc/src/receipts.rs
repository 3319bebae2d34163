//! L1 receipts attested through the bridge (x/bridge `receipts`): a BatchAppended,
//! RewardsDistributed, GroupKeyRotated or (group-signed) Governance.ActionExecuted event marks its
//! SIGNED request LANDED, a Governance.ActionFailed marks it FAILED with the revert reason (matched by type and sequence - an ActionExecuted by action nonce, which
//! SLASHING and GOVERNANCE_ACTION share - and only when the event's content equals the request's:
//! for an action its target and selector), and a GroupKeySet or
//! GroupKeyRotated event marks the keys with that group key `registered_on_l1`.
//!
//! Applying a receipt twice changes nothing, so the bridge needs no record of applied receipts;
//! validators stop listing a receipt once [`status`] says it is recorded.
use seqpool_component::{Event, StateRead, StateWrite, StoreError};
use seqpool_proto::bridge::v1::{l1_receipt::Payload, L1Receipt};

use crate::requests::{batch_request, governance_call, rotation_payload, word_u64};
use crate::state::{MpcRead, MpcWrite};
use crate::{GroupKey, RequestStatus, RequestType, SigningRequest};

/// What state makes of a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptStatus {
    /// It matches a request or key that does not record it yet: worth attesting.
    Pending,
    /// Already recorded (request LANDED, key registered).
    Recorded,
    /// Nothing in state matches (content differs, or no such request).
    Unmatched,
}

/// The request a receipt lands, if the receipt's content equals it.
fn matching_request<S: StateRead + ?Sized>(
    state: &S,
    payload: &Payload,
) -> Result<Option<SigningRequest>, StoreError> {
    Ok(match payload {
        Payload::BatchAppended(e) => batch_request(state, e.batch_index)?.filter(|r| {
            matches!(&r.body, Some(seqpool_proto::mpc::v1::signing_request::Body::Batch(h))
                if h.batch_index == e.batch_index
                    && h.l2_start_block == e.l2_start_block
                    && h.l2_end_block == e.l2_end_block
                    && h.l2_blocks_root == e.l2_blocks_root
                    && h.l2_state_root == e.l2_state_root)
        }),
        Payload::RewardsDistributed(e) => {
            // payload = abi.encode(dist): offset word, then sequence, startEpoch, endEpoch.
            let head = [
                word_u64(32),
                word_u64(e.sequence),
                word_u64(e.start_epoch),
                word_u64(e.end_epoch),
            ]
            .concat();
            state
                .request_by_sequence(RequestType::RewardDistribution, e.sequence)?
                .filter(|r| r.payload.starts_with(&head))
        }
        Payload::GroupKeyRotated(e) => {
            let signed_at = e.key_nonce.saturating_sub(1);
            let payload = rotation_payload(&e.new_px, &e.new_py);
            state
                .request_by_sequence(RequestType::RotateGroupKey, signed_at)?
                .filter(|r| r.payload == payload)
        }
        Payload::ActionExecuted(e) => {
            action_request(state, e.action_nonce, &e.target, &e.selector)?
        }
        Payload::ActionFailed(e) => action_request(state, e.action_nonce, &e.target, &e.selector)?,
        Payload::GroupKeySet(_) => None,
    })
}

/// The SLASHING or GOVERNANCE_ACTION request with action nonce `nonce`, if it calls `selector` on
/// `target`. The two types share Governance.actionNonce: at most one of them has this nonce.
fn action_request<S: StateRead + ?Sized>(
    state: &S,
    nonce: u64,
    target: &[u8],
    selector: &[u8],
) -> Result<Option<SigningRequest>, StoreError> {
    let mut found = None;
    for kind in [RequestType::Slashing, RequestType::GovernanceAction] {
        if let Some(r) = state.request_by_sequence(kind, nonce)? {
            found = Some(r);
            break;
        }
    }
    Ok(found.filter(|r| {
        governance_call(&r.payload)
            .is_some_and(|(t, s)| t.as_slice() == target && s.as_slice() == selector)
    }))
}

/// Why an action failed on L1, from its revert data: a Solidity `Error(string)` as its text,
/// else the custom error's selector and the data in hex.
pub fn describe_revert(data: &[u8]) -> String {
    const ERROR_STRING: [u8; 4] = [0x08, 0xc3, 0x79, 0xa0];
    if data.len() >= 4 + 64 && data[..4] == ERROR_STRING {
        let len = u64::from_be_bytes(data[4 + 56..4 + 64].try_into().unwrap_or_default()) as usize;
        if let Some(text) = data.get(4 + 64..).and_then(|rest| rest.get(..len)) {
            return format!("Error({:?})", String::from_utf8_lossy(text));
        }
    }
    match data.get(..4) {
        None => format!("revert data 0x{}", hex::encode(data)),
        Some(selector) => format!(
            "custom error 0x{} (revert data 0x{})",
            hex::encode(selector),
            hex::encode(data)
        ),
    }
}

/// The keys whose group key is (px, py).
fn keys_with<S: StateRead + ?Sized>(
    state: &S,
    px: &[u8],
    py: &[u8],
) -> Result<Vec<GroupKey>, StoreError> {
    Ok(state
        .group_keys()?
        .into_iter()
        .filter(|k| k.px == px && k.py == py)
        .collect())
}

fn registered_key(payload: &Payload) -> Option<(&[u8], &[u8])> {
    match payload {
        Payload::GroupKeySet(e) => Some((&e.px, &e.py)),
        Payload::GroupKeyRotated(e) => Some((&e.new_px, &e.new_py)),
        _ => None,
    }
}

/// Whether `receipt` is still to be recorded (validators list only those).
pub fn status<S: StateRead + ?Sized>(
    state: &S,
    receipt: &L1Receipt,
) -> Result<ReceiptStatus, StoreError> {
    let Some(payload) = &receipt.payload else {
        return Ok(ReceiptStatus::Unmatched);
    };
    let mut matched = false;
    if let Some(request) = matching_request(state, payload)? {
        matched = true;
        if request.status() == RequestStatus::Signed {
            return Ok(ReceiptStatus::Pending);
        }
    }
    if let Some((px, py)) = registered_key(payload) {
        let keys = keys_with(state, px, py)?;
        matched |= !keys.is_empty();
        if keys.iter().any(|k| !k.registered_on_l1) {
            return Ok(ReceiptStatus::Pending);
        }
    }
    Ok(if matched {
        ReceiptStatus::Recorded
    } else {
        ReceiptStatus::Unmatched
    })
}

/// Records an attested receipt: its SIGNED request becomes LANDED, keys with the registered group
/// key become `registered_on_l1` (and, on a rotation, keys with the old one no longer are).
pub fn apply<S: StateWrite>(
    state: &mut S,
    receipt: &L1Receipt,
    height: u64,
) -> Result<Vec<Event>, StoreError> {
    let Some(payload) = &receipt.payload else {
        return Ok(Vec::new());
    };
    let mut events = Vec::new();
    let tx = hex::encode(&receipt.tx_hash);
    match matching_request(state, payload)? {
        Some(mut request) if request.status() == RequestStatus::Signed => {
            if let Payload::ActionFailed(e) = payload {
                // Governance used the nonce and changed nothing: the request is over. A retry
                // would need a new decision (another proposal), not the same signature again.
                request.set_status(RequestStatus::Failed);
                request.failure = format!(
                    "the call reverted on L1 (tx 0x{tx}, block {}): {}",
                    receipt.block_number,
                    describe_revert(&e.revert_data)
                );
                request.l1_tx_hash = receipt.tx_hash.clone();
                request.l1_block = receipt.block_number;
                state.put_signing_request(&request);
                events.push(
                    Event::new("mpc_request_failed_on_l1")
                        .attr("request_id", request.request_id.to_string())
                        .attr("type", request.request_type().as_str_name())
                        .attr("sequence", request.sequence.to_string())
                        .attr("l1_tx", tx.clone())
                        .attr("reason", request.failure.clone()),
                );
                return Ok(events);
            }
            request.set_status(RequestStatus::Landed);
            request.l1_tx_hash = receipt.tx_hash.clone();
            request.l1_block = receipt.block_number;
            request.landed_height = height;
            state.put_signing_request(&request);
            events.push(
                Event::new("mpc_request_landed")
                    .attr("request_id", request.request_id.to_string())
                    .attr("type", request.request_type().as_str_name())
                    .attr("sequence", request.sequence.to_string())
                    .attr("l1_tx", tx.clone())
                    .attr("l1_block", receipt.block_number.to_string()),
            );
        }
        Some(_) => {}
        None if !matches!(payload, Payload::GroupKeySet(_)) => {
            // Attested but not ours (or not equal to ours): recorded as an event for operators.
            events.push(
                Event::new("mpc_receipt_unmatched")
                    .attr("l1_tx", tx.clone())
                    .attr("log_index", receipt.log_index.to_string()),
            );
        }
        None => {}
    }
    if let Payload::GroupKeyRotated(e) = payload {
        for mut key in keys_with(state, &e.old_px, &e.old_py)? {
            if key.registered_on_l1 {
                key.registered_on_l1 = false;
                state.put_group_key(&key);
            }
        }
    }
    if let Some((px, py)) = registered_key(payload) {
        for mut key in keys_with(state, px, py)? {
            if !key.registered_on_l1 {
                key.registered_on_l1 = true;
                state.put_group_key(&key);
                events.push(
                    Event::new("mpc_key_registered_on_l1")
                        .attr("key_id", key.key_id.to_string())
                        .attr("l1_tx", tx.clone()),
                );
            }
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BatchHeader, KeyStatus};
    use seqpool_component::StateWriteProto;
    use seqpool_proto::bridge::v1::{BatchAppended, GroupKeyRotated, GroupKeySet};
    use seqpool_store::{StateDelta, Storage};

    fn header(index: u64) -> BatchHeader {
        BatchHeader {
            batch_index: index,
            l2_start_block: 1,
            l2_end_block: 8,
            l2_blocks_root: vec![0xb1; 32],
            l2_state_root: vec![0x5e; 32],
        }
    }

    fn signed_batch<S: StateWrite>(state: &mut S, id: u64, index: u64) {
        state.put_signing_request(&SigningRequest {
            request_id: id,
            request_type: RequestType::Batch as i32,
            sequence: index,
            body: Some(seqpool_proto::mpc::v1::signing_request::Body::Batch(
                header(index),
            )),
            status: RequestStatus::Signed as i32,
            ..Default::default()
        });
        state.put_u64(crate::state_key::batch(index), id);
    }

    fn appended(h: &BatchHeader) -> L1Receipt {
        L1Receipt {
            tx_hash: vec![7; 32],
            log_index: 2,
            block_number: 99,
            payload: Some(Payload::BatchAppended(BatchAppended {
                batch_index: h.batch_index,
                l2_start_block: h.l2_start_block,
                l2_end_block: h.l2_end_block,
                l2_blocks_root: h.l2_blocks_root.clone(),
                l2_state_root: h.l2_state_root.clone(),
            })),
        }
    }

    #[test]
    fn batch_receipt_lands_its_request_once_and_only_with_equal_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let mut state = StateDelta::new(storage.latest_snapshot());
        signed_batch(&mut state, 5, 0);
        let receipt = appended(&header(0));
        let mut other = header(0);
        other.l2_state_root = vec![1; 32];
        let forged = appended(&other);
        assert_eq!(
            status(&state, &forged).expect("status"),
            ReceiptStatus::Unmatched
        );
        apply(&mut state, &forged, 10).expect("apply");
        assert_eq!(
            state.signing_request(5).expect("get").map(|r| r.status()),
            Some(RequestStatus::Signed),
            "a receipt with other content lands nothing"
        );
        assert_eq!(
            status(&state, &receipt).expect("status"),
            ReceiptStatus::Pending
        );
        let events = apply(&mut state, &receipt, 11).expect("apply");
        assert_eq!(events.len(), 1);
        let landed = state.signing_request(5).expect("get").expect("request");
        assert_eq!(landed.status(), RequestStatus::Landed);
        assert_eq!(
            (
                landed.l1_tx_hash.clone(),
                landed.l1_block,
                landed.landed_height
            ),
            (vec![7; 32], 99, 11)
        );
        assert_eq!(
            status(&state, &receipt).expect("status"),
            ReceiptStatus::Recorded
        );
        assert!(apply(&mut state, &receipt, 12).expect("again").is_empty());
        assert_eq!(
            state
                .signing_request(5)
                .expect("get")
                .map(|r| r.landed_height),
            Some(11)
        );
    }

    #[test]
    fn a_reshared_key_stays_registered_on_l1() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let mut state = StateDelta::new(storage.latest_snapshot());
        let key = |id: u64, status: KeyStatus, registered: bool| GroupKey {
            key_id: id,
            px: vec![10; 32],
            py: vec![11; 32],
            status: status as i32,
            registered_on_l1: registered,
            ..Default::default()
        };
        state.put_group_key(&key(1, KeyStatus::Active, true));
        state.set_active_key(1);
        state.put_group_key(&key(2, KeyStatus::Pending, false));
        let ctx = seqpool_component::BlockContext {
            chain_id: "test".into(),
            height: 9,
            time_unix_nanos: 0,
        };
        let test = SigningRequest {
            request_type: RequestType::KeyTest as i32,
            key_id: 2,
            ..Default::default()
        };
        crate::lifecycle::on_key_test_signed(&mut state, &ctx, &test).expect("activate");
        let new = state.group_key(2).expect("get").expect("key");
        assert_eq!(new.status(), KeyStatus::Active);
        assert!(new.registered_on_l1, "same group key: L1 still holds it");
    }

    #[test]
    fn key_set_and_rotation_register_keys_and_land_the_rotation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let mut state = StateDelta::new(storage.latest_snapshot());
        let key = |id: u64, byte: u8| GroupKey {
            key_id: id,
            px: vec![byte; 32],
            py: vec![byte + 1; 32],
            status: KeyStatus::Active as i32,
            ..Default::default()
        };
        // Keys 1 and 2 share a group key (a reshare); key 3 is the rotation's new key.
        for k in [key(1, 10), key(2, 10), key(3, 20)] {
            state.put_group_key(&k);
        }
        let set = L1Receipt {
            tx_hash: vec![1; 32],
            payload: Some(Payload::GroupKeySet(GroupKeySet {
                key_nonce: 1,
                px: vec![10; 32],
                py: vec![11; 32],
            })),
            ..Default::default()
        };
        assert_eq!(
            status(&state, &set).expect("status"),
            ReceiptStatus::Pending
        );
        assert_eq!(apply(&mut state, &set, 3).expect("apply").len(), 2);
        assert!(
            state
                .group_key(2)
                .expect("get")
                .expect("key")
                .registered_on_l1
        );
        assert_eq!(
            status(&state, &set).expect("status"),
            ReceiptStatus::Recorded
        );

        state.put_signing_request(&SigningRequest {
            request_id: 9,
            request_type: RequestType::RotateGroupKey as i32,
            sequence: 1,
            payload: rotation_payload(&[20; 32], &[21; 32]),
            status: RequestStatus::Signed as i32,
            ..Default::default()
        });
        state.put_u64(
            crate::state_key::request_by_sequence(RequestType::RotateGroupKey as i32, 1),
            9,
        );
        let rotated = L1Receipt {
            tx_hash: vec![2; 32],
            payload: Some(Payload::GroupKeyRotated(GroupKeyRotated {
                key_nonce: 2,
                old_px: vec![10; 32],
                old_py: vec![11; 32],
                new_px: vec![20; 32],
                new_py: vec![21; 32],
            })),
            ..Default::default()
        };
        assert_eq!(
            status(&state, &rotated).expect("status"),
            ReceiptStatus::Pending
        );
        apply(&mut state, &rotated, 4).expect("apply");
        assert_eq!(
            state.signing_request(9).expect("get").map(|r| r.status()),
            Some(RequestStatus::Landed)
        );
        assert!(
            state
                .group_key(3)
                .expect("get")
                .expect("key")
                .registered_on_l1
        );
        assert!(
            !state
                .group_key(1)
                .expect("get")
                .expect("key")
                .registered_on_l1
        );
        assert_eq!(
            status(&state, &rotated).expect("status"),
            ReceiptStatus::Recorded
        );
    }

    #[test]
    fn action_receipt_lands_the_request_with_its_nonce_target_and_selector() {
        use crate::requests::{governance_payload, slash_calldata};
        use seqpool_proto::bridge::v1::ActionExecuted;
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let mut state = StateDelta::new(storage.latest_snapshot());
        let data = slash_calldata(7, 50);
        // Nonce 0: a slashing; nonce 1: a governance action.
        for (id, kind, nonce) in [
            (3, RequestType::Slashing, 0u64),
            (4, RequestType::GovernanceAction, 1),
        ] {
            state.put_signing_request(&SigningRequest {
                request_id: id,
                request_type: kind as i32,
                sequence: nonce,
                payload: governance_payload(&[2; 20], &data, nonce),
                status: RequestStatus::Signed as i32,
                ..Default::default()
            });
            state.put_u64(
                crate::state_key::request_by_sequence(kind as i32, nonce),
                id,
            );
        }
        let executed = |nonce: u64, target: u8, selector: &[u8]| L1Receipt {
            tx_hash: vec![nonce as u8 + 1; 32],
            block_number: 40 + nonce,
            payload: Some(Payload::ActionExecuted(ActionExecuted {
                target: vec![target; 20],
                selector: selector.to_vec(),
                action_nonce: nonce,
            })),
            ..Default::default()
        };
        let selector = &data[..4];
        for wrong in [
            executed(0, 9, selector),
            executed(0, 2, &[0xde, 0xad, 0xbe, 0xef]),
            executed(2, 2, selector),
        ] {
            assert_eq!(
                status(&state, &wrong).expect("status"),
                ReceiptStatus::Unmatched
            );
            let events = apply(&mut state, &wrong, 5).expect("apply");
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].kind, "mpc_receipt_unmatched");
        }
        for id in [3, 4] {
            assert_eq!(
                state.signing_request(id).expect("get").map(|r| r.status()),
                Some(RequestStatus::Signed)
            );
        }
        for (id, nonce) in [(3, 0), (4, 1)] {
            let receipt = executed(nonce, 2, selector);
            assert_eq!(
                status(&state, &receipt).expect("status"),
                ReceiptStatus::Pending
            );
            apply(&mut state, &receipt, 6).expect("apply");
            let landed = state.signing_request(id).expect("get").expect("request");
            assert_eq!(landed.status(), RequestStatus::Landed);
            assert_eq!(
                (landed.l1_tx_hash, landed.l1_block, landed.landed_height),
                (vec![nonce as u8 + 1; 32], 40 + nonce, 6)
            );
            assert_eq!(
                status(&state, &receipt).expect("status"),
                ReceiptStatus::Recorded
            );
        }
    }

    #[test]
    fn action_failed_on_l1_fails_its_request_with_the_reason_and_later_actions_land() {
        use crate::requests::{governance_payload, slash_calldata};
        use seqpool_proto::bridge::v1::{ActionExecuted, ActionFailed};
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let mut state = StateDelta::new(storage.latest_snapshot());
        let data = slash_calldata(7, 50);
        for (id, nonce) in [(3, 0u64), (4, 1)] {
            state.put_signing_request(&SigningRequest {
                request_id: id,
                request_type: RequestType::GovernanceAction as i32,
                sequence: nonce,
                payload: governance_payload(&[2; 20], &data, nonce),
                status: RequestStatus::Signed as i32,
                ..Default::default()
            });
            state.put_u64(
                crate::state_key::request_by_sequence(RequestType::GovernanceAction as i32, nonce),
                id,
            );
        }
        // LockingPool.InvalidLockBounds(0, 1000): a custom error with two words.
        let revert = [&[0x1a, 0x2b, 0x3c, 0x4d][..], &[0; 32], &[0; 31], &[0xe8]].concat();
        let failed = L1Receipt {
            tx_hash: vec![9; 32],
            block_number: 77,
            payload: Some(Payload::ActionFailed(ActionFailed {
                target: vec![2; 20],
                selector: data[..4].to_vec(),
                action_nonce: 0,
                revert_data: revert.clone(),
            })),
            ..Default::default()
        };
        let mut other_target = failed.clone();
        if let Some(Payload::ActionFailed(e)) = &mut other_target.payload {
            e.target = vec![8; 20];
        }
        assert_eq!(
            status(&state, &other_target).expect("status"),
            ReceiptStatus::Unmatched,
            "a failure of another call fails nothing"
        );
        assert_eq!(
            status(&state, &failed).expect("status"),
            ReceiptStatus::Pending
        );
        let events = apply(&mut state, &failed, 12).expect("apply");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "mpc_request_failed_on_l1");
        let request = state.signing_request(3).expect("get").expect("request");
        assert_eq!(request.status(), RequestStatus::Failed);
        assert!(
            request.failure.contains("reverted on L1")
                && request.failure.contains(&hex::encode(&revert)),
            "{}",
            request.failure
        );
        assert_eq!(
            state
                .request_by_sequence(RequestType::GovernanceAction, 0)
                .expect("get")
                .map(|r| r.request_id),
            Some(3),
            "not retried: no new request for the nonce"
        );
        assert_eq!(
            status(&state, &failed).expect("status"),
            ReceiptStatus::Recorded
        );
        assert!(apply(&mut state, &failed, 13).expect("apply").is_empty());

        let next = L1Receipt {
            tx_hash: vec![10; 32],
            block_number: 78,
            payload: Some(Payload::ActionExecuted(ActionExecuted {
                target: vec![2; 20],
                selector: data[..4].to_vec(),
                action_nonce: 1,
            })),
            ..Default::default()
        };
        apply(&mut state, &next, 14).expect("apply");
        assert_eq!(
            state.signing_request(4).expect("get").map(|r| r.status()),
            Some(RequestStatus::Landed)
        );
    }

    #[test]
    fn revert_reasons_read_as_text_or_hex() {
        let text = [
            &[0x08, 0xc3, 0x79, 0xa0][..],
            &[0; 31],
            &[0x20],
            &[0; 31],
            &[2],
            b"no",
            &[0; 30],
        ]
        .concat();
        assert_eq!(describe_revert(&text), "Error(\"no\")");
        assert_eq!(
            describe_revert(&[1, 2, 3, 4, 5]),
            "custom error 0x01020304 (revert data 0x0102030405)"
        );
        assert_eq!(describe_revert(&[]), "revert data 0x");
        // A length past the data is not read.
        let mut bad = text.clone();
        bad[4 + 63] = 200;
        assert!(describe_revert(&bad).starts_with("custom error 0x08c379a0"));
    }
}
