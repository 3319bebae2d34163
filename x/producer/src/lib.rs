//! x/producer: who produces the L2 blocks of each epoch.
//!
//! - Selection: stake-weighted, one epoch ahead, from L1 randomness attested only after the draw
//!   before it was fixed, with a backup order for re-elections ([`selection`]).
//! - The L2 view: each validator's vote extension carries a [`ProducerVote`] (the L2 blocks it saw
//!   above the agreed head, and a stall report); [`vote::tally`] agrees on blocks and stalls that
//!   more than 2/3 of the voting power report identically, so no single validator moves either.
//! - Re-election: an agreed stall moves the rest of the epoch to the next live validator of the
//!   schedule's backup order and records a fault; `max_faults` within `fault_window_epochs` jail the validator (x/staking flag)
//!   and clear its faults, so that it comes back from MsgUnjail with none.
//! - Records: blocks per sequencer per epoch, blocks by an unscheduled producer, and at each epoch
//!   end a [`RewardSettlement`] queued for signing.

pub mod genesis;
pub mod handlers;
pub mod params;
pub mod query;
pub mod selection;
pub mod state;
pub mod state_key;
pub mod vote;

pub use genesis::init_genesis;
pub use handlers::{
    apply_stall, capture_randomness, on_epoch_boundary, record_block, remove_settlement,
    validators_by_signer,
};
pub use params::{default_params, put_params, validate_params};
pub use seqpool_proto::producer::v1::{
    Assignment, Fault, FaultRecord, GenesisState, Params, ProducerVote, RandomnessCommitment,
    RandomnessCommitments, RewardSettlement, Schedule, SequencerBlocks, StallReport,
    UnscheduledBlock,
};
pub use state::ProducerRead;

pub const MODULE: &str = "producer";

#[cfg(test)]
mod tests {
    use super::*;
    use seqpool_component::{BlockContext, StateWrite, StateWriteProto, StoreError};
    use seqpool_epochs::EpochHooks;
    use seqpool_epochs::{Epoch, L2Block};
    use seqpool_staking::StakingWrite;
    use seqpool_staking::{jail, StakingRead, Validator};
    use seqpool_store::{StateDelta, Storage};

    type TestState = StateDelta<seqpool_store::Snapshot>;

    struct NoHooks;
    impl<S: StateWrite> EpochHooks<S> for NoHooks {
        fn epoch_boundary(
            &mut self,
            _: &mut S,
            _: &BlockContext,
            _: &Epoch,
            _: &Epoch,
        ) -> Result<(), StoreError> {
            Ok(())
        }
    }

    fn ctx(height: u64, time_ms: i128) -> BlockContext {
        BlockContext {
            chain_id: "t".into(),
            height,
            time_unix_nanos: time_ms * 1_000_000,
        }
    }

    /// Agrees L2 blocks `from..=to` at block time `time_ms`.
    fn agree_blocks(state: &mut TestState, from: u64, to: u64, time_ms: i128) {
        for n in from..=to {
            let block = L2Block {
                number: n,
                hash: vec![0; 32],
                coinbase: vec![0; 20],
            };
            seqpool_epochs::advance_head(state, &ctx(3, time_ms), block, &mut NoHooks)
                .expect("head");
        }
    }

    /// Schedules all of `epoch` (L2 heights from `from`) to `producer`.
    fn schedule_to(state: &mut TestState, epoch: u64, from: u64, producer: &str) {
        let mut schedule = state.schedule(epoch).expect("read").unwrap_or(Schedule {
            epoch,
            ..Default::default()
        });
        schedule.assignments = vec![Assignment {
            from_l2_height: from,
            producer: producer.to_string(),
            replaces: String::new(),
            chain_height: 0,
        }];
        state.put_proto(state_key::schedule(epoch), &schedule);
    }

    /// Four validators of power 10, `0000..0000` to `0000..0003`.
    fn put_four_validators(state: &mut TestState) {
        for i in 0..4 {
            state.put_validator(&Validator {
                consensus_address: format!("{i:040X}"),
                operator: format!("operator{i}"),
                power: 10,
                ..Default::default()
            });
        }
    }

    /// Stalls the same producer in epoch 0 and again in epoch 1; returns whether it ended jailed
    /// and its fault count.
    fn two_stalls(fault_window_epochs: u64) -> (bool, usize) {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let (state, stalled) = two_stalls_state(&storage, fault_window_epochs);
        let v = state.validator(&stalled).expect("read").expect("x");
        (v.jailed, state.faults(&stalled).expect("read").faults.len())
    }

