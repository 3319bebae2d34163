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

/// Polls in a row that see the account's count past our nonce with no receipt of ours before the
/// nonce counts as used by someone else.
const NONCE_TAKEN_POLLS: u32 = 3;
/// Failed polls in a row, once our transaction is sent, before the wait gives up.
const RPC_FAILURE_POLLS: u32 = 5;

/// What one poll found of a sent nonce.
enum Seen {
    Mined(Box<TransactionReceipt>),
    /// Not mined: the account's mined count, and whether the node knows any of ours (only
    /// looked up when the count equals our nonce).
    Pending {
        confirmed: u64,
        known: bool,
    },
}

async fn look<P: Provider>(
    provider: &P,
    from: Address,
    nonce: u64,
    sent: &[TxHash],
) -> Result<Seen, SendError> {
    if let Some(receipt) = receipt_of_any(provider, sent).await? {
        return Ok(Seen::Mined(Box::new(receipt)));
    }
    let confirmed = provider
        .get_transaction_count(from)
        .latest()
        .await
        .map_err(rpc("eth_getTransactionCount"))?;
    let known = confirmed != nonce || any_known(provider, sent).await?;
    Ok(Seen::Pending { confirmed, known })
}

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
    let mut taken_polls = 0u32;
    let mut rpc_failures = 0u32;
    loop {
        let (confirmed, known) = match look(provider, from, nonce, &sent).await {
            Ok(Seen::Mined(receipt)) => {
                return Ok(Mined {
                    receipt: *receipt,
                    bumps,
                    sent,
                })
            }
            Ok(Seen::Pending { confirmed, known }) => {
                rpc_failures = 0;
                (confirmed, known)
            }
            // The transaction is out: a node that fails a request or two (busy, restarting)
            // must not make it look lost, or the caller gives up on a transaction that lands.
            Err(e) => {
                rpc_failures += 1;
                if rpc_failures >= RPC_FAILURE_POLLS {
                    return Err(e);
                }
                tokio::time::sleep(policy.poll_interval).await;
                continue;
            }
        };
        if confirmed > nonce {
            // The nonce is used: either by one of ours whose receipt the node serves a moment
            // after it counts the block (anvil under load does so), or by someone else with
            // this key. Look again for a few polls before calling it foreign.
            taken_polls += 1;
            if taken_polls >= NONCE_TAKEN_POLLS {
                return Err(SendError::NonceTaken { from, nonce });
            }
            tokio::time::sleep(policy.poll_interval).await;
            continue;
        }
        taken_polls = 0;
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
        if confirmed == nonce && !known {
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

    use alloy::providers::ProviderBuilder;
    use alloy::transports::mock::Asserter;

    const FROM: Address = Address::repeat_byte(0x11);
    const HASH: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";

    fn quick() -> SendPolicy {
        SendPolicy {
            bump_after: Duration::from_secs(600),
            max_bumps: 0,
            poll_interval: Duration::from_millis(1),
            give_up_after: Duration::from_secs(600),
        }
    }

    fn receipt() -> serde_json::Value {
        serde_json::json!({
            "type": "0x2",
            "status": "0x1",
            "transactionHash": HASH,
            "transactionIndex": "0x0",
            "blockHash": "0x2222222222222222222222222222222222222222222222222222222222222222",
            "blockNumber": "0x7",
            "from": FROM,
            "to": Address::repeat_byte(0x22),
            "cumulativeGasUsed": "0x5208",
            "gasUsed": "0x5208",
            "effectiveGasPrice": "0x3b9aca00",
            "contractAddress": null,
            "logs": [],
            "logsBloom": format!("0x{}", "00".repeat(256)),
        })
    }

    /// The answers up to the send: nonce 5, the gas estimate, the fee history, the hash.
    fn sent_at_nonce_5() -> Asserter {
        let a = Asserter::new();
        a.push_success(&"0x5");
        a.push_success(&"0x5208");
        a.push_success(&serde_json::json!({
            "oldestBlock": "0x1",
            "baseFeePerGas": ["0x3b9aca00", "0x3b9aca00"],
            "gasUsedRatio": [0.5],
            "reward": [["0x1"]],
        }));
        a.push_success(&HASH);
        a
    }

    async fn send(a: &Asserter) -> Result<Mined, SendError> {
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_mocked_client(a.clone());
        let tx = TransactionRequest::default().with_to(Address::repeat_byte(0x22));
        send_bumping(&provider, FROM, tx, &quick(), |_, _| {}).await
    }

    #[tokio::test]
    async fn a_count_past_the_nonce_before_our_receipt_is_served_is_still_ours() {
        // Anvil under load counts the block's transactions before it serves their receipts: two
        // polls see the count at 6 and no receipt, the third finds ours. Before, the first such
        // poll called the nonce foreign and the relayer counted its own batch as someone else's.
        let a = sent_at_nonce_5();
        for _ in 0..2 {
            a.push_success(&serde_json::Value::Null);
            a.push_success(&"0x6");
        }
        a.push_success(&receipt());
        let mined = send(&a).await.expect("our receipt");
        assert_eq!(mined.receipt.transaction_hash.to_string(), HASH);
        assert!(mined.receipt.status());
    }

    #[tokio::test]
    async fn a_nonce_used_by_another_sender_is_reported_after_a_few_polls() {
        let a = sent_at_nonce_5();
        for _ in 0..NONCE_TAKEN_POLLS {
            a.push_success(&serde_json::Value::Null);
            a.push_success(&"0x6");
        }
        let err = send(&a).await.expect_err("not ours");
        assert!(
            matches!(err, SendError::NonceTaken { nonce: 5, .. }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_failed_poll_after_the_send_does_not_lose_the_transaction() {
        let a = sent_at_nonce_5();
        a.push_failure_msg("node busy");
        a.push_success(&serde_json::Value::Null);
        a.push_failure_msg("node busy");
        a.push_success(&receipt());
        let mined = send(&a).await.expect("our receipt");
        assert_eq!(mined.receipt.transaction_hash.to_string(), HASH);

        // A node that keeps failing is reported, not waited on for ever.
        let a = sent_at_nonce_5();
        for _ in 0..RPC_FAILURE_POLLS {
            a.push_failure_msg("node down");
        }
        let err = send(&a).await.expect_err("node down");
        assert!(matches!(err, SendError::Rpc { .. }), "{err}");
    }

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
