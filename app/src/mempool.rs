//! CheckTx: admission to this node's mempool. Only registered accounts, with a valid signature, the
//! next sequence (counting what they already have pending here) and under the per-account limit.
//!
//! Pending txs are kept per account as the set of admitted sequences (with the tx hash), not as a
//! count rebuilt by recheck: CometBFT's rechecks after a commit and new CheckTx calls may arrive in
//! any interleaving (mempool calls are answered concurrently; `recheck_timeout` lets new calls in
//! before every recheck is answered), and a count rebuilt in that order came out too low ("sequence
//! ahead") and dropped admitted txs on recheck. A sequence below the account's committed one is
//! trimmed when the account is next checked. An entry is live while its tx was admitted or rechecked
//! in this commit interval or the one before, so a tx that left the mempool frees its sequence after
//! two commits whatever the order of the rechecks.
//!
//! After every block CometBFT rechecks each tx left in the mempool. A tx whose signature this node
//! already verified (same bytes, same account number) is not verified again then: decoding under the
//! current params, account and key are checked as for a new tx; the sequence only has to be unused
//! (not below the committed one, not taken by another pending tx) and follow a live pending sequence
//! or the committed one. FinalizeBlock always verifies every signature.
use std::collections::BTreeMap;
use std::sync::Mutex;

use seqpool_auth::AuthRead;
use seqpool_component::{codes, TxError};
use seqpool_store::Snapshot;
use tendermint::abci::{request, response, Code};

use crate::ante::signer_account;
use crate::tx::{decode_tx, verify_signature};

/// Above this many remembered signatures, new ones are not remembered (a recheck then verifies
/// again); it is well above any mempool size we configure.
const MAX_VERIFIED: usize = 200_000;

#[derive(Default)]
pub struct MempoolState {
    snapshot: Option<Snapshot>,
    chain_id: String,
    /// Admitted sequences per account, with the tx and the commit interval it was last checked in.
    pending: BTreeMap<String, BTreeMap<u64, PendingTx>>,
    /// Commits seen; numbers the commit intervals of [`PendingTx::checked_in`].
    commits: u64,
    /// Hashes of txs whose signature verified since the last commit, with the account number it
    /// verified for.
    verified: BTreeMap<[u8; 32], u64>,
    /// The same for the block before; entries move back to `verified` when rechecked, so a tx that
    /// left the mempool is forgotten after two commits.
    verified_before: BTreeMap<[u8; 32], u64>,
}

/// One admitted tx of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PendingTx {
    hash: [u8; 32],
    /// Value of `commits` when it was last admitted or rechecked.
    checked_in: u64,
}

/// Whether CometBFT sends a tx for the first time or rechecks it after a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    New,
    Recheck,
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
        self.commits += 1;
        // Forget txs neither admitted nor rechecked in the last two intervals (left the mempool).
        let oldest_live = self.commits.saturating_sub(1);
        self.pending.retain(|_, txs| {
            txs.retain(|_, tx| tx.checked_in >= oldest_live);
            !txs.is_empty()
        });
        self.verified_before = std::mem::take(&mut self.verified);
    }

    /// Whether the signature of the tx with this hash verified since the last commit.
    pub fn verified_since_commit(&self, hash: &[u8; 32]) -> bool {
        self.verified.contains_key(hash)
    }

    /// Whether the signature of the tx with this hash is remembered (verified since the commit
    /// before the last), so a recheck skips it.
    pub fn remembers_signature(&self, hash: &[u8; 32]) -> bool {
        self.verified.contains_key(hash) || self.verified_before.contains_key(hash)
    }

    /// How many signatures verified since the last commit are remembered.
    pub fn verified_count_since_commit(&self) -> usize {
        self.verified.len()
    }

    pub fn set_chain_id(&mut self, chain_id: &str) {
        self.chain_id = chain_id.to_string();
    }

    pub fn check(&mut self, bytes: &[u8], kind: CheckKind) -> Result<Admitted, TxError> {
        let snapshot = self
            .snapshot
            .as_ref()
            .ok_or_else(|| TxError::new(codes::INTERNAL, "the chain has not started yet"))?;
        let params = snapshot.auth_params()?;
        let tx = decode_tx(bytes, &params)?;
        let account = signer_account(snapshot, &tx)?;
        let remembered = match kind {
            CheckKind::New => None,
            CheckKind::Recheck => self
                .verified
                .get(&tx.hash)
                .or_else(|| self.verified_before.get(&tx.hash))
                .copied(),
        };
        if remembered != Some(account.account_number) {
            verify_signature(&tx, &self.chain_id, account.account_number)?;
        }
        let committed = account.sequence;
        let txs = self.pending.entry(tx.signer.clone()).or_default();
        // Sequences below the committed one are used: drop them.
        *txs = txs.split_off(&committed);
        let expected = next_free_sequence(txs, committed);
        let taken_by = txs.get(&tx.sequence).map(|p| p.hash);
        if tx.sequence < committed {
            return Err(TxError::new(
                codes::SEQUENCE_REPLAYED,
                format!(
                    "sequence {} of {} was already used; the next is {}",
                    tx.sequence, tx.signer, expected
                ),
            ));
        }
        // A new tx never takes a pending sequence, not even the same bytes again: CometBFT would
        // append a second copy behind the account's later txs (its tx cache is an LRU, so peers'
        // copies do come back), and a block with them out of order fails them all.
        let taken = match kind {
            CheckKind::New => taken_by.is_some(),
            CheckKind::Recheck => taken_by.is_some_and(|hash| hash != tx.hash),
        };
        if let (true, Some(pending)) = (taken, taken_by) {
            // The pending tx's hash lets a client tell its own earlier tx (the same bytes again)
            // from another process's.
            return Err(TxError::new(
                codes::SEQUENCE_REPLAYED,
                format!(
                    "sequence {} of {} is taken by pending tx {}; the next is {expected}",
                    tx.sequence,
                    tx.signer,
                    hex::encode_upper(pending)
                ),
            ));
        }
        // A recheck keeps a tx whose predecessor is still pending, in whatever order they come.
        let follows = tx.sequence == committed
            || tx
                .sequence
                .checked_sub(1)
                .is_some_and(|before| txs.contains_key(&before));
        let ahead = match kind {
            CheckKind::New => tx.sequence > expected,
            CheckKind::Recheck => !follows,
        };
        if ahead {
            if kind == CheckKind::Recheck && taken_by.is_some() {
                // CometBFT drops it now: free its sequence at once.
                txs.remove(&tx.sequence);
            }
            return Err(TxError::new(
                codes::SEQUENCE_GAP,
                format!(
                    "sequence {} of {} is ahead; the next is {expected}",
                    tx.sequence, tx.signer
                ),
            ));
        }
        // Only a new sequence counts against the limit; a rechecked tx keeps its place.
        let pending = txs.len() as u64;
        if taken_by.is_none() && pending >= params.max_pending_txs_per_account {
            return Err(TxError::new(
                codes::MEMPOOL_ACCOUNT_FULL,
                format!(
                    "{} already has {pending} txs pending (auth.max_pending_txs_per_account)",
                    tx.signer
                ),
            ));
        }
        txs.insert(
            tx.sequence,
            PendingTx {
                hash: tx.hash,
                checked_in: self.commits,
            },
        );
        if self.verified.len() < MAX_VERIFIED {
            self.verified.insert(tx.hash, account.account_number);
        }
        Ok(Admitted {
            signer: tx.signer,
            sequence: tx.sequence,
        })
    }
}

