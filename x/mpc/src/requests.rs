//! Typed signing requests: what the group signs for each L1 target, with the digest computed
//! exactly as contracts/src/RequestDigest.sol does (via `seqpool_tss::eth`), so that every
//! validator can re-derive it from its own view and L1 verifies the signature itself.
//! (H2 wrote the KEY_TEST request; H1 the other types.)
//!
//! `payload` is the ABI encoding of the arguments the relayer passes besides the signature:
//!
//! | type                | target.function                                   | payload            | sequence           |
//! |---------------------|---------------------------------------------------|--------------------|--------------------|
//! | BATCH               | BatchInbox.appendBatch(BatchHeader, sig)          | abi.encode(header) | batch index        |
//! | REWARD_DISTRIBUTION | LockingPool.distributeRewards(dist, sig)          | abi.encode(dist)   | reward sequence    |
//! | ROTATE_GROUP_KEY    | GroupKeyRegistry.rotateKey(px, py, sig)           | abi.encode(px, py) | registry key nonce |
//! | GOVERNANCE_ACTION   | Governance.executeSigned(action, sig)             | abi.encode(action) | action nonce       |
//! | SLASHING            | Governance.executeSigned(LockingPool.slash(..))   | abi.encode(action) | action nonce       |
//! | KEY_TEST            | none (not relayed)                                | empty              | key id             |
//!
//! The digest's payloadHash is keccak256(payload) except for governance actions, where the
//! contract hashes abi.encode(target, keccak256(data)).
use seqpool_component::{
    codes, BlockContext, Event, StateRead, StateReadProto, StateWrite, StateWriteProto, StoreError,
    TxError,
};
use seqpool_proto::mpc::v1::signing_request::Body;
use seqpool_tss::eth::{self, keccak256};

use crate::state::{MpcRead, MpcWrite};
use crate::{
    state_key, BatchHeader, GroupKey, L1Contracts, L1Target, RequestStatus, RequestType,
    SigningRequest,
};

pub const BATCH_INBOX: &str = "BatchInbox";
pub const LOCKING_POOL: &str = "LockingPool";
pub const GROUP_KEY_REGISTRY: &str = "GroupKeyRegistry";
pub const GOVERNANCE: &str = "Governance";

pub const FN_APPEND_BATCH: &str =
    "appendBatch((uint64,uint64,uint64,bytes32,bytes32),(uint256,uint256,uint256))";
pub const FN_DISTRIBUTE_REWARDS: &str =
    "distributeRewards((uint256,uint256,uint256,uint256[],uint256[]),(uint256,uint256,uint256))";
pub const FN_ROTATE_KEY: &str = "rotateKey(uint256,uint256,(uint256,uint256,uint256))";
pub const FN_EXECUTE_SIGNED: &str =
    "executeSigned((address,bytes,uint256),(uint256,uint256,uint256))";
/// The LockingPool call a slashing action asks Governance to make (governance only; takes
/// min(amount, locked)).
pub const FN_SLASH: &str = "slash(uint256,uint256)";

fn l1_error(what: &str) -> TxError {
    TxError::new(
        codes::L1_NOT_CONFIGURED,
        format!("x/mpc params have no L1 {what}: set params.l1 (genesis or MsgUpdateParams)"),
    )
}

/// The L1 chain id and one contract's address from the params.
pub fn l1_target(l1: Option<&L1Contracts>, contract: &str) -> Result<(u64, [u8; 20]), TxError> {
    let l1 = l1.ok_or_else(|| l1_error("contracts"))?;
    let bytes = match contract {
        BATCH_INBOX => &l1.batch_inbox,
        LOCKING_POOL => &l1.locking_pool,
        GROUP_KEY_REGISTRY => &l1.group_key_registry,
        _ => &l1.governance,
    };
    let address: [u8; 20] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| l1_error(&format!("{contract} address (20 bytes)")))?;
    if l1.chain_id == 0 {
        return Err(l1_error("chain id"));
    }
    Ok((l1.chain_id, address))
}

