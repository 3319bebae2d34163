//! CheckTx: admission to this node's mempool. Only registered accounts, with a valid signature, the
//! next sequence (counting what they already have pending here) and under the per-account limit.
//!
//! After every block CometBFT rechecks each tx left in the mempool. A tx whose signature this node
//! already verified (same bytes, same account number) is not verified again then: everything else
//! (decoding under the current params, account, key, sequence, pending limit) is checked as for a
//! new tx. FinalizeBlock always verifies every signature.
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
    /// Txs admitted since the last commit, per account.
    pending: BTreeMap<String, u64>,
    /// Hashes of txs whose signature verified since the last commit, with the account number it
    /// verified for.
    verified: BTreeMap<[u8; 32], u64>,
    /// The same for the block before; entries move back to `verified` when rechecked, so a tx that
    /// left the mempool is forgotten after two commits.
    verified_before: BTreeMap<[u8; 32], u64>,
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
        self.pending.clear();
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
        if self.verified.len() < MAX_VERIFIED {
            self.verified.insert(tx.hash, account.account_number);
        }
        Ok(Admitted {
            signer: tx.signer,
            sequence: tx.sequence,
        })
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
        let msg = MsgTransferAdmin {
            authority: d.admin_address(),
            new_admin: d.validators[0].operator(),
        };
        let any = Any {
            type_url: MsgTransferAdmin::type_url(),
            value: msg.encode_to_vec(),
        };
        sign_tx(&d.admin_key, &d.chain_id, 0, sequence, vec![any], "")
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
}