/// The next free sequence: the committed one plus the run of pending ones after it. `txs` holds
/// distinct sequences, none below `committed`, so when the last is `committed + len - 1` they are
/// exactly that run; only a map with a gap (a recheck dropped a tx in the middle) is walked. The
/// walk on every check made admitting an account's n-th pending tx O(n).
fn next_free_sequence(txs: &BTreeMap<u64, PendingTx>, committed: u64) -> u64 {
    let len = txs.len() as u64;
    match txs.last_key_value() {
        None => committed,
        Some((&last, _)) if last.checked_sub(committed) == Some(len - 1) => {
            committed.saturating_add(len)
        }
        Some(_) => {
            let mut expected = committed;
            while txs.contains_key(&expected) && expected < u64::MAX {
                expected += 1;
            }
            expected
        }
    }
}

/// CheckTx as CometBFT's mempool connection asks it: the verdict of [`MempoolState::check`] as
/// an ABCI answer (an error code and message for a refused tx, never a failure of the call).
pub fn check_tx(state: &Mutex<MempoolState>, req: &request::CheckTx) -> response::CheckTx {
    let kind = match req.kind {
        request::CheckTxKind::New => CheckKind::New,
        request::CheckTxKind::Recheck => CheckKind::Recheck,
    };
    let result = match state.lock() {
        Ok(mut m) => m.check(&req.tx, kind),
        Err(_) => Err(TxError::internal("mempool state lock poisoned")),
    };
    match result {
        Ok(admitted) => response::CheckTx {
            code: Code::Ok,
            sender: admitted.signer,
            ..Default::default()
        },
        Err(e) => response::CheckTx {
            code: Code::from(e.code),
            log: e.message,
            codespace: codes::CODESPACE.into(),
            ..Default::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_free_sequence_follows_the_run_and_stops_at_a_gap() {
        let pending = |seqs: &[u64]| -> BTreeMap<u64, PendingTx> {
            seqs.iter()
                .map(|&s| {
                    let tx = PendingTx {
                        hash: [0; 32],
                        checked_in: 0,
                    };
                    (s, tx)
                })
                .collect()
        };
        assert_eq!(next_free_sequence(&pending(&[]), 7), 7);
        assert_eq!(next_free_sequence(&pending(&[7, 8, 9]), 7), 10);
        // A gap after the committed sequence, or before the run.
        assert_eq!(next_free_sequence(&pending(&[7, 9, 10]), 7), 8);
        assert_eq!(next_free_sequence(&pending(&[8, 9]), 7), 7);
        assert_eq!(
            next_free_sequence(&pending(&[u64::MAX]), u64::MAX),
            u64::MAX
        );
    }
}