// --- ABI encoding (the subset the payloads need) ------------------------------------------------

pub fn word_u64(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

pub fn word_u128(v: u128) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

pub fn word_address(a: &[u8; 20]) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a);
    w
}

/// A bytes32 / uint256 word from up to 32 big-endian bytes (right-aligned).
fn word_bytes32(b: &[u8]) -> [u8; 32] {
    let mut w = [0u8; 32];
    let n = b.len().min(32);
    w[32 - n..].copy_from_slice(&b[b.len() - n..]);
    w
}

fn push_array(out: &mut Vec<u8>, values: &[u64]) {
    out.extend_from_slice(&word_u64(values.len() as u64));
    for v in values {
        out.extend_from_slice(&word_u64(*v));
    }
}

/// abi.encode(BatchHeader): five static words.
pub fn batch_payload(h: &BatchHeader) -> Vec<u8> {
    [
        word_u64(h.batch_index),
        word_u64(h.l2_start_block),
        word_u64(h.l2_end_block),
        word_bytes32(&h.l2_blocks_root),
        word_bytes32(&h.l2_state_root),
    ]
    .concat()
}

/// The digest BatchInbox.batchDigest(header) computes.
pub fn batch_digest(chain_id: u64, inbox: [u8; 20], h: &BatchHeader) -> [u8; 32] {
    eth::request_digest(
        chain_id,
        inbox,
        eth::RequestType::Batch,
        h.batch_index,
        keccak256(&batch_payload(h)),
    )
}

/// One LockingPool reward distribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewardDistribution {
    pub sequence: u64,
    pub start_epoch: u64,
    pub end_epoch: u64,
    pub sequencer_ids: Vec<u64>,
    pub blocks_produced: Vec<u64>,
}

/// abi.encode(RewardDistribution): the struct is dynamic, so an offset word comes first.
pub fn reward_payload(d: &RewardDistribution) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&word_u64(32));
    out.extend_from_slice(&word_u64(d.sequence));
    out.extend_from_slice(&word_u64(d.start_epoch));
    out.extend_from_slice(&word_u64(d.end_epoch));
    let ids_offset = 5 * 32;
    let blocks_offset = ids_offset + 32 * (1 + d.sequencer_ids.len());
    out.extend_from_slice(&word_u64(ids_offset as u64));
    out.extend_from_slice(&word_u64(blocks_offset as u64));
    push_array(&mut out, &d.sequencer_ids);
    push_array(&mut out, &d.blocks_produced);
    out
}

pub fn reward_digest(chain_id: u64, pool: [u8; 20], d: &RewardDistribution) -> [u8; 32] {
    eth::request_digest(
        chain_id,
        pool,
        eth::RequestType::RewardDistribution,
        d.sequence,
        keccak256(&reward_payload(d)),
    )
}

/// abi.encode(newPx, newPy).
pub fn rotation_payload(px: &[u8], py: &[u8]) -> Vec<u8> {
    [word_bytes32(px), word_bytes32(py)].concat()
}

pub fn rotation_digest(
    chain_id: u64,
    registry: [u8; 20],
    key_nonce: u64,
    px: &[u8],
    py: &[u8],
) -> [u8; 32] {
    eth::request_digest(
        chain_id,
        registry,
        eth::RequestType::RotateGroupKey,
        key_nonce,
        keccak256(&rotation_payload(px, py)),
    )
}

