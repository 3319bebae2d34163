//! The transaction envelope: Cosmos SDK `TxRaw` / `SignDoc`, SIGN_MODE_DIRECT, one secp256k1 signer.
//!
//! [`decode_tx`] does every check that needs no state (size, structure, message decoding, the
//! signer of every message); [`verify_signature`] checks the signature against the account number and
//! chain-id; sequence and account checks are in `ante`.
use cosmrs::proto::cosmos::crypto::secp256k1::PubKey as ProtoSecp256k1PubKey;
use cosmrs::proto::cosmos::tx::signing::v1beta1::SignMode;
use cosmrs::proto::cosmos::tx::v1beta1::{
    mode_info, AuthInfo, ModeInfo, SignDoc, SignerInfo, TxBody, TxRaw,
};
use cosmrs::Any;
use k256::ecdsa::signature::Signer;
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use prost::Message;
use seqpool_component::{address, codes, TxError};
use seqpool_proto::auth::v1::{Params as AuthParams, TxChainId};
use sha2::{Digest, Sha256};

use crate::msgs::Msg;

pub mod ecdsa;

pub const SECP256K1_PUBKEY_TYPE_URL: &str = "/cosmos.crypto.secp256k1.PubKey";
pub const TX_CHAIN_ID_TYPE_URL: &str = "/seqpool.auth.v1.TxChainId";

/// A tx that passed every stateless check.
#[derive(Debug, Clone)]
pub struct ParsedTx {
    /// SHA-256 of the raw bytes: CometBFT's tx hash.
    pub hash: [u8; 32],
    pub signer: String,
    pub pub_key: Vec<u8>,
    pub sequence: u64,
    pub timeout_height: u64,
    pub chain_id_hint: Option<String>,
    pub msgs: Vec<Msg>,
    body_bytes: Vec<u8>,
    auth_info_bytes: Vec<u8>,
    signature: Vec<u8>,
}

fn err(code: u32, message: impl Into<String>) -> TxError {
    TxError::new(code, message)
}

