//! Reading x/epochs state: its params, the agreed L2 head and the epoch it is in.
use seqpool_component::{StateRead, StateReadProto, StoreError};

use crate::params::default_params;
use crate::schedule::{epoch, epoch_of};
use crate::{state_key, Epoch, L2Head, Params};

pub trait EpochRead: StateRead {
    fn epoch_params(&self) -> Result<Params, StoreError> {
        Ok(self
            .get_proto(state_key::PARAMS)?
            .unwrap_or_else(default_params))
    }

    fn l2_head(&self) -> Result<Option<L2Head>, StoreError> {
        self.get_proto(state_key::HEAD)
    }

    /// Number of the last agreed L2 block (0 = L2 genesis, before any agreement).
    fn l2_head_number(&self) -> Result<u64, StoreError> {
        Ok(self
            .l2_head()?
            .and_then(|h| h.block)
            .map(|b| b.number)
            .unwrap_or(0))
    }

    /// The epoch of the agreed L2 head: the one whose producer makes the next L2 blocks until the
    /// head crosses its last height.
    fn current_epoch(&self) -> Result<Epoch, StoreError> {
        let p = self.epoch_params()?;
        let head = self.l2_head_number()?;
        // The next block to make decides which epoch is running.
        Ok(epoch(&p, epoch_of(&p, head.saturating_add(1))))
    }
}
impl<T: StateRead + ?Sized> EpochRead for T {}