/// The (target, calldata) of a GOVERNANCE_ACTION or SLASHING payload, if it is exactly
/// [`governance_payload`]`(target, data, nonce)`.
pub fn decode_governance_payload(payload: &[u8], nonce: u64) -> Option<([u8; 20], Vec<u8>)> {
    let target: [u8; 20] = payload.get(44..64)?.try_into().ok()?;
    let len_word = payload.get(128..160)?;
    if len_word[..24].iter().any(|b| *b != 0) {
        return None;
    }
    let len = usize::try_from(u64::from_be_bytes(len_word[24..].try_into().ok()?)).ok()?;
    let data = payload.get(160..160usize.checked_add(len)?)?.to_vec();
    (governance_payload(&target, &data, nonce) == payload).then_some((target, data))
}

/// abi.encode(GovernanceAction{target, data, nonce}) (dynamic struct: offset word first).
pub fn governance_payload(target: &[u8; 20], data: &[u8], nonce: u64) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&word_u64(32));
    out.extend_from_slice(&word_address(target));
    out.extend_from_slice(&word_u64(3 * 32));
    out.extend_from_slice(&word_u64(nonce));
    out.extend_from_slice(&word_u64(data.len() as u64));
    out.extend_from_slice(data);
    let pad = (32 - data.len() % 32) % 32;
    out.extend(std::iter::repeat_n(0u8, pad));
    out
}

/// The target and function selector of a [`governance_payload`] (what Governance.ActionExecuted
/// reports); `None` if `payload` is not one.
pub fn governance_call(payload: &[u8]) -> Option<([u8; 20], [u8; 4])> {
    let word = |i: usize| payload.get(i * 32..(i + 1) * 32);
    let target: [u8; 20] = word(1)?.get(12..)?.try_into().ok()?;
    let selector: [u8; 4] = payload.get(5 * 32..5 * 32 + 4)?.try_into().ok()?;
    // At least a selector's worth of data (the contract reads data[:4]).
    let len = word(4)?;
    if len[..24].iter().any(|b| *b != 0) || u64::from_be_bytes(len[24..].try_into().ok()?) < 4 {
        return None;
    }
    Some((target, selector))
}

/// The digest Governance.actionDigest(action) computes.
pub fn governance_digest(
    chain_id: u64,
    governance: [u8; 20],
    target: &[u8; 20],
    data: &[u8],
    nonce: u64,
) -> [u8; 32] {
    let hash = keccak256(&[word_address(target), keccak256(data)].concat());
    eth::request_digest(
        chain_id,
        governance,
        eth::RequestType::GovernanceAction,
        nonce,
        hash,
    )
}

/// The calldata of LockingPool.slash(sequencerId, amount).
pub fn slash_calldata(sequencer_id: u64, amount: u128) -> Vec<u8> {
    let selector = keccak256(FN_SLASH.as_bytes());
    [
        selector[..4].to_vec(),
        word_u64(sequencer_id).to_vec(),
        word_u128(amount).to_vec(),
    ]
    .concat()
}

/// Governance.removeAdmin(): the L1 half of the chain admin's retirement.
pub const FN_REMOVE_ADMIN: &str = "removeAdmin()";

/// The calldata of Governance.removeAdmin() (a selector, no arguments).
pub fn remove_admin_calldata() -> Vec<u8> {
    keccak256(FN_REMOVE_ADMIN.as_bytes())[..4].to_vec()
}

/// The GOVERNANCE_ACTION request that removes the L1 admin (Governance.removeAdmin on the
/// deployment's Governance): made by the chain admin's retirement, so one decision retires the
/// admin on the chain and on L1. `proposal` is the passed proposal that retired it, if one did.
pub fn create_admin_removal<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    requested_by: &str,
    proposal: Option<u64>,
) -> Result<(SigningRequest, Event), TxError> {
    let params = state.mpc_params()?;
    let (_, governance) = l1_target(params.l1.as_ref(), GOVERNANCE)?;
    create_governance_action(
        state,
        ctx,
        governance,
        &remove_admin_calldata(),
        requested_by,
        proposal,
    )
}

