pub fn params() -> &'static [u8] {
    b"staking/params"
}

pub fn validators_prefix() -> &'static [u8] {
    b"staking/validator/"
}

/// Keyed by the validator's CometBFT address (hex).
pub fn validator(consensus_address: &str) -> Vec<u8> {
    [validators_prefix(), consensus_address.as_bytes()].concat()
}

pub fn consensus_sets_prefix() -> &'static [u8] {
    b"staking/consensus_set/"
}

/// The validator set in force from `height` on (big-endian so prefix order is height order).
pub fn consensus_set(height: u64) -> Vec<u8> {
    [consensus_sets_prefix(), &height.to_be_bytes()[..]].concat()
}

pub fn liveness_prefix() -> &'static [u8] {
    b"staking/liveness/"
}

pub fn liveness(consensus_address: &str) -> Vec<u8> {
    [liveness_prefix(), consensus_address.as_bytes()].concat()
}

/// One bit per block of the liveness window (bit set = missed).
pub fn missed_bitmap(consensus_address: &str) -> Vec<u8> {
    [b"staking/missed/".as_slice(), consensus_address.as_bytes()].concat()
}

pub fn slashing_next_id() -> &'static [u8] {
    b"staking/slashing_next_id"
}

pub fn slashing_requests_prefix() -> &'static [u8] {
    b"staking/slashing/"
}

/// Slashing requests by id (big-endian so prefix order is decision order).
pub fn slashing_request(id: u64) -> Vec<u8> {
    [slashing_requests_prefix(), &id.to_be_bytes()[..]].concat()
}
