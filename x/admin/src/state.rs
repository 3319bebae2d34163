use seqpool_component::{StateRead, StateReadProto, StateWrite, StateWriteProto, StoreError};

use crate::state_key;

pub trait AdminRead: StateRead {
    /// The current admin's bech32 address.
    fn admin(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .get_raw(state_key::admin())?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// The height at which the admin retired, if it did.
    fn admin_retired_at(&self) -> Result<Option<u64>, StoreError> {
        self.get_u64(state_key::retired_at())
    }
}
impl<T: StateRead + ?Sized> AdminRead for T {}

pub trait AdminWrite: StateWrite {
    fn set_admin(&mut self, address: &str) {
        self.put_raw(state_key::admin().to_vec(), address.as_bytes().to_vec());
    }

    /// Removes the admin for good: nothing sets it again once `retired_at` is written.
    fn retire_admin(&mut self, height: u64) {
        self.delete(state_key::admin().to_vec());
        self.put_u64(state_key::retired_at().to_vec(), height);
    }
}
impl<T: StateWrite + ?Sized> AdminWrite for T {}
