//! Where x/producer keeps its state.
pub const PARAMS: &[u8] = b"producer/params";
/// The open L1 randomness commitments of the next draws (one key: at most two entries).
pub const RANDOMNESS_COMMITMENTS: &[u8] = b"producer/randomness_commitments";
pub fn schedule(epoch: u64) -> Vec<u8> {
    [b"producer/schedule/".as_slice(), &epoch.to_be_bytes()].concat()
}
pub fn blocks_prefix(epoch: u64) -> Vec<u8> {
    [b"producer/blocks/".as_slice(), &epoch.to_be_bytes(), b"/"].concat()
}
pub fn blocks(epoch: u64, validator: &str) -> Vec<u8> {
    [blocks_prefix(epoch), validator.as_bytes().to_vec()].concat()
}
pub const UNSCHEDULED_PREFIX: &[u8] = b"producer/unscheduled/";
pub fn unscheduled(l2_height: u64) -> Vec<u8> {
    [UNSCHEDULED_PREFIX, &l2_height.to_be_bytes()].concat()
}
pub fn faults(validator: &str) -> Vec<u8> {
    [b"producer/faults/".as_slice(), validator.as_bytes()].concat()
}
pub const SETTLEMENT_PREFIX: &[u8] = b"producer/settlement/";
pub fn settlement(epoch: u64) -> Vec<u8> {
    [SETTLEMENT_PREFIX, &epoch.to_be_bytes()].concat()
}
