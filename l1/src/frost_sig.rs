//! Conversions between frost-secp256k1 values and the affine form the Solidity verifier takes,
//! plus threshold signing with key packages held in one process (tests, vector generation).

use std::collections::BTreeMap;

use frost_secp256k1 as frost;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::elliptic_curve::PrimeField;
use rand_core::{CryptoRng, RngCore};

/// secp256k1 group order n, big-endian.
const ORDER_N: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
];

#[derive(Debug, thiserror::Error)]
pub enum FrostSigError {
    #[error("{what} is not a valid compressed secp256k1 point ({len} bytes)")]
    InvalidPoint { what: &'static str, len: usize },
    #[error("signature must be 65 bytes (R compressed || z), got {0}")]
    SignatureLength(usize),
    #[error("signature scalar z is not below the group order")]
    ScalarOutOfRange,
    #[error("group key x coordinate is not below the group order; the L1 verifier cannot use this key, rerun the DKG")]
    GroupKeyXNotBelowOrder,
    #[error("frost: {0}")]
    Frost(#[from] frost::Error),
}

/// An affine secp256k1 point as two big-endian 32-byte coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AffinePoint {
    pub x: [u8; 32],
    pub y: [u8; 32],
}

/// A FROST signature in the layout of the Solidity `FrostSignature` struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AffineSignature {
    pub r: AffinePoint,
    pub z: [u8; 32],
}

/// Decompresses a 33-byte SEC1 point.
pub fn decompress(what: &'static str, compressed: &[u8]) -> Result<AffinePoint, FrostSigError> {
    let invalid = || FrostSigError::InvalidPoint {
        what,
        len: compressed.len(),
    };
    if compressed.len() != 33 {
        return Err(invalid());
    }
    let point = k256::PublicKey::from_sec1_bytes(compressed).map_err(|_| invalid())?;
    let encoded = point.to_encoded_point(false);
    let (Some(x), Some(y)) = (encoded.x(), encoded.y()) else {
        return Err(invalid());
    };
    let mut out = AffinePoint {
        x: [0; 32],
        y: [0; 32],
    };
    out.x.copy_from_slice(x);
    out.y.copy_from_slice(y);
    Ok(out)
}

/// The group key in affine form, refusing keys the L1 verifier cannot use (x >= n).
pub fn group_key_affine(key: &frost::VerifyingKey) -> Result<AffinePoint, FrostSigError> {
    let point = decompress("group key", &key.serialize()?)?;
    if point.x >= ORDER_N {
        return Err(FrostSigError::GroupKeyXNotBelowOrder);
    }
    Ok(point)
}

/// Splits a serialised frost-secp256k1 signature (R compressed || z) into the affine layout.
pub fn signature_affine(signature: &frost::Signature) -> Result<AffineSignature, FrostSigError> {
    signature_affine_from_bytes(&signature.serialize()?)
}

/// As [`signature_affine`], from the 65-byte serialisation (e.g. received from a peer).
pub fn signature_affine_from_bytes(bytes: &[u8]) -> Result<AffineSignature, FrostSigError> {
    if bytes.len() != 65 {
        return Err(FrostSigError::SignatureLength(bytes.len()));
    }
    let r = decompress("signature commitment R", &bytes[..33])?;
    let mut z = [0u8; 32];
    z.copy_from_slice(&bytes[33..]);
    let in_range: bool = k256::Scalar::from_repr(z.into()).is_some().into();
    if !in_range {
        return Err(FrostSigError::ScalarOutOfRange);
    }
    Ok(AffineSignature { r, z })
}

/// Key packages of a trusted-dealer group held in one process.
pub struct DealtGroup {
    pub key_packages: BTreeMap<frost::Identifier, frost::keys::KeyPackage>,
    pub public_key_package: frost::keys::PublicKeyPackage,
}

impl DealtGroup {
    /// Deals `max_signers` shares with threshold `min_signers`, retrying in the (2^-128) case
    /// of a group key whose x coordinate the L1 verifier cannot take.
    pub fn deal<R: RngCore + CryptoRng>(
        max_signers: u16,
        min_signers: u16,
        rng: &mut R,
    ) -> Result<Self, FrostSigError> {
        loop {
            let (shares, public_key_package) = frost::keys::generate_with_dealer(
                max_signers,
                min_signers,
                frost::keys::IdentifierList::Default,
                &mut *rng,
            )?;
            match group_key_affine(public_key_package.verifying_key()) {
                Err(FrostSigError::GroupKeyXNotBelowOrder) => continue,
                Err(other) => return Err(other),
                Ok(_) => {}
            }
            let mut key_packages = BTreeMap::new();
            for (id, share) in shares {
                key_packages.insert(id, frost::keys::KeyPackage::try_from(share)?);
            }
            return Ok(Self {
                key_packages,
                public_key_package,
            });
        }
    }

    /// Runs both FROST rounds with the first `signers` members and aggregates.
    pub fn sign<R: RngCore + CryptoRng>(
        &self,
        message: &[u8],
        signers: usize,
        rng: &mut R,
    ) -> Result<frost::Signature, FrostSigError> {
        let mut nonces = BTreeMap::new();
        let mut commitments = BTreeMap::new();
        for (id, package) in self.key_packages.iter().take(signers) {
            let (nonce, commitment) = frost::round1::commit(package.signing_share(), &mut *rng);
            nonces.insert(*id, nonce);
            commitments.insert(*id, commitment);
        }
        let signing_package = frost::SigningPackage::new(commitments, message);
        let mut shares = BTreeMap::new();
        for (id, nonce) in &nonces {
            if let Some(package) = self.key_packages.get(id) {
                shares.insert(*id, frost::round2::sign(&signing_package, nonce, package)?);
            }
        }
        Ok(frost::aggregate(
            &signing_package,
            &shares,
            &self.public_key_package,
        )?)
    }

    pub fn verifying_key(&self) -> &frost::VerifyingKey {
        self.public_key_package.verifying_key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn threshold_signature_converts_and_verifies() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let group = DealtGroup::deal(5, 4, &mut rng).expect("deal");
        let message = [0xabu8; 32];
        let signature = group.sign(&message, 4, &mut rng).expect("sign");
        group
            .verifying_key()
            .verify(&message, &signature)
            .expect("frost verify");
        let affine = signature_affine(&signature).expect("affine");
        let bytes = signature.serialize().expect("serialize");
        assert_eq!(&affine.r.x[..], &bytes[1..33]);
        assert_eq!(u8::from(affine.r.y[31] & 1 == 1) + 2, bytes[0]);
        assert_eq!(&affine.z[..], &bytes[33..]);
    }

    #[test]
    fn too_few_signers_fail() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let group = DealtGroup::deal(5, 4, &mut rng).expect("deal");
        assert!(group.sign(&[1u8; 32], 3, &mut rng).is_err());
    }

    #[test]
    fn malformed_signature_bytes_are_rejected() {
        assert!(matches!(
            signature_affine_from_bytes(&[0u8; 64]),
            Err(FrostSigError::SignatureLength(64))
        ));
        let mut bytes = [0u8; 65];
        bytes[0] = 2;
        assert!(matches!(
            signature_affine_from_bytes(&bytes),
            Err(FrostSigError::InvalidPoint { .. })
        ));
        let mut bytes = [0xffu8; 65];
        bytes[..33].copy_from_slice(
            &k256::ProjectivePoint::GENERATOR
                .to_affine()
                .to_encoded_point(true)
                .as_bytes()[..33],
        );
        assert!(matches!(
            signature_affine_from_bytes(&bytes),
            Err(FrostSigError::ScalarOutOfRange)
        ));
    }
}
