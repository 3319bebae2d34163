//! Where x/epochs keeps its state.
pub const PARAMS: &[u8] = b"epochs/params";
pub const HEAD: &[u8] = b"epochs/l2_head";
