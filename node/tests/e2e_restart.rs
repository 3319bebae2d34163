//! End to end against real CometBFT: a validator killed with SIGKILL (both its cometbft and its
//! seqpoold) and restarted replays, catches up and agrees with the others at every common height.
mod common;

use std::time::Duration;

use common::Devnet;

#[test]
fn killed_node_restarts_and_catches_up_without_divergence() {
    let mut net = Devnet::start(4, 0);
    net.wait_all_height(5, Duration::from_secs(60));

    net.kill_node(3);
    let killed_at = net.height(0).expect("node0 height");
    // Three of four validators hold 3/4 of the power (> 2/3): the chain goes on without node3.
    for k in 0..3 {
        net.wait_height(k, killed_at + 5, Duration::from_secs(60));
    }

    net.start_node(3);
    let target = (0..3).filter_map(|k| net.height(k)).max().expect("heights") + 3;
    net.wait_height(3, target, Duration::from_secs(90));
    net.wait_all_height(target, Duration::from_secs(30));
    net.assert_same_app_hashes(1..=target - 1);
}