/// What a new key signs before it becomes active: binds the chain, the key id, the group key and
/// the public key package every member confirmed, so a test signature of one key never passes
/// for another. Not relayed to L1.
pub fn key_test_digest(chain_id: &str, key: &GroupKey) -> [u8; 32] {
    let mut preimage = Vec::with_capacity(128);
    preimage.extend_from_slice(b"seqpool.mpc.v1.key_test");
    preimage.extend_from_slice(&(chain_id.len() as u32).to_be_bytes());
    preimage.extend_from_slice(chain_id.as_bytes());
    preimage.extend_from_slice(&key.key_id.to_be_bytes());
    preimage.extend_from_slice(&key.group_key);
    preimage.extend_from_slice(&key.public_key_package_hash);
    keccak256(&preimage)
}

/// Creates the KEY_TEST request of a pending key (signed by that key itself) and indexes it
/// under the key. Returns the request.
pub fn create_key_test<S: StateWrite>(
    state: &mut S,
    chain_id: &str,
    height: u64,
    key: &GroupKey,
) -> Result<SigningRequest, StoreError> {
    let request_id = state.take_id(state_key::NEXT_REQUEST_ID)?;
    let request = SigningRequest {
        request_id,
        request_type: RequestType::KeyTest as i32,
        sequence: key.key_id,
        digest: key_test_digest(chain_id, key).to_vec(),
        body: Some(Body::KeyTestKeyId(key.key_id)),
        status: RequestStatus::Pending as i32,
        key_id: key.key_id,
        created_height: height,
        requested_by: crate::MODULE.into(),
        ..Default::default()
    };
    state.put_signing_request(&request);
    seqpool_component::StateWriteProto::put_u64(state, state_key::key_test(key.key_id), request_id);
    Ok(request)
}

// --- request creation for the L1 types -----------------------------------------------------------

struct NewRequest {
    request_type: RequestType,
    target: Option<L1Target>,
    sequence: u64,
    payload: Vec<u8>,
    digest: [u8; 32],
    body: Option<Body>,
    requested_by: String,
}

fn target(contract: &str, address: [u8; 20], function: &str) -> Option<L1Target> {
    Some(L1Target {
        contract: contract.into(),
        address: address.to_vec(),
        function: function.into(),
    })
}

fn store_request<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    new: NewRequest,
) -> Result<(SigningRequest, Event), StoreError> {
    let request_id = state.take_id(state_key::NEXT_REQUEST_ID)?;
    let request = SigningRequest {
        request_id,
        request_type: new.request_type as i32,
        target: new.target,
        sequence: new.sequence,
        payload: new.payload,
        digest: new.digest.to_vec(),
        body: new.body,
        status: RequestStatus::Pending as i32,
        created_height: ctx.height,
        requested_by: new.requested_by,
        ..Default::default()
    };
    state.put_signing_request(&request);
    if new.request_type != RequestType::Batch {
        // Reward sequences and key/action nonces come from counters: one request each.
        state.put_u64(
            state_key::request_by_sequence(request.request_type, request.sequence),
            request_id,
        );
    }
    let event = Event::new("mpc_request_created")
        .attr("request_id", request_id.to_string())
        .attr("type", request.request_type().as_str_name())
        .attr("sequence", request.sequence.to_string())
        .attr("digest", hex::encode(new.digest));
    Ok((request, event))
}

/// The batch the chain expects next: (batch index, first L2 block).
pub fn next_batch<S: StateRead + ?Sized>(state: &S) -> Result<(u64, u64), StoreError> {
    Ok((
        state.get_u64(state_key::NEXT_BATCH_INDEX)?.unwrap_or(0),
        state.get_u64(state_key::NEXT_L2_BLOCK)?.unwrap_or(1),
    ))
}

/// The request of batch `index`, if any.
pub fn batch_request<S: StateRead + ?Sized>(
    state: &S,
    index: u64,
) -> Result<Option<SigningRequest>, StoreError> {
    match state.get_u64(&state_key::batch(index))? {
        Some(id) => state.signing_request(id),
        None => Ok(None),
    }
}

