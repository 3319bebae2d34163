use seqpool_component::{StateRead, StateWrite, StoreError};

use crate::state_key;

pub trait AdminRead: StateRead {
    /// The current admin's bech32 address.
    fn admin(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .get_raw(state_key::admin())?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }
}
impl<T: StateRead + ?Sized> AdminRead for T {}

pub trait AdminWrite: StateWrite {
    fn set_admin(&mut self, address: &str) {
        self.put_raw(state_key::admin().to_vec(), address.as_bytes().to_vec());
    }
}
impl<T: StateWrite + ?Sized> AdminWrite for T {}
