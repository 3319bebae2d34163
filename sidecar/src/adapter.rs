//! The adapter: asks this validator's seqpoold who produces the next L2 height and, only while
//! that is this validator, makes L2 blocks on the L2 node at the L2 block time with its signer
//! address as the coinbase. Otherwise it sends nothing to L2.
//!
//! Failures of seqpoold or of the L2 node are reported once per outage and retried every poll; the
//! adapter never stops on them.
use std::time::{Duration, Instant};

use crate::chain::{ChainClient, ChainError, ProducerAt};
use crate::l2::{L2Client, L2Error, L2Head};
use crate::sync::SyncGate;

#[derive(Debug, Clone)]
pub struct AdapterConfig {
    /// This validator's Ethereum signer address: the coinbase of the L2 blocks it makes.
    pub signer: [u8; 20],
    /// Time between two L2 blocks.
    pub block_time: Duration,
    /// How often the adapter looks at L2 and at the schedule (bounds how late a takeover starts).
    pub poll_interval: Duration,
    /// How often the status line is logged (it is also logged on every role change).
    pub status_interval: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    L2(#[from] L2Error),
}

/// What this validator is for the next L2 height.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// It is the scheduled producer: it makes the blocks.
    Producer,
    /// Another validator (consensus address) produces.
    Follower { producer: String },
    /// The epoch of the next height has no schedule yet; nobody may produce it.
    Waiting,
    /// It is the scheduled producer, but its node's view of the chain is not current (catching
    /// up, replaying, or its L2 node behind): it makes no block until it is.
    NotReady,
    /// seqpoold or the L2 node did not answer.
    Unreachable,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Role::Producer => f.write_str("producer"),
            Role::Follower { producer } => write!(f, "follower (producer {producer})"),
            Role::Waiting => f.write_str("waiting (schedule not decided)"),
            Role::NotReady => f.write_str("scheduled producer, waiting for its node to catch up"),
            Role::Unreachable => f.write_str("unreachable"),
        }
    }
}

pub fn role_for(next: Option<&ProducerAt>, signer: &[u8; 20]) -> Role {
    match next {
        Some(p) if &p.signer == signer => Role::Producer,
        Some(p) => Role::Follower {
            producer: p.producer.clone(),
        },
        None => Role::Waiting,
    }
}

/// Whether to make a block now: only as the producer, and only once a block time has passed since
/// the L2 head last moved. So a producer taking over at an epoch boundary keeps the block time,
/// and one taking over from a stalled producer (the head has not moved for the stall timeout)
/// makes its first block at once.
pub fn should_mine(role: &Role, since_head_moved: Duration, block_time: Duration) -> bool {
    *role == Role::Producer && since_head_moved >= block_time
}

/// What one step saw and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub l2_head: u64,
    pub next: Option<ProducerAt>,
    pub role: Role,
    pub mined: Option<L2Head>,
    /// Why a due block was not made (role `NotReady`).
    pub not_ready: Option<String>,
}

pub struct Adapter {
    chain: ChainClient,
    l2: L2Client,
    config: AdapterConfig,
    /// The L2 head last seen and when it was first seen.
    head: Option<(u64, Instant)>,
    role: Role,
    mined_total: u64,
    last_status: Option<Instant>,
    /// The error of the current outage (logged once).
    failing: Option<String>,
    sync: Option<SyncGate>,
    /// Why the node was last found not ready (logged when it changes).
    not_ready: Option<String>,
}

fn hex_addr(a: &[u8; 20]) -> String {
    format!("0x{}", hex::encode(a))
}

impl Adapter {
    pub fn new(chain: ChainClient, l2: L2Client, config: AdapterConfig) -> Self {
        Self {
            chain,
            l2,
            config,
            head: None,
            role: Role::Unreachable,
            mined_total: 0,
            last_status: None,
            failing: None,
            sync: None,
            not_ready: None,
        }
    }

    /// Makes a block only while `gate` finds this node's view of the chain current.
    pub fn with_sync_gate(mut self, gate: SyncGate) -> Self {
        self.sync = Some(gate);
        self
    }

    pub fn role(&self) -> &Role {
        &self.role
    }

    fn note_head(&mut self, number: u64, now: Instant) {
        if self.head.map(|(n, _)| n) != Some(number) {
            self.head = Some((number, now));
        }
    }

    /// One look at L2 and the schedule; makes a block when due.
    pub async fn step(&mut self) -> Result<Step, AdapterError> {
        let head = self.l2.head_number().await?;
        let now = Instant::now();
        self.note_head(head, now);
        let next = self.chain.producer_at(head + 1).await?;
        let role = role_for(next.as_ref(), &self.config.signer);
        let since = self
            .head
            .map(|(_, at)| now.duration_since(at))
            .unwrap_or_default();
        let mut mined = None;
        let mut role = role;
        let mut not_ready = None;
        if should_mine(&role, since, self.config.block_time) {
            if let Some(gate) = &self.sync {
                if let Err(why) = gate.check(&self.chain, head).await {
                    return Ok(Step {
                        l2_head: head,
                        next,
                        role: Role::NotReady,
                        mined: None,
                        not_ready: Some(why),
                    });
                }
            }
        } else if role == Role::Producer && self.role == Role::NotReady {
            // Between two due blocks, stay "not ready" until a check passes.
            role = Role::NotReady;
            not_ready = self.not_ready.clone();
        }
        if role == Role::Producer && should_mine(&role, since, self.config.block_time) {
            let block = self.l2.mine_with_coinbase(self.config.signer).await?;
            self.note_head(block.number, Instant::now());
            self.mined_total += 1;
            if block.coinbase != self.config.signer {
                tracing::warn!(
                    number = block.number,
                    coinbase = %hex_addr(&block.coinbase),
                    "the block made carries another coinbase: another process set the L2 coinbase concurrently"
                );
            } else {
                tracing::debug!(number = block.number, "L2 block made");
            }
            mined = Some(block);
        }
        Ok(Step {
            l2_head: mined.map(|b| b.number).unwrap_or(head),
            next,
            role,
            mined,
            not_ready,
        })
    }