/// A BATCH request for `header` (checked by the caller against the expected index and range);
/// advances the expected batch.
pub fn create_batch<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    header: &BatchHeader,
    requested_by: &str,
) -> Result<(SigningRequest, Event), TxError> {
    let params = state.mpc_params()?;
    let (chain_id, inbox) = l1_target(params.l1.as_ref(), BATCH_INBOX)?;
    let (next_index, _) = next_batch(state)?;
    let (request, event) = store_request(
        state,
        ctx,
        NewRequest {
            request_type: RequestType::Batch,
            target: target(BATCH_INBOX, inbox, FN_APPEND_BATCH),
            sequence: header.batch_index,
            payload: batch_payload(header),
            digest: batch_digest(chain_id, inbox, header),
            body: Some(Body::Batch(header.clone())),
            requested_by: requested_by.into(),
        },
    )?;
    state.put_u64(state_key::batch(header.batch_index), request.request_id);
    if header.batch_index >= next_index {
        state.put_u64(
            state_key::NEXT_BATCH_INDEX.to_vec(),
            header.batch_index.saturating_add(1),
        );
        state.put_u64(
            state_key::NEXT_L2_BLOCK.to_vec(),
            header.l2_end_block.saturating_add(1),
        );
    }
    Ok((request, event))
}

const NEXT_REWARD_SEQUENCE: &[u8] = b"mpc/next/reward_sequence";
const NEXT_ACTION_NONCE: &[u8] = b"mpc/next/action_nonce";
const NEXT_KEY_NONCE: &[u8] = b"mpc/next/key_nonce";
const SLASHING_SEEN: &[u8] = b"mpc/next/slashing_id";

/// The reward distribution for one x/producer settlement: LockingPool sequencer ids of the
/// validators that produced blocks (validators without an L1 lock are left out), sequence from
/// x/mpc's counter (LockingPool's rewardSequence starts at 0).
pub fn reward_distribution<S: StateRead + ?Sized>(
    state: &S,
    settlement: &seqpool_proto::producer::v1::RewardSettlement,
) -> Result<RewardDistribution, StoreError> {
    use seqpool_staking::StakingRead;
    let mut pairs = Vec::new();
    for s in &settlement.sequencers {
        if let Some(v) = state.validator(&s.validator)? {
            if v.sequencer_id != 0 && s.blocks > 0 {
                pairs.push((v.sequencer_id, s.blocks));
            }
        }
    }
    pairs.sort();
    Ok(RewardDistribution {
        sequence: state.get_u64(NEXT_REWARD_SEQUENCE)?.unwrap_or(0),
        start_epoch: settlement.epoch,
        end_epoch: settlement.epoch,
        sequencer_ids: pairs.iter().map(|p| p.0).collect(),
        blocks_produced: pairs.iter().map(|p| p.1).collect(),
    })
}

/// A REWARD_DISTRIBUTION request for an x/producer settlement.
pub fn create_reward_distribution<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    settlement: &seqpool_proto::producer::v1::RewardSettlement,
) -> Result<(SigningRequest, Event), TxError> {
    let params = state.mpc_params()?;
    let (chain_id, pool) = l1_target(params.l1.as_ref(), LOCKING_POOL)?;
    let dist = reward_distribution(state, settlement)?;
    state.put_u64(NEXT_REWARD_SEQUENCE.to_vec(), dist.sequence + 1);
    Ok(store_request(
        state,
        ctx,
        NewRequest {
            request_type: RequestType::RewardDistribution,
            target: target(LOCKING_POOL, pool, FN_DISTRIBUTE_REWARDS),
            sequence: dist.sequence,
            payload: reward_payload(&dist),
            digest: reward_digest(chain_id, pool, &dist),
            body: Some(Body::RewardEpoch(settlement.epoch)),
            requested_by: "producer".into(),
        },
    )?)
}

