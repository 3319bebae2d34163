pub fn params() -> &'static [u8] {
    b"bridge/params"
}

pub fn next_nonce() -> &'static [u8] {
    b"bridge/next_nonce"
}

pub fn applied_prefix() -> &'static [u8] {
    b"bridge/applied/"
}

/// Applied events by nonce (big-endian so prefix order is nonce order).
pub fn applied(nonce: u64) -> Vec<u8> {
    [applied_prefix(), &nonce.to_be_bytes()[..]].concat()
}

/// Nonce of an applied event by its id (L1 tx hash + log index), to refuse an id seen twice.
pub fn applied_id(tx_hash: &[u8], log_index: u64) -> Vec<u8> {
    [
        b"bridge/id/".as_slice(),
        tx_hash,
        &log_index.to_be_bytes()[..],
    ]
    .concat()
}

/// The latest attested L1 randomness.
pub fn randomness() -> &'static [u8] {
    b"bridge/l1_randomness"
}
