//! Whether this validator's node sees the chain as it is now, so that its answer to "who produces
//! the next L2 height" can be trusted. A node restarted while its seqpoold replays old blocks
//! answers from an old state: its sidecar would take itself for a producer that was since
//! re-elected away, and two producers would make blocks at once. So the adapter makes a block only
//! when every check here passes, and otherwise waits and says why.
use std::time::Duration;

use seqpool_client::{ChainClock, Rpc};

use crate::chain::ChainClient;

/// What the checks look at.
#[derive(Debug, Clone)]
pub struct SyncFacts {
    pub clock: ChainClock,
    /// seqpoold's committed state height.
    pub state_height: u64,
    /// The L2 head that the chain's state records (attested by the validators).
    pub chain_l2_head: u64,
    /// The head of this sidecar's own L2 node, which the next block builds on.
    pub local_l2_head: u64,
    pub now_unix_nanos: i128,
}

/// The rule. The latest block counts as committed at its latest precommit time (its header time is
/// the previous block's commit time, one interval older); it must be at most `max_lag` old, which
/// defaults to two block intervals measured over the last 20 blocks, and never less than `floor`
/// (so one slow round does not pause a producer whose view is current).
pub fn judge(facts: &SyncFacts, max_lag: Option<Duration>, floor: Duration) -> Result<(), String> {
    let c = &facts.clock;
    if c.catching_up {
        return Err(format!("CometBFT is catching up (at height {})", c.height));
    }
    if facts.state_height.saturating_add(1) < c.height {
        return Err(format!(
            "seqpoold's state is at height {} while CometBFT has {}: the app is replaying blocks",
            facts.state_height, c.height
        ));
    }
    let committed = c.committed_unix_nanos.unwrap_or(c.block_time_unix_nanos);
    let lag = facts.now_unix_nanos.saturating_sub(committed).max(0) as u128;
    let allowed = match max_lag {
        Some(d) => d.as_nanos(),
        None => c
            .interval_nanos
            .map(|i| i.saturating_mul(2))
            .unwrap_or(0)
            .max(floor.as_nanos()),
    };
    if lag > allowed {
        return Err(format!(
            "the latest block ({}) was committed {} ms ago, more than {} ms (two block intervals)",
            c.height,
            lag / 1_000_000,
            allowed / 1_000_000
        ));
    }
    if facts.local_l2_head < facts.chain_l2_head {
        return Err(format!(
            "the L2 node is at block {}, behind the L2 head {} that the chain recorded",
            facts.local_l2_head, facts.chain_l2_head
        ));
    }
    Ok(())
}

/// The checks against this node's CometBFT RPC and seqpoold.
#[derive(Clone)]
pub struct SyncGate {
    rpc: Rpc,
    max_lag: Option<Duration>,
    floor: Duration,
}

impl SyncGate {
    /// `max_lag` None: two measured block intervals, at least `floor`.
    pub fn new(rpc: Rpc, max_lag: Option<Duration>, floor: Duration) -> Self {
        Self {
            rpc,
            max_lag,
            floor,
        }
    }

    pub fn rpc_url(&self) -> &str {
        self.rpc.url()
    }

    /// `Ok` when this node's view is current; otherwise why not (an unreachable node included).
    pub async fn check(&self, chain: &ChainClient, local_l2_head: u64) -> Result<(), String> {
        let clock = self
            .rpc
            .chain_clock()
            .await
            .map_err(|e| format!("cannot read CometBFT's status: {e}"))?;
        let state_height = chain
            .state_height()
            .await
            .map_err(|e| format!("cannot read seqpoold's height: {e}"))?;
        let chain_l2_head = chain
            .current_epoch()
            .await
            .map_err(|e| format!("cannot read the chain's L2 head: {e}"))?
            .head
            .and_then(|h| h.block)
            .map(|b| b.number)
            .unwrap_or(0);
        let now_unix_nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        judge(
            &SyncFacts {
                clock,
                state_height,
                chain_l2_head,
                local_l2_head,
                now_unix_nanos,
            },
            self.max_lag,
            self.floor,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i128 = 1_000_000_000;

    fn current() -> SyncFacts {
        SyncFacts {
            clock: ChainClock {
                catching_up: false,
                height: 100,
                block_time_unix_nanos: 1_000 * SEC,
                committed_unix_nanos: Some(1_000 * SEC + SEC / 2),
                interval_nanos: Some(500_000_000),
            },
            state_height: 100,
            chain_l2_head: 40,
            local_l2_head: 41,
            now_unix_nanos: 1_001 * SEC,
        }
    }

    const FLOOR: Duration = Duration::from_millis(800);

    #[test]
    fn a_current_node_may_produce() {
        assert_eq!(judge(&current(), None, FLOOR), Ok(()));
        // The app one commit behind CometBFT's block store is the normal window between the two.
        let mut f = current();
        f.state_height = 99;
        assert_eq!(judge(&f, None, FLOOR), Ok(()));
    }

    #[test]
    fn each_sign_of_a_stale_view_stops_production() {
        let mut f = current();
        f.clock.catching_up = true;
        assert!(judge(&f, None, FLOOR).unwrap_err().contains("catching up"));

        let mut f = current();
        f.state_height = 90;
        assert!(judge(&f, None, FLOOR).unwrap_err().contains("replaying"));

        // 0.5 s intervals, floor 0.8 s: 1 s allowed; the commit is 1.5 s old.
        let mut f = current();
        f.now_unix_nanos = 1_002 * SEC;
        assert!(judge(&f, None, FLOOR)
            .unwrap_err()
            .contains("committed 1500 ms ago"));
        assert_eq!(judge(&f, Some(Duration::from_secs(2)), FLOOR), Ok(()));

        let mut f = current();
        f.local_l2_head = 39;
        assert!(judge(&f, None, FLOOR)
            .unwrap_err()
            .contains("behind the L2 head"));
    }

    #[test]
    fn the_floor_and_missing_data_are_handled() {
        // No interval measured yet: the floor decides.
        let mut f = current();
        f.clock.interval_nanos = None;
        f.now_unix_nanos = 1_000 * SEC + SEC / 2 + 700_000_000;
        assert_eq!(judge(&f, None, FLOOR), Ok(()));
        f.now_unix_nanos += 200_000_000;
        assert!(judge(&f, None, FLOOR).is_err());
        // No precommit times: the header time counts.
        let mut f = current();
        f.clock.committed_unix_nanos = None;
        f.now_unix_nanos = 1_000 * SEC + 900_000_000;
        assert_eq!(judge(&f, None, FLOOR), Ok(()));
    }
}