    /// The state after [`two_stalls`] (epoch 1 is over at L2 height 5, block time 20 s), and the
    /// stalled producer.
    fn two_stalls_state(storage: &Storage, fault_window_epochs: u64) -> (TestState, String) {
        let mut state = StateDelta::new(storage.latest_snapshot());
        seqpool_epochs::init_genesis(
            &mut state,
            &seqpool_epochs::GenesisState {
                params: Some(seqpool_epochs::Params {
                    epoch_length: 5,
                    ..Default::default()
                }),
            },
        )
        .expect("epochs");
        put_four_validators(&mut state);
        let params = Params {
            stall_timeout_ms: 1_000,
            max_faults: 2,
            fault_window_epochs,
            stall_jail_blocks: 5,
            slash_stall_bps: 100,
        };
        init_genesis(
            &mut state,
            &GenesisState {
                params: Some(params),
            },
            "t",
        )
        .expect("genesis");
        let (_, first) = state.assignment_at(1).expect("read").expect("scheduled");
        let stalled = first.producer;
        let report = |epoch, since| StallReport {
            epoch,
            producer: stalled.clone(),
            since_l2_height: since,
        };
        apply_stall(&mut state, &ctx(2, 0), &report(0, 0)).expect("stall");
        assert_ne!(
            state.assignment_at(1).expect("read").expect("x").1.producer,
            stalled
        );
        agree_blocks(&mut state, 1, 5, 10_000);
        // Epoch 1 scheduled to the same producer, which stalls again.
        schedule_to(&mut state, 1, 6, &stalled);
        // Before the timeout of block time, the report is not current yet.
        apply_stall(&mut state, &ctx(4, 10_500), &report(1, 5)).expect("stall");
        assert_eq!(state.faults(&stalled).expect("read").faults.len(), 1);
        // A stale report (wrong height) never counts.
        apply_stall(&mut state, &ctx(5, 20_000), &report(1, 4)).expect("stall");
        assert_eq!(state.faults(&stalled).expect("read").faults.len(), 1);
        apply_stall(&mut state, &ctx(6, 20_000), &report(1, 5)).expect("stall");
        let v = state.validator(&stalled).expect("read").expect("x");
        let requests = jail::slashing_requests(&state).expect("read");
        if v.jailed {
            assert_eq!(v.jailed_until_height, 6 + 5);
            assert_eq!(v.jail_reason, jail::REASON_PRODUCER_STALLS);
            assert_eq!(requests.len(), 1);
            assert_eq!(requests[0].validator, stalled);
            assert_eq!(requests[0].reason, jail::REASON_PRODUCER_STALLS);
            assert_eq!(requests[0].fraction_bps, 100);
        } else {
            assert!(requests.is_empty());
        }
        (state, stalled)
    }

    /// A stall timeout past i64 milliseconds (in state from before the bound, or set by a
    /// governance mistake) must not make a report current the moment the head moves: the cast
    /// wrapped it negative, so any report re-elected at once.
    #[test]
    fn a_huge_stall_timeout_never_makes_a_fresh_report_current() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let mut state = StateDelta::new(storage.latest_snapshot());
        put_four_validators(&mut state);
        init_genesis(&mut state, &GenesisState { params: None }, "t").expect("genesis");
        for timeout in [1u64 << 63, u64::MAX] {
            assert!(validate_params(&Params {
                stall_timeout_ms: timeout,
                ..default_params()
            })
            .is_err());
            // Written as a chain from before the bound would hold it.
            put_params(
                &mut state,
                &Params {
                    stall_timeout_ms: timeout,
                    ..default_params()
                },
            );
            agree_blocks(&mut state, 1, 1, 10_000);
            let (epoch, current) = state.assignment_at(2).expect("read").expect("scheduled");
            let events = apply_stall(
                &mut state,
                &ctx(4, 10_001),
                &StallReport {
                    epoch,
                    producer: current.producer.clone(),
                    since_l2_height: 1,
                },
            )
            .expect("stall");
            assert!(events.is_empty(), "timeout {timeout}: {events:?}");
            assert!(state
                .faults(&current.producer)
                .expect("read")
                .faults
                .is_empty());
        }
    }

    #[test]
    fn max_faults_within_the_window_jail() {
        // Jailed, and its faults are cleared with the jail.
        assert_eq!(two_stalls(10), (true, 0));
        // A window of one epoch forgets the epoch-0 fault.
        assert_eq!(two_stalls(1), (false, 1));
    }

    /// After MsgUnjail a producer starts with no faults: one new stall (of `max_faults` 2) within
    /// the window of the old ones does not jail it again.
    #[test]
    fn an_unjailed_producer_starts_without_faults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let (mut state, stalled) = two_stalls_state(&storage, 10);
        let v = state.validator(&stalled).expect("read").expect("x");
        assert!(v.jailed);
        let unjail = seqpool_staking::MsgUnjail {
            validator: stalled.clone(),
            operator: v.operator.clone(),
        };
        let msg_ctx = seqpool_component::MsgContext {
            block: ctx(v.jailed_until_height, 21_000),
            signer: v.operator.clone(),
            proposal: None,
        };
        jail::unjail(&mut state, &msg_ctx, &unjail).expect("unjail after the cool-down");

        // Epoch 2 (L2 heights 11..=15) is its again, and it stalls once.
        agree_blocks(&mut state, 6, 10, 22_000);
        schedule_to(&mut state, 2, 11, &stalled);
        let stall = StallReport {
            epoch: 2,
            producer: stalled.clone(),
            since_l2_height: 10,
        };
        let events = apply_stall(&mut state, &ctx(20, 30_000), &stall).expect("stall");
        assert!(events.iter().any(|e| e.kind == "producer_reelected"));
        let v = state.validator(&stalled).expect("read").expect("x");
        assert!(
            !v.jailed,
            "jailed again by its first stall after the unjail"
        );
        assert_eq!(state.faults(&stalled).expect("read").faults.len(), 1);
    }
}
