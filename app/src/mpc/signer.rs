//! This node's signing duties: nonce commitment top-ups, re-deriving each request's payload from
//! its own L1/L2 view, and signature shares for the attempts that chose it.

#[derive(Default)]
pub struct SignerDuties {}

impl SignerDuties {
    pub fn extend<S: seqpool_component::StateRead>(
        &mut self,
        _vote: &mut seqpool_proto::mpc::v1::MpcVote,
        _state: &S,
        _height: u64,
        _chain_id: &str,
        _identity: &seqpool_tss::MemberSecret,
        _keystore: &mut seqpool_tss::keystore::Keystore,
    ) {
    }
}