fn create_action<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    request_type: RequestType,
    action_target: [u8; 20],
    data: &[u8],
    body: Option<Body>,
    requested_by: &str,
) -> Result<(SigningRequest, Event), TxError> {
    let params = state.mpc_params()?;
    let (chain_id, governance) = l1_target(params.l1.as_ref(), GOVERNANCE)?;
    let nonce = state.get_u64(NEXT_ACTION_NONCE)?.unwrap_or(0);
    state.put_u64(NEXT_ACTION_NONCE.to_vec(), nonce + 1);
    Ok(store_request(
        state,
        ctx,
        NewRequest {
            request_type,
            target: target(GOVERNANCE, governance, FN_EXECUTE_SIGNED),
            sequence: nonce,
            payload: governance_payload(&action_target, data, nonce),
            digest: governance_digest(chain_id, governance, &action_target, data, nonce),
            body,
            requested_by: requested_by.into(),
        },
    )?)
}

/// A GOVERNANCE_ACTION request: Governance.executeSigned calls `data` on `action_target`. The
/// action nonce is x/mpc's counter (Governance.actionNonce starts at 0). `proposal` is the passed
/// proposal that asked for it (signers check the action against it), `None` for the admin.
pub fn create_governance_action<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    action_target: [u8; 20],
    data: &[u8],
    requested_by: &str,
    proposal: Option<u64>,
) -> Result<(SigningRequest, Event), TxError> {
    create_action(
        state,
        ctx,
        RequestType::GovernanceAction,
        action_target,
        data,
        proposal.map(Body::GovernanceProposalId),
        requested_by,
    )
}

/// Re-issues a request on an L1 counter (SLASHING, GOVERNANCE_ACTION, REWARD_DISTRIBUTION,
/// ROTATE_GROUP_KEY) that just became FAILED: a new PENDING request with the same sequence,
/// target, payload, body and digest, and the `request_by_sequence` index moved to it so the L1
/// receipt lands the retry. Each of those L1 functions accepts only sequence == its counter
/// (actionNonce, rewardSequence, keyNonce), so a sequence that is never signed would make every
/// later request of that counter revert; it is re-issued until one request for it is signed.
/// Returns the new request and its `mpc_request_created` and `mpc_request_retried` events;
/// `None` for the other types (a failed batch is resubmitted by its submitter; a failed key test
/// fails its pending key and the next key session makes a new one).
pub fn retry_action<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    failed: &SigningRequest,
) -> Result<Option<(SigningRequest, Vec<Event>)>, StoreError> {
    let request_type = failed.request_type();
    if !matches!(
        request_type,
        RequestType::Slashing
            | RequestType::GovernanceAction
            | RequestType::RewardDistribution
            | RequestType::RotateGroupKey
    ) {
        return Ok(None);
    }
    // Always 32 bytes (store_request wrote it); anything else is not an action we made.
    let Ok(digest) = <[u8; 32]>::try_from(failed.digest.as_slice()) else {
        return Ok(None);
    };
    let (retry, created) = store_request(
        state,
        ctx,
        NewRequest {
            request_type,
            target: failed.target.clone(),
            sequence: failed.sequence,
            payload: failed.payload.clone(),
            digest,
            body: failed.body.clone(),
            requested_by: failed.requested_by.clone(),
        },
    )?;
    let retried = Event::new("mpc_request_retried")
        .attr("request_id", failed.request_id.to_string())
        .attr("retry_request_id", retry.request_id.to_string())
        .attr("type", request_type.as_str_name())
        .attr("sequence", failed.sequence.to_string());
    Ok(Some((retry, vec![created, retried])))
}

