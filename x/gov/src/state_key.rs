//! State keys of x/gov. Ids and times are big-endian so that key order is numeric order.

pub fn params() -> &'static [u8] {
    b"gov/params"
}

pub fn next_proposal_id() -> &'static [u8] {
    b"gov/next_proposal_id"
}

pub fn proposals_prefix() -> &'static [u8] {
    b"gov/proposal/"
}

pub fn proposal(id: u64) -> Vec<u8> {
    [proposals_prefix(), &id.to_be_bytes()].concat()
}

/// Proposals open for votes, by voting end time (unix nanoseconds) then id.
pub fn voting_queue_prefix() -> &'static [u8] {
    b"gov/voting/"
}

pub fn voting_queue(end_unix_nanos: u64, id: u64) -> Vec<u8> {
    [
        voting_queue_prefix(),
        &end_unix_nanos.to_be_bytes(),
        &id.to_be_bytes(),
    ]
    .concat()
}

pub fn votes_prefix(id: u64) -> Vec<u8> {
    [b"gov/vote/".as_slice(), &id.to_be_bytes(), b"/"].concat()
}

pub fn vote(id: u64, voter: &str) -> Vec<u8> {
    [votes_prefix(id), voter.as_bytes().to_vec()].concat()
}
