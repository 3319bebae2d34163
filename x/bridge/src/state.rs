use seqpool_component::{StateRead, StateReadProto, StateWrite, StateWriteProto, StoreError};

use crate::{params::default_params, state_key, AppliedEvent, AttestedRandomness, Params};

pub trait BridgeRead: StateRead {
    fn bridge_params(&self) -> Result<Params, StoreError> {
        Ok(self
            .get_proto(state_key::params())?
            .unwrap_or_else(default_params))
    }

    /// The nonce of the next L1 event to apply (1 on a fresh chain).
    fn next_nonce(&self) -> Result<u64, StoreError> {
        Ok(self.get_u64(state_key::next_nonce())?.unwrap_or(1))
    }

    fn applied_event(&self, nonce: u64) -> Result<Option<AppliedEvent>, StoreError> {
        self.get_proto(&state_key::applied(nonce))
    }

    /// Nonce of the applied event with this id, if any.
    fn applied_id(&self, tx_hash: &[u8], log_index: u64) -> Result<Option<u64>, StoreError> {
        self.get_u64(&state_key::applied_id(tx_hash, log_index))
    }

    /// The latest L1 randomness attested by more than 2/3 of the power (`None` before the first).
    fn attested_randomness(&self) -> Result<Option<AttestedRandomness>, StoreError> {
        self.get_proto(state_key::randomness())
    }
}
impl<T: StateRead + ?Sized> BridgeRead for T {}

pub trait BridgeWrite: StateWrite {
    fn put_attested_randomness(&mut self, r: &AttestedRandomness) {
        self.put_proto(state_key::randomness().to_vec(), r);
    }
    fn put_bridge_params(&mut self, p: &Params) {
        self.put_proto(state_key::params().to_vec(), p);
    }
    fn put_next_nonce(&mut self, nonce: u64) {
        self.put_u64(state_key::next_nonce().to_vec(), nonce);
    }
    fn put_applied_event(&mut self, applied: &AppliedEvent) {
        if let Some(e) = &applied.event {
            self.put_proto(state_key::applied(e.nonce), applied);
            self.put_u64(state_key::applied_id(&e.tx_hash, e.log_index), e.nonce);
        }
    }
}
impl<T: StateWrite + ?Sized> BridgeWrite for T {}