/// A SLASHING request for an x/staking slashing decision: a governance action calling
/// LockingPool.slash(sequencerId, amount).
pub fn create_slashing<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    request: &seqpool_proto::staking::v1::SlashingRequest,
) -> Result<(SigningRequest, Event), TxError> {
    let params = state.mpc_params()?;
    let (_, pool) = l1_target(params.l1.as_ref(), LOCKING_POOL)?;
    let amount: u128 = request.amount.parse().map_err(|_| {
        TxError::invalid_message(format!(
            "slashing request {} has amount {:?}, not a decimal u128",
            request.id, request.amount
        ))
    })?;
    create_action(
        state,
        ctx,
        RequestType::Slashing,
        pool,
        &slash_calldata(request.sequencer_id, amount),
        Some(Body::SlashingValidator(request.validator.clone())),
        "staking",
    )
}

/// A ROTATE_GROUP_KEY request moving L1 to `new_key` (GroupKeyRegistry.keyNonce from x/mpc's
/// counter, starting at 0).
pub fn create_rotate_group_key<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    new_key: &GroupKey,
    requested_by: &str,
) -> Result<(SigningRequest, Event), TxError> {
    let params = state.mpc_params()?;
    let (chain_id, registry) = l1_target(params.l1.as_ref(), GROUP_KEY_REGISTRY)?;
    let nonce = state.get_u64(NEXT_KEY_NONCE)?.unwrap_or(0);
    state.put_u64(NEXT_KEY_NONCE.to_vec(), nonce + 1);
    Ok(store_request(
        state,
        ctx,
        NewRequest {
            request_type: RequestType::RotateGroupKey,
            target: target(GROUP_KEY_REGISTRY, registry, FN_ROTATE_KEY),
            sequence: nonce,
            payload: rotation_payload(&new_key.px, &new_key.py),
            digest: rotation_digest(chain_id, registry, nonce, &new_key.px, &new_key.py),
            body: None,
            requested_by: requested_by.into(),
        },
    )?)
}

