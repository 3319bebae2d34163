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

use seqpool_auth::AuthRead;
use seqpool_component::{codes, TxError};
use seqpool_store::Snapshot;

use crate::app::signer_account;
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
        if taken {
            return Err(TxError::new(
                codes::SEQUENCE_REPLAYED,
                format!(
                    "sequence {} of {} is taken by a pending tx; the next is {expected}",
                    tx.sequence, tx.signer
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

#[cfg(test)]
mod tests {
    use cosmrs::Any;
    use prost::{Message, Name};
    use seqpool_proto::admin::v1::MsgTransferAdmin;

    use super::*;
    use crate::driver::Driver;
    use crate::tx::sign_tx;

    fn transfer_admin(d: &Driver, sequence: u64) -> Vec<u8> {
        transfer_admin_with_memo(d, sequence, "")
    }

    /// The admin's MsgTransferAdmin; another memo makes another tx for the same sequence.
    fn transfer_admin_with_memo(d: &Driver, sequence: u64, memo: &str) -> Vec<u8> {
        let msg = MsgTransferAdmin {
            authority: d.admin_address(),
            new_admin: d.validators[0].operator(),
        };
        let any = Any {
            type_url: MsgTransferAdmin::type_url(),
            value: msg.encode_to_vec(),
        };
        sign_tx(&d.admin_key, &d.chain_id, 0, sequence, vec![any], memo)
    }

    fn latest(d: &Driver) -> Snapshot {
        d.nodes[0].app.storage().latest_snapshot()
    }

    /// A one-validator chain after its first block, and a mempool over that state.
    fn chain_at_height_1(dir: &std::path::Path) -> (Driver, MempoolState) {
        let mut d = Driver::new(dir, 1, 1).expect("driver");
        d.produce_block(vec![]).expect("block 1");
        let mut m = MempoolState::default();
        m.reset(latest(&d), &d.chain_id);
        (d, m)
    }

    fn tx_hash(bytes: &[u8]) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        Sha256::digest(bytes).into()
    }

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

    #[test]
    fn recheck_remembers_verified_signatures_for_two_commits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut d, mut m) = chain_at_height_1(dir.path());

        let tx0 = transfer_admin(&d, 0);
        let tx1 = transfer_admin(&d, 1);
        assert!(m.check(&tx0, CheckKind::New).is_ok());
        assert!(m.check(&tx1, CheckKind::New).is_ok());
        assert!(m.verified.contains_key(&tx_hash(&tx1)));

        // A block that includes neither: both are rechecked, found, and kept for the next block.
        m.reset(latest(&d), &d.chain_id);
        assert!(m.verified.is_empty());
        assert_eq!(m.check(&tx0, CheckKind::Recheck).map(|a| a.sequence), Ok(0));
        assert_eq!(m.check(&tx1, CheckKind::Recheck).map(|a| a.sequence), Ok(1));
        assert!(m.verified.contains_key(&tx_hash(&tx0)));

        // Recheck still applies the stateful rules: tx0 is replayed once a block has it.
        let applied = d.produce_block(vec![tx0.clone().into()]).expect("block 2");
        assert!(
            applied.tx_results[0].code.is_ok(),
            "{}",
            applied.tx_results[0].log
        );
        m.reset(latest(&d), &d.chain_id);
        assert_eq!(
            m.check(&tx0, CheckKind::Recheck).map_err(|e| e.code),
            Err(codes::SEQUENCE_REPLAYED)
        );
        assert!(m.check(&tx1, CheckKind::Recheck).is_ok());

        // Two commits without a recheck forget a tx.
        m.reset(latest(&d), &d.chain_id);
        m.reset(latest(&d), &d.chain_id);
        assert!(!m.verified.contains_key(&tx_hash(&tx1)));
        assert!(!m.verified_before.contains_key(&tx_hash(&tx1)));
    }

    #[test]
    fn recheck_of_an_unknown_tx_verifies_its_signature() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (d, mut m) = chain_at_height_1(dir.path());

        let mut raw =
            cosmrs::proto::cosmos::tx::v1beta1::TxRaw::decode(transfer_admin(&d, 0).as_slice())
                .expect("TxRaw");
        raw.signatures[0][5] ^= 1;
        let forged = raw.encode_to_vec();
        for kind in [CheckKind::Recheck, CheckKind::New, CheckKind::Recheck] {
            assert_eq!(
                m.check(&forged, kind).map_err(|e| e.code),
                Err(codes::INVALID_SIGNATURE)
            );
        }
        assert!(m.verified.is_empty());
    }

    fn sequence_of(m: &mut MempoolState, tx: &[u8], kind: CheckKind) -> Result<u64, u32> {
        m.check(tx, kind).map(|a| a.sequence).map_err(|e| e.code)
    }

    #[test]
    fn new_txs_between_rechecks_see_every_pending_sequence() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (d, mut m) = chain_at_height_1(dir.path());
        let txs: Vec<Vec<u8>> = (0..4).map(|s| transfer_admin(&d, s)).collect();
        for (s, tx) in txs.iter().take(3).enumerate() {
            assert_eq!(sequence_of(&mut m, tx, CheckKind::New), Ok(s as u64));
        }

        // A block without them; a new tx arrives before any recheck, then the rechecks come in
        // reverse order: all stay, and the new one is the next sequence, not "ahead".
        m.reset(latest(&d), &d.chain_id);
        assert_eq!(sequence_of(&mut m, &txs[3], CheckKind::New), Ok(3));
        for s in [2usize, 1, 0] {
            assert_eq!(
                sequence_of(&mut m, &txs[s], CheckKind::Recheck),
                Ok(s as u64)
            );
        }
        // A fifth is next after all four, and a gap is still refused.
        assert_eq!(
            sequence_of(&mut m, &transfer_admin(&d, 5), CheckKind::New),
            Err(codes::SEQUENCE_GAP)
        );
        assert_eq!(
            sequence_of(&mut m, &transfer_admin(&d, 4), CheckKind::New),
            Ok(4)
        );
    }

    #[test]
    fn recheck_after_a_commit_drops_only_used_sequences() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut d, mut m) = chain_at_height_1(dir.path());
        let txs: Vec<Vec<u8>> = (0..3).map(|s| transfer_admin(&d, s)).collect();
        for tx in &txs {
            assert!(m.check(tx, CheckKind::New).is_ok());
        }
        let applied = d
            .produce_block(vec![txs[0].clone().into()])
            .expect("block 2");
        assert!(applied.tx_results[0].code.is_ok());
        m.reset(latest(&d), &d.chain_id);
        // Rechecked last-first: tx2's predecessor is still pending from before the commit.
        assert_eq!(sequence_of(&mut m, &txs[2], CheckKind::Recheck), Ok(2));
        assert_eq!(
            sequence_of(&mut m, &txs[0], CheckKind::Recheck),
            Err(codes::SEQUENCE_REPLAYED)
        );
        assert_eq!(sequence_of(&mut m, &txs[1], CheckKind::Recheck), Ok(1));
        assert_eq!(
            sequence_of(&mut m, &transfer_admin(&d, 3), CheckKind::New),
            Ok(3)
        );
    }

    #[test]
    fn a_pending_sequence_is_taken_until_its_tx_is_gone_for_two_commits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (d, mut m) = chain_at_height_1(dir.path());
        let tx0 = transfer_admin(&d, 0);
        let tx1 = transfer_admin(&d, 1);
        let other0 = transfer_admin_with_memo(&d, 0, "other");
        assert_eq!(sequence_of(&mut m, &tx0, CheckKind::New), Ok(0));
        assert_eq!(sequence_of(&mut m, &tx1, CheckKind::New), Ok(1));
        // Neither the same bytes again nor another tx may take a pending sequence.
        assert_eq!(
            sequence_of(&mut m, &tx0, CheckKind::New),
            Err(codes::SEQUENCE_REPLAYED)
        );
        assert_eq!(
            sequence_of(&mut m, &other0, CheckKind::New),
            Err(codes::SEQUENCE_REPLAYED)
        );

        // tx0 left the mempool: only tx1 is rechecked. One commit later tx0 still counts...
        m.reset(latest(&d), &d.chain_id);
        assert_eq!(sequence_of(&mut m, &tx1, CheckKind::Recheck), Ok(1));
        assert_eq!(
            sequence_of(&mut m, &other0, CheckKind::New),
            Err(codes::SEQUENCE_REPLAYED)
        );
        // ...after two it is forgotten: tx1 now follows a gap, and sequence 0 is free again.
        m.reset(latest(&d), &d.chain_id);
        assert_eq!(
            sequence_of(&mut m, &tx1, CheckKind::Recheck),
            Err(codes::SEQUENCE_GAP)
        );
        assert_eq!(sequence_of(&mut m, &other0, CheckKind::New), Ok(0));
        // The failed recheck freed sequence 1 too: another tx may take it.
        assert_eq!(
            sequence_of(
                &mut m,
                &transfer_admin_with_memo(&d, 1, "other"),
                CheckKind::New
            ),
            Ok(1)
        );
    }
}
