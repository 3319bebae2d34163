use seqpool_component::{StateRead, StateReadProto, StateWrite, StateWriteProto, StoreError};

use crate::{params::default_params, state_key, Account, Params};

pub trait AuthRead: StateRead {
    fn account(&self, address: &str) -> Result<Option<Account>, StoreError> {
        self.get_proto(&state_key::account(address))
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        Ok(self
            .prefix_proto::<Account>(state_key::accounts_prefix())?
            .into_iter()
            .map(|(_, a)| a)
            .collect())
    }

    fn auth_params(&self) -> Result<Params, StoreError> {
        Ok(self
            .get_proto(state_key::params())?
            .unwrap_or_else(default_params))
    }
}

impl<T: StateRead + ?Sized> AuthRead for T {}

pub trait AuthWrite: StateWrite {
    fn put_account(&mut self, account: &Account) {
        self.put_proto(state_key::account(&account.address), account);
    }

    /// Registers `address` if it is not registered yet; returns the account either way.
    fn ensure_account(&mut self, address: &str) -> Result<Account, StoreError> {
        if let Some(existing) = self.account(address)? {
            return Ok(existing);
        }
        let number = self.get_u64(state_key::next_account_number())?.unwrap_or(0);
        self.put_u64(state_key::next_account_number().to_vec(), number + 1);
        let account = Account {
            address: address.to_string(),
            pub_key: Vec::new(),
            account_number: number,
            sequence: 0,
        };
        self.put_account(&account);
        Ok(account)
    }

    fn put_auth_params(&mut self, params: &Params) {
        self.put_proto(state_key::params().to_vec(), params);
    }
}

impl<T: StateWrite + ?Sized> AuthWrite for T {}
