//! CheckTx: admission to this node's mempool. Only registered accounts, with a valid signature, the
//! next sequence (counting what they already have pending here) and under the per-account limit.
use std::collections::BTreeMap;

use seqpool_auth::AuthRead;
use seqpool_component::{codes, TxError};
use seqpool_store::Snapshot;

use crate::app::check_account;
use crate::tx::decode_tx;

#[derive(Default)]
pub struct MempoolState {
    snapshot: Option<Snapshot>,
    chain_id: String,
    /// Txs admitted since the last commit, per account.
    pending: BTreeMap<String, u64>,
}

/// What CheckTx answers for an admitted tx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub signer: String,
    pub sequence: u64,
}

impl MempoolState {
    /// After a commit: check against the new state; CometBFT rechecks what is left in the mempool.
    pub fn reset(&mut self, snapshot: Snapshot, chain_id: &str) {
        self.snapshot = Some(snapshot);
        self.chain_id = chain_id.to_string();
        self.pending.clear();
    }

    pub fn set_chain_id(&mut self, chain_id: &str) {
        self.chain_id = chain_id.to_string();
    }

    pub fn check(&mut self, bytes: &[u8]) -> Result<Admitted, TxError> {
        let snapshot = self
            .snapshot
            .as_ref()
            .ok_or_else(|| TxError::new(codes::INTERNAL, "the chain has not started yet"))?;
        let params = snapshot.auth_params()?;
        let tx = decode_tx(bytes, &params)?;
        let account = check_account(snapshot, &tx, &self.chain_id)?;
        let pending = self.pending.get(&tx.signer).copied().unwrap_or(0);
        let expected = account.sequence + pending;
        if tx.sequence < account.sequence {
            return Err(TxError::new(
                codes::SEQUENCE_REPLAYED,
                format!(
                    "sequence {} of {} was already used; the next is {}",
                    tx.sequence, tx.signer, expected
                ),
            ));
        }
        if tx.sequence < expected {
            return Err(TxError::new(
                codes::SEQUENCE_REPLAYED,
                format!(
                    "sequence {} of {} is taken by a pending tx; the next is {expected}",
                    tx.sequence, tx.signer
                ),
            ));
        }
        if tx.sequence > expected {
            return Err(TxError::new(
                codes::SEQUENCE_GAP,
                format!(
                    "sequence {} of {} is ahead; the next is {expected}",
                    tx.sequence, tx.signer
                ),
            ));
        }
        if pending >= params.max_pending_txs_per_account {
            return Err(TxError::new(
                codes::MEMPOOL_ACCOUNT_FULL,
                format!(
                    "{} already has {pending} txs pending (auth.max_pending_txs_per_account)",
                    tx.signer
                ),
            ));
        }
        self.pending.insert(tx.signer.clone(), pending + 1);
        Ok(Admitted {
            signer: tx.signer,
            sequence: tx.sequence,
        })
    }
}
