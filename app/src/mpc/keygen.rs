//! This node's DKG and reshare duties (round payloads, decryption of its shares, confirmation).

#[derive(Default)]
pub struct KeygenDuties {}

impl KeygenDuties {
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
