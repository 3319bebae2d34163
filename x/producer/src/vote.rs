//! The producer section of vote extensions: what a node reports about L2, how reports are checked,
//! and how the chain agrees on them (identical reports from more than 2/3 of the voting power).
use std::collections::BTreeMap;

use seqpool_component::{StateRead, StoreError};
use seqpool_epochs::{EpochRead, L2Block};

use crate::state::ProducerRead;
use crate::{ProducerVote, StallReport};

/// Most L2 blocks one vote may report, and so the most the head moves per chain block.
pub const MAX_BLOCKS_PER_VOTE: usize = 64;

/// Largest encoded producer section of an honest vote: [`MAX_BLOCKS_PER_VOTE`] blocks (a number,
/// a 32-byte hash and a 20-byte coinbase: at most 71 bytes framed) and a stall report (a 40-char
/// address and two numbers), with margin.
pub const MAX_VOTE_BYTES: usize = MAX_BLOCKS_PER_VOTE * 96 + 128;

/// Structural checks of a producer section (VerifyVoteExtension and, for injected commits, before
/// counting a section at all).
pub fn validate(vote: &ProducerVote) -> Result<(), String> {
    if vote.blocks.len() > MAX_BLOCKS_PER_VOTE {
        return Err(format!(
            "producer section reports {} L2 blocks, at most {MAX_BLOCKS_PER_VOTE} are allowed",
            vote.blocks.len()
        ));
    }
    for (i, b) in vote.blocks.iter().enumerate() {
        if b.hash.len() != 32 || b.coinbase.len() != 20 {
            return Err(format!(
                "L2 block {} has a {}-byte hash and a {}-byte coinbase, expected 32 and 20",
                b.number,
                b.hash.len(),
                b.coinbase.len()
            ));
        }
        if i > 0 && vote.blocks[i - 1].number.checked_add(1) != Some(b.number) {
            return Err(format!(
                "L2 blocks are not ascending and contiguous at {}",
                b.number
            ));
        }
    }
    if let Some(s) = &vote.stall {
        if s.producer.len() != 40 || !s.producer.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "stall report names {:?}, not a 20-byte hex consensus address",
                s.producer
            ));
        }
    }
    Ok(())
}

/// What more than 2/3 of the voting power agreed on in one extended commit.
#[derive(Debug, Default, PartialEq)]
pub struct Agreed {
    /// The next L2 blocks above the head, in order.
    pub blocks: Vec<L2Block>,
    pub stall: Option<StallReport>,
}

fn supermajority(power: i128, total: i128) -> bool {
    power * 3 > total * 2
}

/// Agrees on L2 blocks above `head` (each height needs >2/3 of `total_power` reporting the same hash
/// and coinbase; the first height without it stops) and on a stall report. Invalid sections count
/// for nothing.
pub fn tally(head: u64, votes: &[(i64, &ProducerVote)], total_power: i64) -> Agreed {
    let valid: Vec<(i128, &ProducerVote)> = votes
        .iter()
        .filter(|(p, v)| *p > 0 && validate(v).is_ok())
        .map(|(p, v)| (*p as i128, *v))
        .collect();
    let total = total_power as i128;
    let mut agreed = Agreed::default();
    for height in (head + 1)..=(head + MAX_BLOCKS_PER_VOTE as u64) {
        let mut by_block: BTreeMap<(&[u8], &[u8]), i128> = BTreeMap::new();
        for (power, vote) in &valid {
            if let Some(b) = vote.blocks.iter().find(|b| b.number == height) {
                *by_block
                    .entry((b.hash.as_slice(), b.coinbase.as_slice()))
                    .or_default() += power;
            }
        }
        let Some(((hash, coinbase), _)) = by_block
            .into_iter()
            .find(|(_, power)| supermajority(*power, total))
        else {
            break;
        };
        agreed.blocks.push(L2Block {
            number: height,
            hash: hash.to_vec(),
            coinbase: coinbase.to_vec(),
        });
    }
    let mut by_stall: BTreeMap<(u64, &str, u64), i128> = BTreeMap::new();
    for (power, vote) in &valid {
        if let Some(s) = &vote.stall {
            *by_stall
                .entry((s.epoch, s.producer.as_str(), s.since_l2_height))
                .or_default() += power;
        }
    }
    agreed.stall = by_stall
        .into_iter()
        .find(|(_, power)| supermajority(*power, total))
        .map(|((epoch, producer, since), _)| StallReport {
            epoch,
            producer: producer.to_string(),
            since_l2_height: since,
        });
    agreed
}

/// This node's view of L2 (fed by its sidecar or L2 RPC), turned into its producer section.
/// Node-local: it may use the wall clock; the chain only counts what >2/3 of the power report.
#[derive(Debug, Default, Clone)]
pub struct L2View {
    blocks: BTreeMap<u64, L2Block>,
    /// Local time (ms) when the last new L2 block was seen.
    last_new_block_ms: Option<u64>,
}

