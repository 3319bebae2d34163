//! x/epochs: epochs over L2 block heights.
//!
//! The chain learns the L2 head from validators' vote extensions (x/producer tallies them); each
//! agreed L2 block is passed to [`advance_head`], which fires the [`EpochHooks`] whenever the head
//! enters a new epoch. Epoch `e` covers L2 heights `[e * len + 1, (e + 1) * len]`; the L2 genesis
//! block (0) belongs to epoch 0.

pub mod query;

use seqpool_component::{
    BlockContext, StateRead, StateReadProto, StateWrite, StateWriteProto, StoreError, TxError,
};
pub use seqpool_proto::epochs::v1::{Epoch, GenesisState, L2Block, L2Head, LengthChange, Params};

pub const MODULE: &str = "epochs";

mod state_key {
    pub const PARAMS: &[u8] = b"epochs/params";
    pub const HEAD: &[u8] = b"epochs/l2_head";
}

pub fn default_params() -> Params {
    Params {
        epoch_length: 20,
        length_changes: Vec::new(),
    }
}

pub fn validate_params(p: &Params) -> Result<(), TxError> {
    if p.epoch_length == 0 || p.epoch_length > 1_000_000 {
        return Err(TxError::invalid_message(format!(
            "epochs.epoch_length must be within [1, 1000000], got {}",
            p.epoch_length
        )));
    }
    Ok(())
}

pub fn init_genesis<S: StateWrite>(state: &mut S, genesis: &GenesisState) -> Result<(), TxError> {
    let mut p = genesis.params.clone().unwrap_or_else(default_params);
    validate_params(&p)?;
    // Length changes are the chain's record, never given.
    p.length_changes.clear();
    state.put_proto(state_key::PARAMS.to_vec(), &p);
    Ok(())
}

/// The length segment that `pick` selects among the recorded changes (the genesis length alone
/// when there were none): (first epoch, its first L2 height, length).
fn segment(params: &Params, pick: impl Fn(&LengthChange) -> bool) -> (u64, u64, u64) {
    params
        .length_changes
        .iter()
        .rev()
        .find(|c| pick(c))
        .map(|c| (c.from_epoch, c.first_l2_height, c.length.max(1)))
        .unwrap_or((0, 1, params.epoch_length.max(1)))
}

/// The epoch an L2 height belongs to (the L2 genesis block, 0, is in epoch 0).
pub fn epoch_of(params: &Params, l2_height: u64) -> u64 {
    let h = l2_height.max(1);
    let (from, first, len) = segment(params, |c| c.first_l2_height <= h);
    from.saturating_add((h - first.min(h)) / len)
}

/// Epoch `number` with its L2 height range.
pub fn epoch(params: &Params, number: u64) -> Epoch {
    let (from, first, len) = segment(params, |c| c.from_epoch <= number);
    let first_l2_height = first.saturating_add(number.saturating_sub(from).saturating_mul(len));
    Epoch {
        number,
        first_l2_height,
        last_l2_height: first_l2_height.saturating_add(len - 1),
    }
}

/// MsgUpdateParams for x/epochs: a new length applies from the epoch after the next one (the
/// current epoch's and the next one's heights and schedules are already fixed), so no L2 height
/// ever changes epoch. A change still pending is replaced.
pub fn update_params<S: StateWrite>(state: &mut S, new: &Params) -> Result<Params, TxError> {
    validate_params(new)?;
    let old = state.epoch_params()?;
    let from_epoch = state.current_epoch()?.number.saturating_add(2);
    let first_l2_height = epoch(&old, from_epoch).first_l2_height;
    let mut changes = if old.length_changes.is_empty() {
        vec![LengthChange {
            from_epoch: 0,
            first_l2_height: 1,
            length: old.epoch_length.max(1),
        }]
    } else {
        old.length_changes.clone()
    };
    changes.retain(|c| c.from_epoch < from_epoch);
    if changes.last().map(|c| c.length) != Some(new.epoch_length) {
        changes.push(LengthChange {
            from_epoch,
            first_l2_height,
            length: new.epoch_length,
        });
    }
    let p = Params {
        epoch_length: new.epoch_length,
        length_changes: changes,
    };
    state.put_proto(state_key::PARAMS.to_vec(), &p);
    Ok(p)
}

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

/// What other modules do at epoch boundaries. The app implements it once, calling each module.
pub trait EpochHooks<S: StateWrite> {
    /// The last block of `ended` was just agreed: `started`'s producer makes the next L2 block.
    fn epoch_boundary(
        &mut self,
        state: &mut S,
        ctx: &BlockContext,
        ended: &Epoch,
        started: &Epoch,
    ) -> Result<(), StoreError>;
}

