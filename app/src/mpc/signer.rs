//! This node's signing duties: nonce commitment top-ups, re-deriving each request's payload from
//! its own L1/L2 view, and signature shares for the attempts that chose it.

#[derive(Default)]
pub struct SignerDuties {}