impl L2View {
    pub fn observe(&mut self, block: L2Block, now_ms: u64) {
        if self.blocks.insert(block.number, block).is_none() {
            self.last_new_block_ms = Some(now_ms);
        }
        // Keep a bounded window.
        while self.blocks.len() > 4 * MAX_BLOCKS_PER_VOTE {
            self.blocks.pop_first();
        }
    }

    /// The section for a vote on `state`: the blocks above its agreed head, and a stall report
    /// when nothing above the head was seen for the stall timeout.
    pub fn make_vote(
        &self,
        state: &impl StateRead,
        now_ms: u64,
    ) -> Result<ProducerVote, StoreError> {
        let head = state.l2_head_number()?;
        let blocks: Vec<L2Block> = (head + 1..=head + MAX_BLOCKS_PER_VOTE as u64)
            .map_while(|h| self.blocks.get(&h).cloned())
            .collect();
        let timeout = state.producer_params()?.stall_timeout_ms;
        let stalled = blocks.is_empty()
            && self
                .last_new_block_ms
                .is_some_and(|t| now_ms.saturating_sub(t) >= timeout);
        let stall = match (stalled, state.assignment_at(head + 1)?) {
            (true, Some((epoch, a))) => Some(StallReport {
                epoch,
                producer: a.producer,
                since_l2_height: head,
            }),
            _ => None,
        };
        Ok(ProducerVote { blocks, stall })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(n: u64, fork: u8) -> L2Block {
        L2Block {
            number: n,
            hash: vec![fork; 32],
            coinbase: vec![7; 20],
        }
    }
    fn vote(from: u64, to: u64, fork: u8) -> ProducerVote {
        ProducerVote {
            blocks: (from..=to).map(|n| block(n, fork)).collect(),
            stall: None,
        }
    }

    #[test]
    fn head_moves_only_as_far_as_two_thirds_agree() {
        let (a, b, c, d) = (vote(1, 5, 1), vote(1, 3, 1), vote(1, 4, 1), vote(1, 9, 1));
        let agreed = tally(0, &[(10, &a), (10, &b), (10, &c), (10, &d)], 40);
        // Heights 1..=3: 40 of 40; 4: 30 of 40 (> 2/3); 5: 20 of 40.
        assert_eq!(agreed.blocks.len(), 4);
        // One validator with a long chain cannot move it.
        let agreed = tally(0, &[(10, &d)], 40);
        assert!(agreed.blocks.is_empty());
        // Exactly 2/3 is not enough.
        let agreed = tally(0, &[(10, &a), (10, &b)], 30);
        assert!(agreed.blocks.is_empty());
    }

    #[test]
    fn a_fork_is_not_agreed() {
        let (a, b, c) = (vote(1, 2, 1), vote(1, 2, 1), vote(1, 2, 2));
        assert!(tally(0, &[(10, &a), (10, &b), (10, &c)], 30)
            .blocks
            .is_empty());
        assert_eq!(
            tally(0, &[(10, &a), (10, &b), (10, &c)], 29).blocks.len(),
            2
        );
    }

    #[test]
    fn invalid_sections_count_for_nothing() {
        let mut bad = vote(1, 1, 1);
        bad.blocks[0].hash.truncate(3);
        assert!(validate(&bad).is_err());
        let gap = ProducerVote {
            blocks: vec![block(1, 1), block(3, 1)],
            stall: None,
        };
        assert!(validate(&gap).is_err());
        let too_many = vote(1, MAX_BLOCKS_PER_VOTE as u64 + 1, 1);
        assert!(validate(&too_many).is_err());
        let stall = ProducerVote {
            blocks: vec![],
            stall: Some(StallReport {
                epoch: 0,
                producer: "zz".into(),
                since_l2_height: 0,
            }),
        };
        assert!(validate(&stall).is_err());
        let good = vote(1, 1, 1);
        assert!(tally(0, &[(10, &good), (10, &good), (10, &bad)], 30)
            .blocks
            .is_empty());
    }

    #[test]
    fn stall_needs_more_than_two_thirds_reporting_the_same() {
        let report = |since| ProducerVote {
            blocks: vec![],
            stall: Some(StallReport {
                epoch: 1,
                producer: "AB".repeat(20),
                since_l2_height: since,
            }),
        };
        let (s5, s6) = (report(5), report(6));
        let none = ProducerVote::default();
        assert!(tally(5, &[(10, &s5), (10, &s5), (10, &none)], 30)
            .stall
            .is_none());
        assert!(tally(5, &[(10, &s5), (10, &s5), (10, &s6)], 30)
            .stall
            .is_none());
        assert_eq!(
            tally(5, &[(10, &s5), (10, &s5), (10, &s5)], 30).stall,
            s5.stall
        );
    }
}
