//! The batch submitter's header against a real L2 node (anvil): the root is
//! seqpool_mpc::batch::blocks_root over the blocks' own hashes and the state root is the last
//! block's, read back independently here.
use std::sync::Arc;
use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::providers::{Provider, ProviderBuilder};
use seqpool_l1::anvil::{mine, wait_for_rpc, Anvil};
use seqpool_sidecar::chain::ChainClient;
use seqpool_sidecar::l2::L2Client;
use seqpool_sidecar::metrics::Metrics;
use seqpool_sidecar::submitter::{Submitter, SubmitterConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_commits_to_the_l2_blocks_hashes_and_last_state_root() {
    let l2 = Anvil::start().expect("anvil as L2");
    let provider = ProviderBuilder::new().connect_http(l2.url.parse().expect("url"));
    wait_for_rpc(&provider).await.expect("L2 RPC");
    mine(&provider, 6).await.expect("mine");
    // Neither seqpoold nor CometBFT is needed for the header: both clients connect lazily.
    let submitter = Submitter::new(
        ChainClient::new("127.0.0.1:1", Duration::from_millis(100)).expect("chain client"),
        L2Client::new(&l2.url).expect("L2 client"),
        seqpool_client::Rpc::new("http://127.0.0.1:1").expect("rpc"),
        k256::ecdsa::SigningKey::from_slice(&[7; 32]).expect("a valid scalar"),
        SubmitterConfig {
            signer: [0; 20],
            chain_id: "test".into(),
            batch_blocks: 0,
            batch_interval: Duration::from_secs(2),
            poll_interval: Duration::from_millis(100),
            resubmit_after: Duration::from_secs(10),
        },
        Arc::new(Metrics::default()),
    );
    let header = submitter.header(3, 2, 5).await.expect("header");
    let mut hashes = Vec::new();
    let mut last_state_root = Vec::new();
    for n in 2..=5u64 {
        let block = provider
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .await
            .expect("block")
            .expect("exists");
        hashes.push(block.header.hash.0);
        last_state_root = block.header.state_root.to_vec();
    }
    assert_eq!(
        (
            header.batch_index,
            header.l2_start_block,
            header.l2_end_block
        ),
        (3, 2, 5)
    );
    assert_eq!(
        header.l2_blocks_root,
        seqpool_mpc::batch::blocks_root(&hashes).to_vec()
    );
    assert_eq!(header.l2_state_root, last_state_root);
    // A block the node does not have is an error, not a short batch.
    assert!(submitter.header(4, 6, 9).await.is_err());
}
