//! Encryption of one secret scalar to one recipient: a fresh ephemeral key E = eG, the ECDH point
//! S = e * P_recipient, HKDF-SHA256 over S bound to the session context, ChaCha20-Poly1305.
//! The key is fresh for every message, so the AEAD nonce can be fixed.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use frost_secp256k1::Identifier;
use hkdf::Hkdf;
use k256::elliptic_curve::Field;
use k256::{ProjectivePoint, PublicKey, Scalar, SecretKey};
use rand_core::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::{point_from_bytes, point_to_bytes, scalar_from_bytes, scalar_to_bytes};
use crate::ids::{KeyId, SessionId};

const SALT: &[u8] = b"seqpool.tss.v1.ecies";

/// What a ciphertext is bound to: decrypting it under any other context fails.
#[derive(Clone, Copy, Debug)]
pub struct ShareContext<'a> {
    pub purpose: &'a [u8],
    pub key_id: KeyId,
    pub session_id: SessionId,
    pub sender: &'a Identifier,
    pub recipient: &'a Identifier,
}

impl ShareContext<'_> {
    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.purpose.len() + 96);
        out.extend_from_slice(&(self.purpose.len() as u32).to_be_bytes());
        out.extend_from_slice(self.purpose);
        out.extend_from_slice(&self.key_id.0.to_be_bytes());
        out.extend_from_slice(&self.session_id.0.to_be_bytes());
        out.extend_from_slice(&self.sender.serialize());
        out.extend_from_slice(&self.recipient.serialize());
        out
    }
}

fn cipher_for(
    shared: &ProjectivePoint,
    ephemeral: &[u8; 33],
    recipient: &[u8; 33],
    context: &[u8],
) -> ChaCha20Poly1305 {
    let ikm = Zeroizing::new(point_to_bytes(shared));
    let hk = Hkdf::<Sha256>::new(Some(SALT), ikm.as_slice());
    let mut info = Vec::with_capacity(66 + context.len());
    info.extend_from_slice(ephemeral);
    info.extend_from_slice(recipient);
    info.extend_from_slice(context);
    let mut key = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's output limit, so expand cannot fail.
    let _ = hk.expand(&info, key.as_mut_slice());
    ChaCha20Poly1305::new(&Key::from(*key))
}

/// Encrypts `secret` to `recipient`. Returns (ephemeral public key, ciphertext).
pub fn encrypt_scalar<R: RngCore + CryptoRng>(
    rng: &mut R,
    recipient: &PublicKey,
    context: &ShareContext<'_>,
    secret: &Scalar,
) -> ([u8; 33], Vec<u8>) {
    let mut e = Scalar::random(&mut *rng);
    while bool::from(e.is_zero()) {
        e = Scalar::random(&mut *rng);
    }
    let ephemeral = point_to_bytes(&(ProjectivePoint::GENERATOR * e));
    let recipient_point = recipient.to_projective();
    let shared = recipient_point * e;
    e.zeroize();
    let recipient_bytes = point_to_bytes(&recipient_point);
    let ctx = context.bytes();
    let cipher = cipher_for(&shared, &ephemeral, &recipient_bytes, &ctx);
    let plaintext = Zeroizing::new(scalar_to_bytes(secret));
    let ciphertext = cipher
        .encrypt(
            &Nonce::from([0u8; 12]),
            Payload {
                msg: plaintext.as_slice(),
                aad: &ctx,
            },
        )
        // ChaCha20-Poly1305 only fails on inputs above 256 GiB.
        .unwrap_or_default();
    (ephemeral, ciphertext)
}

/// Why a ciphertext could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// The ephemeral key is not a valid point: the sender's fault.
    BadEphemeral,
    /// Authentication failed or the plaintext is not a scalar: provable with the shared point.
    BadCiphertext,
}

/// The ECDH point a recipient shares with an ephemeral key.
pub fn shared_point(secret: &SecretKey, ephemeral: &[u8]) -> Result<ProjectivePoint, OpenError> {
    let e = point_from_bytes(ephemeral).ok_or(OpenError::BadEphemeral)?;
    Ok(e * *secret.to_nonzero_scalar())
}

/// Decrypts with a known shared point (the recipient's own, or one revealed in a complaint).
pub fn open_with_shared(
    shared: &ProjectivePoint,
    ephemeral: &[u8],
    recipient: &PublicKey,
    context: &ShareContext<'_>,
    ciphertext: &[u8],
) -> Result<Scalar, OpenError> {
    let ephemeral: [u8; 33] = ephemeral.try_into().map_err(|_| OpenError::BadEphemeral)?;
    let recipient_bytes = point_to_bytes(&recipient.to_projective());
    let ctx = context.bytes();
    let cipher = cipher_for(shared, &ephemeral, &recipient_bytes, &ctx);
    let plaintext = Zeroizing::new(
        cipher
            .decrypt(
                &Nonce::from([0u8; 12]),
                Payload {
                    msg: ciphertext,
                    aad: &ctx,
                },
            )
            .map_err(|_| OpenError::BadCiphertext)?,
    );
    scalar_from_bytes(&plaintext).ok_or(OpenError::BadCiphertext)
}

/// Decrypts a share addressed to the holder of `secret`.
pub fn decrypt_scalar(
    secret: &SecretKey,
    ephemeral: &[u8],
    context: &ShareContext<'_>,
    ciphertext: &[u8],
) -> Result<Scalar, OpenError> {
    let shared = shared_point(secret, ephemeral)?;
    open_with_shared(
        &shared,
        ephemeral,
        &secret.public_key(),
        context,
        ciphertext,
    )
}
