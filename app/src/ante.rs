//! The ante checks of a tx, before its messages run: the signer's account, key and signature, the
//! timeout height and the sequence. CheckTx (the mempool) and FinalizeBlock both use them.
use seqpool_auth::{AuthRead, AuthWrite};
use seqpool_component::{codes, BlockContext, StateRead, StateWrite, TxError};

use crate::tx::{verify_signature, ParsedTx};

/// Account, signature, timeout and sequence checks of a tx in a block; bumps the sequence.
pub fn ante<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    tx: &ParsedTx,
) -> Result<(), TxError> {
    if tx.timeout_height != 0 && ctx.height > tx.timeout_height {
        return Err(TxError::new(
            codes::TX_TIMEOUT,
            format!(
                "tx timed out at height {}, block is {}",
                tx.timeout_height, ctx.height
            ),
        ));
    }
    let mut account = check_account(state, tx, &ctx.chain_id)?;
    if tx.sequence < account.sequence {
        return Err(TxError::new(
            codes::SEQUENCE_REPLAYED,
            format!(
                "sequence {} of {} was already used; the next is {}",
                tx.sequence, tx.signer, account.sequence
            ),
        ));
    }
    if tx.sequence > account.sequence {
        return Err(TxError::new(
            codes::SEQUENCE_GAP,
            format!(
                "sequence {} of {} is ahead; the next is {}",
                tx.sequence, tx.signer, account.sequence
            ),
        ));
    }
    account.sequence += 1;
    if account.pub_key.is_empty() {
        account.pub_key = tx.pub_key.clone();
    }
    state.put_account(&account);
    Ok(())
}

/// The signer's account, checked against the tx's key and signature.
pub fn check_account<S: StateRead>(
    state: &S,
    tx: &ParsedTx,
    chain_id: &str,
) -> Result<seqpool_auth::Account, TxError> {
    let account = signer_account(state, tx)?;
    verify_signature(tx, chain_id, account.account_number)?;
    Ok(account)
}

/// The signer's account, checked against the tx's key (not its signature).
pub fn signer_account<S: StateRead>(
    state: &S,
    tx: &ParsedTx,
) -> Result<seqpool_auth::Account, TxError> {
    let account = state.account(&tx.signer)?.ok_or_else(|| {
        TxError::new(
            codes::UNKNOWN_ACCOUNT,
            format!("{} is not a registered account", tx.signer),
        )
    })?;
    if !account.pub_key.is_empty() && account.pub_key != tx.pub_key {
        return Err(TxError::new(
            codes::INVALID_SIGNATURE,
            format!("the tx's public key is not the key of {}", tx.signer),
        ));
    }
    Ok(account)
}