    async fn log_status(&self, step: &Step) {
        let schedule = match self.chain.current_epoch().await {
            Ok(e) => {
                let current = e.current.unwrap_or_default();
                let next_epoch = e.next.unwrap_or_default();
                let next_producer = match self.chain.producer_at(next_epoch.first_l2_height).await {
                    Ok(Some(p)) => p.producer,
                    Ok(None) => "undecided".into(),
                    Err(_) => "?".into(),
                };
                format!(
                    "epoch {} (L2 {}..={}), next epoch {} from L2 {} by {}",
                    current.number,
                    current.first_l2_height,
                    current.last_l2_height,
                    next_epoch.number,
                    next_epoch.first_l2_height,
                    next_producer
                )
            }
            Err(e) => format!("unknown ({e})"),
        };
        let producer = step
            .next
            .as_ref()
            .map(|p| {
                format!(
                    "{} signer {}{}",
                    p.producer,
                    hex_addr(&p.signer),
                    if p.reelected { " (re-elected)" } else { "" }
                )
            })
            .unwrap_or_else(|| "undecided".into());
        tracing::info!(
            role = %step.role,
            l2_head = step.l2_head,
            next_producer = %producer,
            schedule = %schedule,
            made = self.mined_total,
            not_ready = self.not_ready.as_deref().unwrap_or(""),
            "status"
        );
    }

    /// Runs until `stop` resolves.
    pub async fn run(mut self, stop: impl std::future::Future<Output = ()>) {
        tracing::info!(
            signer = %hex_addr(&self.config.signer),
            seqpoold = self.chain.addr(),
            l2 = self.l2.url(),
            block_time_ms = self.config.block_time.as_millis() as u64,
            "adapter started"
        );
        tokio::pin!(stop);
        loop {
            match self.step().await {
                Ok(step) => {
                    if let Some(e) = self.failing.take() {
                        tracing::info!(was = %e, "seqpoold and L2 reachable again");
                    }
                    let changed = step.role != self.role;
                    let due = self
                        .last_status
                        .is_none_or(|t| t.elapsed() >= self.config.status_interval);
                    if changed {
                        tracing::info!(from = %self.role, to = %step.role, l2_head = step.l2_head, "role changed");
                    }
                    match (&self.not_ready, &step.not_ready) {
                        (None, Some(why)) => {
                            tracing::warn!(reason = %why, l2_head = step.l2_head, "scheduled to produce, but this node's view of the chain is not current: making no L2 block until it is")
                        }
                        (Some(was), None) => {
                            tracing::info!(was = %was, "this node's view of the chain is current again")
                        }
                        _ => {}
                    }
                    self.not_ready = step.not_ready.clone();
                    self.role = step.role.clone();
                    if changed || due {
                        self.log_status(&step).await;
                        self.last_status = Some(Instant::now());
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    if self.failing.as_deref() != Some(message.as_str()) {
                        tracing::warn!(error = %message, "adapter step failed; retrying every poll, making no L2 blocks meanwhile");
                        self.failing = Some(message);
                    }
                    self.role = Role::Unreachable;
                }
            }
            tokio::select! {
                _ = &mut stop => {
                    tracing::info!(made = self.mined_total, "adapter stopped");
                    return;
                }
                _ = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(signer: u8) -> ProducerAt {
        ProducerAt {
            l2_height: 5,
            epoch: 0,
            producer: format!("{signer:02X}").repeat(20),
            signer: [signer; 20],
            reelected: false,
        }
    }

    #[test]
    fn only_the_scheduled_signer_is_producer() {
        assert_eq!(role_for(Some(&at(1)), &[1; 20]), Role::Producer);
        assert_eq!(
            role_for(Some(&at(2)), &[1; 20]),
            Role::Follower {
                producer: "02".repeat(20)
            }
        );
        assert_eq!(role_for(None, &[1; 20]), Role::Waiting);
    }

    #[test]
    fn mines_only_as_producer_once_a_block_time_passed() {
        let bt = Duration::from_millis(1000);
        assert!(should_mine(&Role::Producer, bt, bt));
        assert!(!should_mine(&Role::Producer, bt / 2, bt));
        let follower = Role::Follower {
            producer: "AA".repeat(20),
        };
        for role in [follower, Role::Waiting, Role::Unreachable] {
            assert!(!should_mine(&role, bt * 10, bt), "{role} must not mine");
        }
    }
}
