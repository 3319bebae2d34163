//! x/epochs: epochs over L2 block heights.
//!
//! The chain learns the L2 head from validators' vote extensions (x/producer tallies them); each
//! agreed L2 block is passed to [`advance_head`], which fires the [`EpochHooks`] whenever the head
//! enters a new epoch. Epoch `e` covers L2 heights `[e * len + 1, (e + 1) * len]`; the L2 genesis
//! block (0) belongs to epoch 0.

pub mod genesis;
pub mod handlers;
pub mod params;
pub mod query;
pub mod schedule;
pub mod state;
pub mod state_key;

pub use genesis::init_genesis;
pub use handlers::{advance_head, update_params, EpochHooks};
pub use params::{default_params, validate_params};
pub use schedule::{epoch, epoch_of};
pub use seqpool_proto::epochs::v1::{Epoch, GenesisState, L2Block, L2Head, LengthChange, Params};
pub use state::EpochRead;

pub const MODULE: &str = "epochs";

#[cfg(test)]
mod tests {
    use super::*;
    use seqpool_component::{BlockContext, StateWrite, StoreError};
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