/// Turns what other modules queued for L1 into requests: x/producer reward settlements and
/// x/staking slashing requests. Only once the L1 contracts are configured; each source is
/// consumed once (a settlement is removed, slashing requests are tracked by id).
pub fn collect_module_requests<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
) -> Result<Vec<Event>, StoreError> {
    use seqpool_producer::ProducerRead;
    if state.mpc_params()?.l1.is_none() {
        return Ok(Vec::new());
    }
    let mut events = Vec::new();
    for settlement in state.pending_settlements()? {
        match create_reward_distribution(state, ctx, &settlement) {
            Ok((_, e)) => events.push(e),
            // An incomplete L1 config: keep the settlement queued until it is fixed.
            Err(_) => break,
        }
        seqpool_producer::remove_settlement(state, settlement.epoch);
    }
    // x/staking numbers its slashing requests 1, 2, ...: read only the new ones.
    let seen = state.get_u64(SLASHING_SEEN)?.unwrap_or(0);
    let mut last = seen;
    while let Some(request) = state.get_proto::<seqpool_proto::staking::v1::SlashingRequest>(
        &seqpool_staking::state_key::slashing_request(last + 1),
    )? {
        match create_slashing(state, ctx, &request) {
            Ok((_, e)) => events.push(e),
            Err(e) => events.push(
                Event::new("mpc_request_skipped")
                    .attr("slashing_id", request.id.to_string())
                    .attr("reason", e.message),
            ),
        }
        last += 1;
    }
    if last != seen {
        state.put_u64(SLASHING_SEEN.to_vec(), last);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use seqpool_producer::ProducerRead;
    use seqpool_proto::producer::v1::{RewardSettlement, SequencerBlocks};
    use seqpool_staking::{StakingRead, StakingWrite, Validator};
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

    /// Settlements and slashing requests become requests once L1 is configured, each once.
    #[test]
    fn module_requests_are_collected_once_l1_is_set() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        let mut state = StateDelta::new(storage.latest_snapshot());
        for (addr, seq) in [("AA", 7u64), ("BB", 0)] {
            state.put_validator(&Validator {
                consensus_address: addr.into(),
                sequencer_id: seq,
                power: 1,
                consensus_pub_key: vec![2; 33],
                stake: "1000".into(),
                ..Default::default()
            });
        }
        state.put_proto(
            [b"producer/settlement/".as_slice(), &4u64.to_be_bytes()].concat(),
            &RewardSettlement {
                epoch: 4,
                sequencers: vec![
                    SequencerBlocks {
                        validator: "AA".into(),
                        blocks: 12,
                        ..Default::default()
                    },
                    // No L1 lock yet (sequencer id 0): left out.
                    SequencerBlocks {
                        validator: "BB".into(),
                        blocks: 3,
                        ..Default::default()
                    },
                ],
                queued_at_height: 1,
            },
        );
        let v = state.validator("AA").unwrap().unwrap();
        seqpool_staking::jail::request_slashing(&mut state, &v, "double_sign", 1, 1, 500).unwrap();
        // No L1 params: nothing happens, the sources stay queued.
        assert!(collect_module_requests(&mut state, &ctx(2))
            .unwrap()
            .is_empty());
        assert_eq!(state.pending_settlements().unwrap().len(), 1);

        set_l1(&mut state);
        let events = collect_module_requests(&mut state, &ctx(3)).unwrap();
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(state.pending_settlements().unwrap().is_empty());
        let reward = state.signing_request(1).unwrap().unwrap();
        assert_eq!(reward.request_type(), RequestType::RewardDistribution);
        let dist = RewardDistribution {
            sequence: 0,
            start_epoch: 4,
            end_epoch: 4,
            sequencer_ids: vec![7],
            blocks_produced: vec![12],
        };
        assert_eq!(reward.payload, reward_payload(&dist));
        assert_eq!(reward.digest, reward_digest(5, [2; 20], &dist).to_vec());
        let slash = state.signing_request(2).unwrap().unwrap();
        assert_eq!(slash.request_type(), RequestType::Slashing);
        assert_eq!(slash.sequence, 0, "the first governance action nonce");
        // 5% of 1000.
        let data = slash_calldata(7, 50);
        assert_eq!(
            slash.digest,
            governance_digest(5, [4; 20], &[2; 20], &data, 0).to_vec()
        );
        // Exactly once.
        assert!(collect_module_requests(&mut state, &ctx(4))
            .unwrap()
            .is_empty());
        assert!(state.signing_request(3).unwrap().is_none());
    }

    #[test]
    fn governance_call_reads_target_and_selector_back() {
        let data = slash_calldata(7, 50);
        let p = governance_payload(&[9; 20], &data, 3);
        let selector: [u8; 4] = data[..4].try_into().unwrap();
        assert_eq!(governance_call(&p), Some(([9; 20], selector)));
        assert_eq!(
            governance_call(&governance_payload(&[9; 20], &[1, 2], 3)),
            None
        );
        assert_eq!(governance_call(&p[..32 * 5]), None);
    }

    #[test]
    fn governance_payload_pads_data() {
        let p = governance_payload(&[1; 20], &[0xaa; 33], 7);
        assert_eq!(p.len(), 32 * 5 + 64);
        assert_eq!(&p[32 * 5..32 * 5 + 33], &[0xaa; 33]);
        assert!(p[32 * 5 + 33..].iter().all(|b| *b == 0));
    }

    #[test]
    fn reward_payload_offsets() {
        let d = RewardDistribution {
            sequence: 1,
            start_epoch: 2,
            end_epoch: 2,
            sequencer_ids: vec![3, 4],
            blocks_produced: vec![5, 6],
        };
        let p = reward_payload(&d);
        assert_eq!(p.len(), 32 * (1 + 5 + 3 + 3));
        assert_eq!(p[32 * 5 - 1], 160);
        // 160 + 96 = 256 = 0x0100.
        assert_eq!(&p[32 * 6 - 2..32 * 6], &[1, 0]);
    }
}