/// Decodes and checks a tx without state.
pub fn decode_tx(bytes: &[u8], params: &AuthParams) -> Result<ParsedTx, TxError> {
    if bytes.len() as u64 > params.max_tx_bytes {
        return Err(err(
            codes::TX_TOO_LARGE,
            format!(
                "tx is {} bytes, the limit is {} (auth.max_tx_bytes)",
                bytes.len(),
                params.max_tx_bytes
            ),
        ));
    }
    if bytes.first() == Some(&0) {
        return Err(err(
            codes::RESERVED_TX,
            "bytes starting with 0x00 are reserved for block data",
        ));
    }
    let raw = TxRaw::decode(bytes).map_err(|e| {
        err(
            codes::TX_DECODE,
            format!("not a cosmos.tx.v1beta1.TxRaw: {e}"),
        )
    })?;
    let body = TxBody::decode(raw.body_bytes.as_slice())
        .map_err(|e| err(codes::TX_DECODE, format!("tx body does not decode: {e}")))?;
    let auth_info = AuthInfo::decode(raw.auth_info_bytes.as_slice()).map_err(|e| {
        err(
            codes::TX_DECODE,
            format!("tx auth_info does not decode: {e}"),
        )
    })?;

    if body.messages.is_empty() {
        return Err(err(codes::INVALID_TX, "tx has no messages"));
    }
    if body.messages.len() as u64 > params.max_msgs_per_tx {
        return Err(err(
            codes::INVALID_TX,
            format!(
                "tx has {} messages, the limit is {} (auth.max_msgs_per_tx)",
                body.messages.len(),
                params.max_msgs_per_tx
            ),
        ));
    }
    if body.memo.chars().count() as u64 > params.max_memo_chars {
        return Err(err(
            codes::INVALID_TX,
            format!("memo is longer than {} characters", params.max_memo_chars),
        ));
    }
    if let Some(opt) = body.extension_options.first() {
        return Err(err(
            codes::INVALID_TX,
            format!("unsupported critical extension option {}", opt.type_url),
        ));
    }
    let mut chain_id_hint = None;
    for opt in &body.non_critical_extension_options {
        if opt.type_url == TX_CHAIN_ID_TYPE_URL {
            let hint = TxChainId::decode(opt.value.as_slice()).map_err(|e| {
                err(
                    codes::TX_DECODE,
                    format!("TxChainId option does not decode: {e}"),
                )
            })?;
            chain_id_hint = Some(hint.chain_id);
        }
    }

    let [signer_info] = auth_info.signer_infos.as_slice() else {
        return Err(err(
            codes::INVALID_TX,
            format!(
                "tx must have exactly one signer, it has {}",
                auth_info.signer_infos.len()
            ),
        ));
    };
    let [signature] = raw.signatures.as_slice() else {
        return Err(err(
            codes::INVALID_TX,
            format!(
                "tx must carry exactly one signature, it has {}",
                raw.signatures.len()
            ),
        ));
    };
    match signer_info.mode_info.as_ref().and_then(|m| m.sum.as_ref()) {
        Some(mode_info::Sum::Single(single)) if single.mode == SignMode::Direct as i32 => {}
        _ => {
            return Err(err(
                codes::INVALID_TX,
                "only SIGN_MODE_DIRECT with a single signer is supported",
            ))
        }
    }
    let pk_any = signer_info
        .public_key
        .as_ref()
        .ok_or_else(|| err(codes::INVALID_TX, "signer_info has no public key"))?;
    if pk_any.type_url != SECP256K1_PUBKEY_TYPE_URL {
        return Err(err(
            codes::INVALID_TX,
            format!(
                "public key type {} is not supported, use {SECP256K1_PUBKEY_TYPE_URL}",
                pk_any.type_url
            ),
        ));
    }
    let pub_key = ProtoSecp256k1PubKey::decode(pk_any.value.as_slice())
        .map_err(|e| err(codes::TX_DECODE, format!("public key does not decode: {e}")))?
        .key;
    // A key already prepared for verification is a valid point; skip decompressing it again.
    let valid_point =
        || ecdsa::is_prepared(&pub_key) || VerifyingKey::from_sec1_bytes(&pub_key).is_ok();
    if pub_key.len() != 33 || !valid_point() {
        return Err(err(
            codes::INVALID_TX,
            "public key is not a valid compressed secp256k1 key",
        ));
    }
    let signer = address::account_address(&pub_key);

    let mut msgs = Vec::with_capacity(body.messages.len());
    for (i, any) in body.messages.iter().enumerate() {
        let msg = Msg::decode(any)
            .map_err(|e| TxError::new(e.code, format!("message {i}: {}", e.message)))?;
        if msg.signer() != signer {
            return Err(err(
                codes::UNAUTHORIZED,
                format!(
                    "message {i} must be signed by {}, but the tx is signed by {signer}",
                    msg.signer()
                ),
            ));
        }
        msgs.push(msg);
    }

    Ok(ParsedTx {
        hash: Sha256::digest(bytes).into(),
        signer,
        pub_key,
        sequence: signer_info.sequence,
        timeout_height: body.timeout_height,
        chain_id_hint,
        msgs,
        signature: signature.clone(),
        body_bytes: raw.body_bytes,
        auth_info_bytes: raw.auth_info_bytes,
    })
}

/// The bytes a signer signs: the SignDoc for this chain and account number, encoded as prost
/// encodes `SignDoc` (fields in order, empty ones left out) without copying the parts first.
fn sign_doc_bytes(
    body_bytes: &[u8],
    auth_info_bytes: &[u8],
    chain_id: &str,
    account_number: u64,
) -> Vec<u8> {
    use prost::encoding::{encode_key, encode_varint, WireType};
    let mut out =
        Vec::with_capacity(body_bytes.len() + auth_info_bytes.len() + chain_id.len() + 32);
    for (tag, part) in [
        (1, body_bytes),
        (2, auth_info_bytes),
        (3, chain_id.as_bytes()),
    ] {
        if !part.is_empty() {
            encode_key(tag, WireType::LengthDelimited, &mut out);
            encode_varint(part.len() as u64, &mut out);
            out.extend_from_slice(part);
        }
    }
    if account_number != 0 {
        encode_key(4, WireType::Varint, &mut out);
        encode_varint(account_number, &mut out);
    }
    out
}