/// Makes `block` the agreed L2 head (it must be the next height) and fires `hooks` for every epoch
/// boundary between the old head and it.
pub fn advance_head<S: StateWrite, H: EpochHooks<S>>(
    state: &mut S,
    ctx: &BlockContext,
    block: L2Block,
    hooks: &mut H,
) -> Result<(), StoreError> {
    let p = state.epoch_params()?;
    let old = state.l2_head_number()?;
    // An epoch starts when the block before its first height is agreed: its producer is up next.
    let (from, to) = (
        epoch_of(&p, old.saturating_add(1)),
        epoch_of(&p, block.number.saturating_add(1)),
    );
    state.put_proto(
        state_key::HEAD.to_vec(),
        &L2Head {
            block: Some(block),
            agreed_at_height: ctx.height,
            agreed_at_time_ms: (ctx.time_unix_nanos / 1_000_000) as i64,
        },
    );
    for e in from..to {
        hooks.epoch_boundary(state, ctx, &epoch(&p, e), &epoch(&p, e + 1))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqpool_store::{StateDelta, Storage};

    struct Recorder(Vec<(u64, u64)>);
    impl<S: StateWrite> EpochHooks<S> for Recorder {
        fn epoch_boundary(
            &mut self,
            _: &mut S,
            _: &BlockContext,
            ended: &Epoch,
            started: &Epoch,
        ) -> Result<(), StoreError> {
            self.0.push((ended.number, started.number));
            Ok(())
        }
    }

    fn block(n: u64) -> L2Block {
        L2Block {
            number: n,
            hash: vec![n as u8; 32],
            coinbase: vec![1; 20],
        }
    }

    #[test]
    fn epoch_ranges() {
        let p = Params {
            epoch_length: 10,
            ..Default::default()
        };
        assert_eq!(epoch_of(&p, 0), 0);
        assert_eq!(epoch_of(&p, 1), 0);
        assert_eq!(epoch_of(&p, 10), 0);
        assert_eq!(epoch_of(&p, 11), 1);
        let e = epoch(&p, 2);
        assert_eq!((e.first_l2_height, e.last_l2_height), (21, 30));
        assert!(validate_params(&Params::default()).is_err());
    }

    #[test]
    fn a_length_change_applies_from_the_epoch_after_next() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let mut state = StateDelta::new(storage.latest_snapshot());
        let len = |n| Params {
            epoch_length: n,
            ..Default::default()
        };
        init_genesis(
            &mut state,
            &GenesisState {
                params: Some(len(10)),
            },
        )
        .expect("genesis");
        let ctx = BlockContext {
            chain_id: "t".into(),
            height: 3,
            time_unix_nanos: 0,
        };
        let mut rec = Recorder(Vec::new());
        for n in 1..=12 {
            advance_head(&mut state, &ctx, block(n), &mut rec).expect("advance");
        }
        // In epoch 1 (11..=20): epoch 2 (21..=30) is fixed; length 4 starts with epoch 3 at 31.
        assert!(update_params(&mut state, &len(0)).is_err());
        let p = update_params(&mut state, &len(4)).expect("update");
        assert_eq!(epoch_of(&p, 20), 1);
        assert_eq!(epoch_of(&p, 30), 2);
        assert_eq!(epoch_of(&p, 31), 3);
        assert_eq!(epoch_of(&p, 34), 3);
        assert_eq!(epoch_of(&p, 35), 4);
        let e = epoch(&p, 4);
        assert_eq!((e.first_l2_height, e.last_l2_height), (35, 38));
        let e = epoch(&p, 2);
        assert_eq!((e.first_l2_height, e.last_l2_height), (21, 30));
        // A second change before it applies replaces it; past heights keep their epochs.
        let p = update_params(&mut state, &len(6)).expect("update");
        assert_eq!(p.length_changes.len(), 2);
        assert_eq!(epoch(&p, 4).first_l2_height, 37);
        assert_eq!(epoch_of(&p, 5), 0);
        // Back to the length in force: the pending change is dropped.
        let p = update_params(&mut state, &len(10)).expect("update");
        assert_eq!(p.length_changes.len(), 1);
        assert_eq!(epoch(&p, 4).first_l2_height, 41);
        // Hooks keep firing at the new boundaries.
        update_params(&mut state, &len(4)).expect("update");
        rec.0.clear();
        // 34 ends epoch 3 (31..=34), 38 ends epoch 4.
        advance_head(&mut state, &ctx, block(34), &mut rec).expect("advance");
        assert_eq!(rec.0, vec![(1, 2), (2, 3), (3, 4)]);
        advance_head(&mut state, &ctx, block(37), &mut rec).expect("advance");
        assert_eq!(rec.0.len(), 3);
        advance_head(&mut state, &ctx, block(38), &mut rec).expect("advance");
        assert_eq!(rec.0.last(), Some(&(4, 5)));
    }

    #[test]
    fn hooks_fire_once_per_boundary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let mut state = StateDelta::new(storage.latest_snapshot());
        init_genesis(
            &mut state,
            &GenesisState {
                params: Some(Params {
                    epoch_length: 5,
                    ..Default::default()
                }),
            },
        )
        .expect("genesis");
        let ctx = BlockContext {
            chain_id: "t".into(),
            height: 3,
            time_unix_nanos: 7_000_000,
        };
        let mut rec = Recorder(Vec::new());
        assert_eq!(state.current_epoch().expect("epoch").number, 0);
        for n in 1..=4 {
            advance_head(&mut state, &ctx, block(n), &mut rec).expect("advance");
        }
        assert!(rec.0.is_empty(), "{:?}", rec.0);
        assert_eq!(state.current_epoch().expect("epoch").number, 0);
        // Height 5 is epoch 0's last: the next block to make is epoch 1's.
        advance_head(&mut state, &ctx, block(5), &mut rec).expect("advance");
        assert_eq!(rec.0, vec![(0, 1)]);
        assert_eq!(state.current_epoch().expect("epoch").number, 1);
        advance_head(&mut state, &ctx, block(6), &mut rec).expect("advance");
        assert_eq!(rec.0, vec![(0, 1)]);
        // A jump over two boundaries fires both, in order.
        advance_head(&mut state, &ctx, block(15), &mut rec).expect("advance");
        assert_eq!(rec.0, vec![(0, 1), (1, 2), (2, 3)]);
        let head = state.l2_head().expect("head").expect("some");
        assert_eq!((head.agreed_at_height, head.agreed_at_time_ms), (3, 7));
    }
}
