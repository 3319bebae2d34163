//! Reading x/producer state: params, schedules, blocks per sequencer, faults, unscheduled blocks
//! and queued settlements.
use seqpool_component::{StateRead, StateReadProto, StoreError};
use seqpool_epochs::EpochRead;

use crate::params::default_params;
use crate::{
    state_key, Assignment, FaultRecord, Params, RandomnessCommitments, RewardSettlement, Schedule,
    UnscheduledBlock,
};

pub trait ProducerRead: StateRead {
    fn producer_params(&self) -> Result<Params, StoreError> {
        Ok(self
            .get_proto(state_key::PARAMS)?
            .unwrap_or_else(default_params))
    }

    fn schedule(&self, epoch: u64) -> Result<Option<Schedule>, StoreError> {
        self.get_proto(&state_key::schedule(epoch))
    }

    /// The L1 randomness the next draws are committed to (see `handlers::capture_randomness`).
    fn randomness_commitments(&self) -> Result<RandomnessCommitments, StoreError> {
        Ok(self
            .get_proto(state_key::RANDOMNESS_COMMITMENTS)?
            .unwrap_or_default())
    }

    /// The assignment in force at `l2_height`: `None` if its epoch is not decided yet or nobody
    /// was eligible.
    fn assignment_at(&self, l2_height: u64) -> Result<Option<(u64, Assignment)>, StoreError> {
        let epoch = seqpool_epochs::epoch_of(&self.epoch_params()?, l2_height);
        Ok(self.schedule(epoch)?.and_then(|s| {
            s.assignments
                .into_iter()
                .rev()
                .find(|a| a.from_l2_height <= l2_height.max(1))
                .map(|a| (epoch, a))
        }))
    }

    fn blocks_in_epoch(&self, epoch: u64) -> Result<Vec<(String, u64)>, StoreError> {
        let prefix = state_key::blocks_prefix(epoch);
        self.prefix_raw(&prefix)?
            .into_iter()
            .map(|(k, v)| {
                let name = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
                let n = <[u8; 8]>::try_from(v.as_slice())
                    .map(u64::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt {
                        key: String::from_utf8_lossy(&k).into_owned(),
                        reason: "expected 8 bytes".into(),
                    })?;
                Ok((name, n))
            })
            .collect()
    }

    fn faults(&self, validator: &str) -> Result<FaultRecord, StoreError> {
        Ok(self
            .get_proto(&state_key::faults(validator))?
            .unwrap_or_else(|| FaultRecord {
                validator: validator.to_string(),
                faults: Vec::new(),
            }))
    }

    fn unscheduled_blocks(&self) -> Result<Vec<UnscheduledBlock>, StoreError> {
        Ok(self
            .prefix_proto(state_key::UNSCHEDULED_PREFIX)?
            .into_iter()
            .map(|(_, b)| b)
            .collect())
    }

    /// Settlements queued for signing, oldest epoch first.
    fn pending_settlements(&self) -> Result<Vec<RewardSettlement>, StoreError> {
        Ok(self
            .prefix_proto(state_key::SETTLEMENT_PREFIX)?
            .into_iter()
            .map(|(_, s)| s)
            .collect())
    }
}
impl<T: StateRead + ?Sized> ProducerRead for T {}
