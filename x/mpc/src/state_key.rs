//! x/mpc state keys. Numbers are big-endian so that prefix order is numeric order.

pub const PARAMS: &[u8] = b"mpc/params";

pub const MEMBERS_PREFIX: &[u8] = b"mpc/member/";
/// Keyed by the validator's CometBFT address (upper-case hex).
pub fn member(validator: &str) -> Vec<u8> {
    [MEMBERS_PREFIX, validator.as_bytes()].concat()
}

pub const KEYS_PREFIX: &[u8] = b"mpc/key/";
pub fn key(key_id: u64) -> Vec<u8> {
    [KEYS_PREFIX, &key_id.to_be_bytes()].concat()
}
/// key_id of the active key (absent before the first DKG completes).
pub const ACTIVE_KEY: &[u8] = b"mpc/active_key";

pub const NEXT_KEY_ID: &[u8] = b"mpc/next/key_id";
pub const NEXT_SESSION_ID: &[u8] = b"mpc/next/session_id";
pub const NEXT_REQUEST_ID: &[u8] = b"mpc/next/request_id";

pub const KEYGEN_SESSIONS_PREFIX: &[u8] = b"mpc/keygen/";
pub fn keygen_session(session_id: u64) -> Vec<u8> {
    [KEYGEN_SESSIONS_PREFIX, &session_id.to_be_bytes()].concat()
}
pub fn keygen_payloads_prefix(session_id: u64, round: u32) -> Vec<u8> {
    [
        b"mpc/keygen_payload/".as_slice(),
        &session_id.to_be_bytes(),
        &round.to_be_bytes(),
    ]
    .concat()
}
/// One payload per (session, round, sender identifier).
pub fn keygen_payload(session_id: u64, round: u32, sender: &[u8]) -> Vec<u8> {
    [keygen_payloads_prefix(session_id, round), sender.to_vec()].concat()
}

pub const REQUESTS_PREFIX: &[u8] = b"mpc/request/";
pub fn request(request_id: u64) -> Vec<u8> {
    [REQUESTS_PREFIX, &request_id.to_be_bytes()].concat()
}
pub fn attempts_prefix(request_id: u64) -> Vec<u8> {
    [b"mpc/attempt/".as_slice(), &request_id.to_be_bytes()].concat()
}
pub fn attempt(request_id: u64, attempt: u32) -> Vec<u8> {
    [attempts_prefix(request_id), attempt.to_be_bytes().to_vec()].concat()
}
/// Request ids by status (`<status u32><id>`, value 1), kept in step by
/// `MpcWrite::put_signing_request`: a block touches only the open (PENDING, SIGNING) requests and
/// `Query/Requests?status=` reads only the requests in that status, in id order.
pub const REQUESTS_BY_STATUS_PREFIX: &[u8] = b"mpc/requests_by_status/";
pub fn requests_by_status_prefix(status: i32) -> Vec<u8> {
    [REQUESTS_BY_STATUS_PREFIX, &(status as u32).to_be_bytes()].concat()
}
pub fn request_by_status(status: i32, request_id: u64) -> Vec<u8> {
    [
        requests_by_status_prefix(status),
        request_id.to_be_bytes().to_vec(),
    ]
    .concat()
}
/// The request of an L1 type with a replay sequence (reward sequence, key nonce, action nonce;
/// value: request id), so a receipt finds its request without a scan. Batches have [`batch`].
pub fn request_by_sequence(request_type: i32, sequence: u64) -> Vec<u8> {
    [
        b"mpc/request_by_sequence/".as_slice(),
        &(request_type as u32).to_be_bytes(),
        &sequence.to_be_bytes(),
    ]
    .concat()
}
/// Batch requests by batch index (the value is the request id).
pub const BATCHES_PREFIX: &[u8] = b"mpc/batch/";
pub fn batch(batch_index: u64) -> Vec<u8> {
    [BATCHES_PREFIX, &batch_index.to_be_bytes()].concat()
}
pub const NEXT_BATCH_INDEX: &[u8] = b"mpc/next/batch_index";
pub const NEXT_L2_BLOCK: &[u8] = b"mpc/next/l2_block";

/// Unused registered nonce commitments of one member for one key.
pub fn commitments_prefix(key_id: u64, identifier: &[u8]) -> Vec<u8> {
    [
        b"mpc/commitment/".as_slice(),
        &key_id.to_be_bytes(),
        identifier,
    ]
    .concat()
}
pub fn commitment(key_id: u64, identifier: &[u8], index: u64) -> Vec<u8> {
    [
        commitments_prefix(key_id, identifier),
        index.to_be_bytes().to_vec(),
    ]
    .concat()
}
/// Next commitment index per (key, member), so indexes never repeat.
pub fn next_commitment_index(key_id: u64, identifier: &[u8]) -> Vec<u8> {
    [
        b"mpc/next/commitment/".as_slice(),
        &key_id.to_be_bytes(),
        identifier,
    ]
    .concat()
}

/// session_id of the open DKG or reshare session (absent when none is open).
pub const OPEN_KEYGEN_SESSION: &[u8] = b"mpc/keygen_open";
/// key_id of the key waiting for its test signature (absent when none is).
pub const PENDING_KEY: &[u8] = b"mpc/pending_key";
/// Members left out of key lifecycle sessions after failing one: `<this>/<identifier>` =
/// (strikes, readmit height), see keygen::Exclusion.
pub const KEYGEN_EXCLUSIONS: &[u8] = b"mpc/keygen_exclusions";
/// The KEY_TEST request of a key (value: request id).
pub fn key_test(key_id: u64) -> Vec<u8> {
    [b"mpc/key_test/".as_slice(), &key_id.to_be_bytes()].concat()
}
