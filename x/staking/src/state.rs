use seqpool_component::{StateRead, StateReadProto, StateWrite, StateWriteProto, StoreError};

use crate::{params::default_params, state_key, Liveness, Params, Validator, ValidatorSet};

pub trait StakingRead: StateRead {
    fn staking_params(&self) -> Result<Params, StoreError> {
        Ok(self
            .get_proto(state_key::params())?
            .unwrap_or_else(default_params))
    }

    fn validators(&self) -> Result<Vec<Validator>, StoreError> {
        Ok(self
            .prefix_proto::<Validator>(state_key::validators_prefix())?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    fn validator(&self, consensus_address: &str) -> Result<Option<Validator>, StoreError> {
        self.get_proto(&state_key::validator(consensus_address))
    }

    /// The CometBFT validator set that signs block `height`, in CometBFT order
    /// (power descending, then address ascending).
    fn consensus_set_at(&self, height: u64) -> Result<Vec<Validator>, StoreError> {
        let mut found = None;
        for (key, set) in self.prefix_proto::<ValidatorSet>(state_key::consensus_sets_prefix())? {
            let from = key
                .get(state_key::consensus_sets_prefix().len()..)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| StoreError::Corrupt {
                    key: hex::encode(&key),
                    reason: "bad height suffix".into(),
                })?;
            if from <= height {
                found = Some(set);
            } else {
                break;
            }
        }
        Ok(found.map(|s| s.validators).unwrap_or_default())
    }

    fn liveness(&self, consensus_address: &str) -> Result<Liveness, StoreError> {
        Ok(self
            .get_proto(&state_key::liveness(consensus_address))?
            .unwrap_or_else(|| Liveness {
                consensus_address: consensus_address.to_string(),
                ..Default::default()
            }))
    }

    fn all_liveness(&self) -> Result<Vec<Liveness>, StoreError> {
        Ok(self
            .prefix_proto::<Liveness>(state_key::liveness_prefix())?
            .into_iter()
            .map(|(_, l)| l)
            .collect())
    }
}
impl<T: StateRead + ?Sized> StakingRead for T {}

pub trait StakingWrite: StateWrite {
    fn put_staking_params(&mut self, params: &Params) {
        self.put_proto(state_key::params().to_vec(), params);
    }
    fn put_validator(&mut self, v: &Validator) {
        self.put_proto(state_key::validator(&v.consensus_address), v);
    }
    fn put_consensus_set(&mut self, from_height: u64, validators: Vec<Validator>) {
        self.put_proto(
            state_key::consensus_set(from_height),
            &ValidatorSet {
                validators: sort_cometbft(validators),
            },
        );
    }
    fn put_liveness(&mut self, l: &Liveness) {
        self.put_proto(state_key::liveness(&l.consensus_address), l);
    }
}
impl<T: StateWrite + ?Sized> StakingWrite for T {}

/// CometBFT orders a validator set by voting power (descending), then address (ascending).
pub fn sort_cometbft(mut validators: Vec<Validator>) -> Vec<Validator> {
    validators.sort_by(|a, b| {
        b.power
            .cmp(&a.power)
            .then_with(|| a.consensus_address.cmp(&b.consensus_address))
    });
    validators
}
