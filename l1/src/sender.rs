//! Sending one L1 transaction from a relayer key with fee bumping: the nonce is the account's
//! confirmed transaction count (so after a restart a stuck transaction of ours is replaced, not
//! queued behind), and a transaction not mined within `bump_after` is sent again with the same
//! nonce and fees raised by 12.5% (plus one wei), up to `max_bumps` times. One transaction in
//! flight per key: the caller sends the next one only after this one returns. When an L1 reorg takes
//! mined transactions of ours away, the account's count drops below the nonce in flight; that is
//! reported (`SendError::Reorged`) instead of bumping a transaction that can never be mined.
use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, TxHash};
use alloy::providers::Provider;
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};

#[derive(Clone, Debug)]
pub struct SendPolicy {
    /// Resend with higher fees when not mined within this long.
    pub bump_after: Duration,
    /// Most resends of one transaction.
    pub max_bumps: u32,
    /// How often the receipt is looked for.
    pub poll_interval: Duration,
    /// Give up waiting (the transaction may still be mined later; the caller re-derives its
    /// work from chain and L1 state, so a later attempt finds it done).
    pub give_up_after: Duration,
}

impl Default for SendPolicy {
    fn default() -> Self {
        Self {
            bump_after: Duration::from_secs(30),
            max_bumps: 5,
            poll_interval: Duration::from_millis(500),
            give_up_after: Duration::from_secs(600),
        }
    }
}

/// A mined transaction and how many times its fees were bumped.
#[derive(Clone, Debug)]
pub struct Mined {
    pub receipt: TransactionReceipt,
    pub bumps: u32,
    /// Every hash sent for this nonce (the mined one among them).
    pub sent: Vec<TxHash>,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("L1 RPC ({call}): {reason}")]
    Rpc { call: &'static str, reason: String },
    #[error("nonce {nonce} of {from} was used by a transaction this relayer did not send")]
    NonceTaken { from: Address, nonce: u64 },
    /// The account's mined transaction count fell below our nonce: transactions of ours that were
    /// mined are no longer on the chain (an L1 reorg), so ours waits behind a gap that nobody
    /// fills. The caller re-derives what is still needed and sends it again, in order.
    #[error("an L1 reorg removed mined transactions of {from}: its count is {confirmed}, below the nonce {nonce} we sent with")]
    Reorged {
        from: Address,
        nonce: u64,
        confirmed: u64,
    },
    #[error("transaction with nonce {nonce} not mined after {waited:?} and {bumps} fee bumps")]
    NotMined {
        nonce: u64,
        bumps: u32,
        waited: Duration,
    },
}

fn rpc(call: &'static str) -> impl Fn(alloy::transports::TransportError) -> SendError {
    move |e| SendError::Rpc {
        call,
        reason: e.to_string(),
    }
}

/// `fee * 1.125 + 1`, the smallest raise every client accepts for a replacement.
pub fn bumped(fee: u128) -> u128 {
    fee.saturating_mul(1125) / 1000 + 1
}

/// Fees of one send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fees {
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
}

impl Fees {
    pub fn bumped(self) -> Self {
        Self {
            max_fee_per_gas: bumped(self.max_fee_per_gas),
            max_priority_fee_per_gas: bumped(self.max_priority_fee_per_gas),
        }
    }
}

/// Polls that must see the account's count below our nonce before it counts as a reorg.
const REORG_GAP_POLLS: u32 = 3;
/// Polls that must find none of our transactions known to the node before they are sent again.
const DROPPED_POLLS: u32 = 2;

