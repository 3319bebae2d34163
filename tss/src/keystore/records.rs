use std::fmt;

use frost_secp256k1::round1::SigningCommitments;
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::ids::{hex_encode, KeyId};

/// The layout of keys in the keystore. Keys are public (they name, never contain, secrets).
pub(crate) enum RecordKey {
    KdfHeader,
    Check,
    /// This node's member identity (signer and encryption secret keys).
    Identity,
    Share(KeyId),
    Public(KeyId),
    Nonce(KeyId, [u8; 32]),
    Used(KeyId, [u8; 32]),
}

impl RecordKey {
    pub(crate) fn key_prefix(key_id: KeyId) -> Vec<u8> {
        let mut out = b"k/".to_vec();
        out.extend_from_slice(&key_id.0.to_be_bytes());
        out.push(b'/');
        out
    }

    pub(crate) fn nonce_prefix(key_id: KeyId) -> Vec<u8> {
        let mut out = Self::key_prefix(key_id);
        out.extend_from_slice(b"n/");
        out
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        match self {
            Self::KdfHeader => b"m/kdf".to_vec(),
            Self::Check => b"m/check".to_vec(),
            Self::Identity => b"m/identity".to_vec(),
            Self::Share(k) => [Self::key_prefix(*k), b"share".to_vec()].concat(),
            Self::Public(k) => [Self::key_prefix(*k), b"public".to_vec()].concat(),
            Self::Nonce(k, d) => [Self::nonce_prefix(*k), d.to_vec()].concat(),
            Self::Used(k, d) => [Self::key_prefix(*k), b"u/".to_vec(), d.to_vec()].concat(),
        }
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KdfHeader => write!(f, "kdf header"),
            Self::Check => write!(f, "passphrase check"),
            Self::Identity => write!(f, "member identity"),
            Self::Share(k) => write!(f, "{k} share"),
            Self::Public(k) => write!(f, "{k} public package"),
            Self::Nonce(k, d) => write!(f, "{k} nonce {}", hex_encode(&d[..8])),
            Self::Used(k, d) => write!(f, "{k} used-nonce marker {}", hex_encode(&d[..8])),
        }
    }
}

/// Names a nonce by its public commitment.
pub(crate) fn commitment_digest(commitments: &SigningCommitments) -> Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    hasher.update(commitments.hiding().serialize()?);
    hasher.update(commitments.binding().serialize()?);
    Ok(hasher.finalize().into())
}
