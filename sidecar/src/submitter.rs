//! The batch submitter: while its validator is the scheduled producer of the next L2 height, it
//! proposes the next batch to the chain (MsgSubmitBatch signed by the validator's operator key).
//!
//! The chain is the only record: the batch index and first L2 block come from `Query/Batches`
//! (next_batch_index, next_l2_block), and x/mpc accepts only exactly that index and start, so a
//! batch another producer already proposed, or one this process proposed before a restart, is
//! never proposed twice. A batch covers L2 blocks start..=end with end = min(head, start +
//! max_batch_blocks - 1); it is proposed once it is full (`batch_blocks`) or, with at least one
//! block, once `batch_interval` has passed since this submitter's last proposal. A batch whose
//! signing FAILED (max attempts) is proposed again with the same range before anything new, so
//! no range is lost.
use std::time::{Duration, Instant};

use k256::ecdsa::SigningKey;
use seqpool_client::{sign_and_broadcast, to_any, Rpc};
use seqpool_proto::mpc::v1::{BatchHeader, MsgSubmitBatch};

use crate::chain::ChainClient;
use crate::l2::L2Client;
use crate::metrics::Metrics;

/// The L2 range of the next batch, if one should be proposed now.
///
/// `next_l2` is the first block the chain expects, `head` the L2 head, `max_blocks` x/mpc's
/// max_batch_blocks, `batch_blocks` the size that triggers a batch at once, `interval_passed`
/// whether the time trigger fired.
pub fn next_range(
    next_l2: u64,
    head: u64,
    max_blocks: u64,
    batch_blocks: u64,
    interval_passed: bool,
) -> Option<(u64, u64)> {
    if head < next_l2 || max_blocks == 0 {
        return None;
    }
    let end = head.min(next_l2.saturating_add(max_blocks - 1));
    let blocks = end - next_l2 + 1;
    (blocks >= batch_blocks.clamp(1, max_blocks) || interval_passed).then_some((next_l2, end))
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Chain(#[from] crate::chain::ChainError),
    #[error(transparent)]
    L2(#[from] crate::l2::L2Error),
    #[error("CometBFT RPC: {0}")]
    Rpc(String),
    #[error("MsgSubmitBatch for batch {index} refused by CheckTx (code {code}): {log}")]
    Refused { index: u64, code: u32, log: String },
}

#[derive(Clone, Debug)]
pub struct SubmitterConfig {
    /// This validator's signer address (the adapter's): is it the producer of the next height?
    pub signer: [u8; 20],
    pub chain_id: String,
    /// Size trigger; 0 = the chain's max_batch_blocks.
    pub batch_blocks: u64,
    pub batch_interval: Duration,
    pub poll_interval: Duration,
    /// How long a proposal may stay unanswered (not in the chain's next index) before it is
    /// proposed again; the chain refuses a second copy of the same index anyway.
    pub resubmit_after: Duration,
}

pub struct Submitter {
    chain: ChainClient,
    l2: L2Client,
    rpc: Rpc,
    operator: SigningKey,
    config: SubmitterConfig,
    metrics: std::sync::Arc<Metrics>,
    /// (batch index, when) of the last proposal.
    last: Option<(u64, Instant)>,
    /// Batches below this index are SIGNED or LANDED (not read again for FAILED ones).
    scan_from: u64,
}

impl Submitter {
    pub fn new(
        chain: ChainClient,
        l2: L2Client,
        rpc: Rpc,
        operator: SigningKey,
        config: SubmitterConfig,
        metrics: std::sync::Arc<Metrics>,
    ) -> Self {
        Self {
            chain,
            l2,
            rpc,
            operator,
            config,
            metrics,
            last: None,
            scan_from: 0,
        }
    }

    /// The header of batch `index` over L2 blocks start..=end, from this node's L2 view.
    pub async fn header(
        &self,
        index: u64,
        start: u64,
        end: u64,
    ) -> Result<BatchHeader, SubmitError> {
        let mut hashes = Vec::new();
        let mut state_root = [0u8; 32];
        for number in start..=end {
            let (hash, root) = self.l2.block_roots(number).await?;
            hashes.push(hash);
            state_root = root;
        }
        Ok(BatchHeader {
            batch_index: index,
            l2_start_block: start,
            l2_end_block: end,
            l2_blocks_root: seqpool_mpc::batch::blocks_root(&hashes).to_vec(),
            l2_state_root: state_root.to_vec(),
        })
    }

    /// One round: proposes the next batch if this validator produces the next L2 height and a
    /// trigger fired. Returns the proposed header.
    pub async fn step(&mut self) -> Result<Option<BatchHeader>, SubmitError> {
        let head = self.l2.head_number().await?;
        let producer = self.chain.producer_at(head + 1).await?;
        if producer.is_none_or(|p| p.signer != self.config.signer) {
            return Ok(None);
        }
        // A batch whose signing FAILED leaves a hole below L1's next index: propose the same
        // range again (x/mpc accepts exactly that) before anything new.
        if let Some((index, start, end)) = self.first_failed_batch().await? {
            return self.propose(index, start, end).await;
        }
        let batches = self.chain.batches(u64::MAX, 1).await?;
        let (index, next_l2) = (batches.next_batch_index, batches.next_l2_block);
        let max_blocks = self.chain.mpc_params().await?.max_batch_blocks;
        let interval_passed = self
            .last
            .is_none_or(|(_, at)| at.elapsed() >= self.config.batch_interval);
        let batch_blocks = if self.config.batch_blocks == 0 {
            max_blocks
        } else {
            self.config.batch_blocks
        };
        let Some((start, end)) =
            next_range(next_l2, head, max_blocks, batch_blocks, interval_passed)
        else {
            return Ok(None);
        };
        self.propose(index, start, end).await
    }

    /// The lowest batch whose request FAILED, as (index, start, end). A prefix of SIGNED or LANDED
    /// batches (they cannot fail any more) is not read again.
    pub async fn first_failed_batch(&mut self) -> Result<Option<(u64, u64, u64)>, SubmitError> {
        use seqpool_proto::mpc::v1::{signing_request::Body, RequestStatus};
        const PAGE: u32 = 100;
        let mut from = self.scan_from;
        let mut prefix_done = true;
        loop {
            let page = self.chain.batches(from, PAGE).await?;
            for r in &page.batches {
                let Some(Body::Batch(h)) = &r.body else {
                    continue;
                };
                match r.status() {
                    RequestStatus::Landed | RequestStatus::Signed if prefix_done => {
                        self.scan_from = h.batch_index + 1
                    }
                    RequestStatus::Failed => {
                        return Ok(Some((h.batch_index, h.l2_start_block, h.l2_end_block)))
                    }
                    _ => prefix_done = false,
                }
            }
            match page.batches.last().and_then(|r| match &r.body {
                Some(Body::Batch(h)) => Some(h.batch_index),
                _ => None,
            }) {
                Some(last) if page.batches.len() == PAGE as usize => from = last + 1,
                _ => return Ok(None),
            }
        }
    }

    /// Proposes batch `index` over L2 blocks start..=end (unless our proposal of it is still on
    /// its way into a block).
    async fn propose(
        &mut self,
        index: u64,
        start: u64,
        end: u64,
    ) -> Result<Option<BatchHeader>, SubmitError> {
        if let Some((last, at)) = self.last {
            if last == index && at.elapsed() < self.config.resubmit_after {
                return Ok(None);
            }
        }
        let header = self.header(index, start, end).await?;
        let msg = MsgSubmitBatch {
            operator: seqpool_client::address_of(&self.operator),
            batch: Some(header.clone()),
        };
        let sent = sign_and_broadcast(
            &self.rpc,
            &self.operator,
            &self.config.chain_id,
            vec![to_any(&msg)],
            "",
        )
        .await
        .map_err(|e| SubmitError::Rpc(e.to_string()))?;
        self.last = Some((index, Instant::now()));
        if sent.code != 0 {
            return Err(SubmitError::Refused {
                index,
                code: sent.code,
                log: sent.log,
            });
        }
        self.metrics.inc(&self.metrics.batches_submitted);
        Ok(Some(header))
    }

    /// Runs [`Submitter::step`] every poll until `stop`; errors are logged once per kind and
    /// retried.
    pub async fn run(mut self, stop: impl std::future::Future<Output = ()>) {
        use seqpool_proto::mpc::v1::{RequestStatus, RequestType};
        tokio::pin!(stop);
        let mut last_error = String::new();
        loop {
            match self.step().await {
                Ok(Some(h)) => {
                    tracing::info!(
                        batch = h.batch_index,
                        l2_start = h.l2_start_block,
                        l2_end = h.l2_end_block,
                        root = %hex::encode(&h.l2_blocks_root),
                        "proposed batch"
                    );
                    last_error.clear();
                }
                Ok(None) => last_error.clear(),
                Err(e) => {
                    let message = e.to_string();
                    if message != last_error {
                        tracing::warn!(error = %message, "batch submitter: retrying");
                        last_error = message;
                    }
                }
            }
            // Gauge for the status line: batch requests waiting for their signature.
            let mut pending = 0;
            for status in [RequestStatus::Pending, RequestStatus::Signing] {
                if let Ok(requests) = self.chain.requests(status).await {
                    pending += requests
                        .iter()
                        .filter(|r| r.request_type == RequestType::Batch as i32)
                        .count();
                }
            }
            self.metrics
                .set(&self.metrics.batches_pending, pending as u64);
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_start_at_the_chains_next_block_and_respect_the_cap() {
        // Nothing new on L2.
        assert_eq!(next_range(11, 10, 8, 8, true), None);
        // Full batch: proposed at once, capped at max_blocks.
        assert_eq!(next_range(1, 100, 8, 8, false), Some((1, 8)));
        // Not full and the interval has not passed: wait.
        assert_eq!(next_range(1, 3, 8, 8, false), None);
        // Interval passed with at least one block: propose what there is.
        assert_eq!(next_range(1, 3, 8, 8, true), Some((1, 3)));
        assert_eq!(next_range(4, 4, 8, 8, true), Some((4, 4)));
        // A size trigger above the cap is the cap; max 0 proposes nothing.
        assert_eq!(next_range(1, 100, 8, 50, false), Some((1, 8)));
        assert_eq!(next_range(1, 100, 0, 8, true), None);
    }
}