/// Whether the node knows any of `sent` (pending or mined).
async fn any_known<P: Provider>(provider: &P, sent: &[TxHash]) -> Result<bool, SendError> {
    for hash in sent {
        if provider
            .get_transaction_by_hash(*hash)
            .await
            .map_err(rpc("eth_getTransactionByHash"))?
            .is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Most fee raises while the node refuses to replace a pending transaction of ours (12.5% each:
/// 20 raises cover a factor of 10).
const MAX_REPRICES: u32 = 20;

fn is_replacement_refused(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("underpriced") || m.contains("already known") || m.contains("already imported")
}

/// The receipt of whichever of `sent` (one nonce's transactions) was mined.
async fn receipt_of_any<P: Provider>(
    provider: &P,
    sent: &[TxHash],
) -> Result<Option<TransactionReceipt>, SendError> {
    for hash in sent {
        if let Some(receipt) = provider
            .get_transaction_receipt(*hash)
            .await
            .map_err(rpc("eth_getTransactionReceipt"))?
        {
            return Ok(Some(receipt));
        }
    }
    Ok(None)
}

/// Sends `tx` (to and input set; gas, fees and nonce are filled here) from `from` through
/// `provider` (which signs for `from`), bumping fees until it is mined. `on_bump` is told each
/// resend (bump count, new hash). The transaction is not simulated here: the caller does that
/// first to decode a revert.
pub async fn send_bumping<P: Provider>(
    provider: &P,
    from: Address,
    tx: TransactionRequest,
    policy: &SendPolicy,
    mut on_bump: impl FnMut(u32, TxHash),
) -> Result<Mined, SendError> {
    let nonce = provider
        .get_transaction_count(from)
        .latest()
        .await
        .map_err(rpc("eth_getTransactionCount"))?;
    let estimate = provider
        .estimate_gas(tx.clone().with_from(from))
        // Not `pending`: a transaction of ours from before a restart may be there, and the
        // estimate is for the transaction that replaces it.
        .block(BlockId::latest())
        .await
        .map_err(rpc("eth_estimateGas"))?;
    // Headroom: the estimate is for the state now; the block that includes it may differ.
    let gas = estimate.saturating_mul(6) / 5 + 10_000;
    let estimated = provider
        .estimate_eip1559_fees()
        .await
        .map_err(rpc("eth_feeHistory"))?;
    let mut fees = Fees {
        max_fee_per_gas: estimated.max_fee_per_gas,
        max_priority_fee_per_gas: estimated.max_priority_fee_per_gas,
    };
    let build = |fees: Fees| {
        tx.clone()
            .with_from(from)
            .with_nonce(nonce)
            .with_gas_limit(gas)
            .with_max_fee_per_gas(fees.max_fee_per_gas)
            .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas)
    };
    let started = Instant::now();
    let mut bumps = 0u32;
    let mut sent: Vec<TxHash> = Vec::new();
    let mut last_send;
    let mut gap_polls = 0u32;
    let mut dropped_polls = 0u32;
    // Send, raising the fees while the node refuses the replacement (a transaction of ours with
    // this nonce from before a restart is pending with fees we no longer know).
    loop {
        match provider.send_transaction(build(fees)).await {
            Ok(pending) => {
                let hash = *pending.tx_hash();
                if bumps > 0 {
                    on_bump(bumps, hash);
                }
                sent.push(hash);
                last_send = Instant::now();
                break;
            }
            Err(e) if is_replacement_refused(&e.to_string()) && bumps < MAX_REPRICES => {
                fees = fees.bumped();
                bumps += 1;
            }
            Err(e) if e.to_string().to_ascii_lowercase().contains("nonce too low") => {
                return Err(SendError::NonceTaken { from, nonce });
            }
            Err(e) => return Err(rpc("eth_sendRawTransaction")(e)),
        }
    }
    loop {
        if let Some(receipt) = receipt_of_any(provider, &sent).await? {
            return Ok(Mined {
                receipt,
                bumps,
                sent,
            });
        }
        let confirmed = provider
            .get_transaction_count(from)
            .latest()
            .await
            .map_err(rpc("eth_getTransactionCount"))?;
        if confirmed > nonce {
            // The nonce is used: either by one of ours whose receipt the node indexes a moment
            // later, or by someone else with this key. Look once more before calling it foreign.
            if let Some(receipt) = receipt_of_any(provider, &sent).await? {
                return Ok(Mined {
                    receipt,
                    bumps,
                    sent,
                });
            }
            return Err(SendError::NonceTaken { from, nonce });
        }
        if confirmed < nonce {
            // Possibly a node that puts reorged transactions back into its pool (geth does):
            // then the gap fills within a block or two. Look again before giving up on the nonce.
            gap_polls += 1;
            if gap_polls >= REORG_GAP_POLLS {
                return Err(SendError::Reorged {
                    from,
                    nonce,
                    confirmed,
                });
            }
        } else {
            gap_polls = 0;
        }
        if started.elapsed() >= policy.give_up_after {
            return Err(SendError::NotMined {
                nonce,
                bumps,
                waited: started.elapsed(),
            });
        }
        // A node drops pending transactions on a reorg (anvil) or evicts them: then nothing of
        // ours is waiting, and only a resend gets the nonce mined.
        let dropped = if confirmed == nonce {
            !any_known(provider, &sent).await?
        } else {
            false
        };
        if dropped {
            dropped_polls += 1;
        } else {
            dropped_polls = 0;
        }
        let resend = dropped_polls >= DROPPED_POLLS;
        if resend {
            tracing::info!(
                nonce,
                "our L1 transaction is no longer in the node's pool (a reorg or an eviction); sending it again"
            );
            dropped_polls = 0;
        }
        if resend || (last_send.elapsed() >= policy.bump_after && bumps < policy.max_bumps) {
            fees = fees.bumped();
            bumps += 1;
            match provider.send_transaction(build(fees)).await {
                Ok(pending) => {
                    let hash = *pending.tx_hash();
                    tracing::info!(nonce, bumps, tx = %hash, max_fee = fees.max_fee_per_gas, "L1 transaction not mined in time; resent with higher fees");
                    on_bump(bumps, hash);
                    sent.push(hash);
                }
                // Mined in between; the next round finds the receipt.
                Err(e) if e.to_string().to_ascii_lowercase().contains("nonce too low") => {}
                Err(e) if is_replacement_refused(&e.to_string()) => {}
                Err(e) => return Err(rpc("eth_sendRawTransaction")(e)),
            }
            last_send = Instant::now();
        }
        tokio::time::sleep(policy.poll_interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_raises_by_at_least_an_eighth() {
        assert_eq!(bumped(1000), 1126);
        assert_eq!(bumped(0), 1);
        assert!(bumped(u128::MAX) > 0);
        let fees = Fees {
            max_fee_per_gas: 80,
            max_priority_fee_per_gas: 8,
        }
        .bumped();
        assert_eq!(fees.max_fee_per_gas, 91);
        assert_eq!(fees.max_priority_fee_per_gas, 10);
        assert!(is_replacement_refused(
            "replacement transaction underpriced"
        ));
        assert!(!is_replacement_refused("execution reverted"));
    }
}
