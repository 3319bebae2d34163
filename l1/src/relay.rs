//! Relaying group-signed batches to BatchInbox. Any validator may relay; the inbox accepts each
//! batch once, so a relayer that loses the race gets `AlreadyAppended`, not an error.

use alloy::primitives::TxHash;
use alloy::providers::Provider;

use crate::bindings::BatchInbox;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayOutcome {
    /// Our transaction appended the batch.
    Appended { tx: TxHash, gas_used: u64 },
    /// The batch was already on L1 (another relayer was first).
    AlreadyAppended,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("batch {batch_index}: the inbox expects batch {expected} next")]
    IndexGap { batch_index: u64, expected: u64 },
    #[error("batch {batch_index}: the group signature does not verify on L1")]
    InvalidSignature { batch_index: u64 },
    #[error("batch {batch_index}: L2 range rejected by the inbox: {reason}")]
    InvalidRange { batch_index: u64, reason: String },
    #[error("batch {batch_index}: {source}")]
    Contract {
        batch_index: u64,
        #[source]
        source: Box<alloy::contract::Error>,
    },
    #[error("batch {batch_index}: waiting for the receipt: {source}")]
    Pending {
        batch_index: u64,
        #[source]
        source: Box<alloy::providers::PendingTransactionError>,
    },
    #[error("batch {batch_index}: transaction {tx} reverted")]
    Reverted { batch_index: u64, tx: TxHash },
}

/// Simulates, then sends `appendBatch`, mapping the inbox's custom errors to outcomes.
/// The simulation answers "already appended" without spending gas on a doomed transaction.
pub async fn relay_batch<P: Provider>(
    inbox: &BatchInbox::BatchInboxInstance<P>,
    header: BatchInbox::BatchHeader,
    signature: BatchInbox::FrostSignature,
) -> Result<RelayOutcome, RelayError> {
    let batch_index = header.batchIndex;
    let call = inbox.appendBatch(header, signature);
    if let Err(err) = call.call().await {
        return classify(batch_index, err);
    }
    let pending = match call.send().await {
        Ok(pending) => pending,
        Err(err) => return classify(batch_index, err),
    };
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|source| RelayError::Pending {
            batch_index,
            source: Box::new(source),
        })?;
    if !receipt.status() {
        // Lost a race between simulation and inclusion: confirm before calling it a failure.
        if let Ok(true) = inbox.isAppended(batch_index).call().await {
            return Ok(RelayOutcome::AlreadyAppended);
        }
        return Err(RelayError::Reverted {
            batch_index,
            tx: receipt.transaction_hash,
        });
    }
    Ok(RelayOutcome::Appended {
        tx: receipt.transaction_hash,
        gas_used: receipt.gas_used,
    })
}

fn classify(batch_index: u64, err: alloy::contract::Error) -> Result<RelayOutcome, RelayError> {
    use BatchInbox::BatchInboxErrors as E;
    match err.as_decoded_interface_error::<E>() {
        Some(E::BatchAlreadyAppended(_)) => Ok(RelayOutcome::AlreadyAppended),
        Some(E::BatchIndexGap(gap)) => Err(RelayError::IndexGap {
            batch_index,
            expected: gap.expected,
        }),
        Some(E::InvalidGroupSignature(_)) => Err(RelayError::InvalidSignature { batch_index }),
        Some(E::L2RangeNotContiguous(e)) => Err(RelayError::InvalidRange {
            batch_index,
            reason: format!("expected start {}, got {}", e.expectedStart, e.gotStart),
        }),
        Some(E::InvalidL2Range(e)) => Err(RelayError::InvalidRange {
            batch_index,
            reason: format!("end {} before start {}", e.end, e.start),
        }),
        None => Err(RelayError::Contract {
            batch_index,
            source: Box::new(err),
        }),
    }
}