/// Checks the chain-id hint and the signature over the SignDoc.
pub fn verify_signature(tx: &ParsedTx, chain_id: &str, account_number: u64) -> Result<(), TxError> {
    if let Some(hint) = &tx.chain_id_hint {
        if hint != chain_id {
            return Err(err(
                codes::WRONG_CHAIN_ID,
                format!("tx was signed for chain-id {hint:?}, this chain is {chain_id:?}"),
            ));
        }
    }
    let bad_sig = || {
        err(
            codes::INVALID_SIGNATURE,
            format!("signature does not verify for {} (account number {account_number}, chain-id {chain_id:?})", tx.signer),
        )
    };
    let sig = Signature::from_slice(&tx.signature).map_err(|_| bad_sig())?;
    if sig.normalize_s().is_some() {
        return Err(err(
            codes::INVALID_SIGNATURE,
            "signature is not in low-S form",
        ));
    }
    let doc = sign_doc_bytes(
        &tx.body_bytes,
        &tx.auth_info_bytes,
        chain_id,
        account_number,
    );
    let key = ecdsa::prepared_key(&tx.pub_key).ok_or_else(bad_sig)?;
    if key.verify(&doc, &sig) {
        Ok(())
    } else {
        Err(bad_sig())
    }
}

/// Builds and signs a tx: the Cosmos SDK envelope with SIGN_MODE_DIRECT and the chain-id hint.
pub fn sign_tx(
    key: &SigningKey,
    chain_id: &str,
    account_number: u64,
    sequence: u64,
    msgs: Vec<Any>,
    memo: &str,
) -> Vec<u8> {
    sign_tx_with(key, chain_id, account_number, sequence, msgs, memo, 0)
}

/// [`sign_tx`] with a timeout height (0 = none).
pub fn sign_tx_with(
    key: &SigningKey,
    chain_id: &str,
    account_number: u64,
    sequence: u64,
    msgs: Vec<Any>,
    memo: &str,
    timeout_height: u64,
) -> Vec<u8> {
    let body = TxBody {
        messages: msgs,
        memo: memo.to_string(),
        timeout_height,
        extension_options: vec![],
        non_critical_extension_options: vec![Any {
            type_url: TX_CHAIN_ID_TYPE_URL.into(),
            value: TxChainId {
                chain_id: chain_id.to_string(),
            }
            .encode_to_vec(),
        }],
    };
    let pub_key = key
        .verifying_key()
        .to_encoded_point(true)
        .as_bytes()
        .to_vec();
    #[allow(deprecated)]
    let auth_info = AuthInfo {
        signer_infos: vec![SignerInfo {
            public_key: Some(Any {
                type_url: SECP256K1_PUBKEY_TYPE_URL.into(),
                value: ProtoSecp256k1PubKey { key: pub_key }.encode_to_vec(),
            }),
            mode_info: Some(ModeInfo {
                sum: Some(mode_info::Sum::Single(mode_info::Single {
                    mode: SignMode::Direct as i32,
                })),
            }),
            sequence,
        }],
        fee: Some(Default::default()),
        tip: None,
    };
    let body_bytes = body.encode_to_vec();
    let auth_info_bytes = auth_info.encode_to_vec();
    let doc = SignDoc {
        body_bytes: body_bytes.clone(),
        auth_info_bytes: auth_info_bytes.clone(),
        chain_id: chain_id.to_string(),
        account_number,
    }
    .encode_to_vec();
    let sig: Signature = key.sign(&doc);
    TxRaw {
        body_bytes,
        auth_info_bytes,
        signatures: vec![sig.to_bytes().to_vec()],
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_doc_bytes_match_prost_encoding() {
        for (body, auth, chain, number) in [
            (&b"body"[..], &b"auth"[..], "seqpool-1", 7u64),
            (&b""[..], &b"auth"[..], "", 0),
            (&[1u8; 300][..], &[2u8; 130][..], "c", u64::MAX),
        ] {
            let expected = SignDoc {
                body_bytes: body.to_vec(),
                auth_info_bytes: auth.to_vec(),
                chain_id: chain.to_string(),
                account_number: number,
            }
            .encode_to_vec();
            assert_eq!(sign_doc_bytes(body, auth, chain, number), expected);
        }
    }
}
