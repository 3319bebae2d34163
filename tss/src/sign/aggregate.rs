use std::collections::BTreeMap;

use frost_secp256k1::keys::PublicKeyPackage;
use frost_secp256k1::round2::SignatureShare;
use frost_secp256k1::{CheaterDetection, Identifier, Signature, SigningPackage};

use crate::error::{Result, TssError};
use crate::ids::id_hex;

/// Combines the signers' shares. A missing share names the signer; invalid shares are all named
/// (cheater detection `AllCheaters`), so the next package can leave every culprit out.
pub fn aggregate(
    package: &SigningPackage,
    shares: &BTreeMap<Identifier, SignatureShare>,
    public: &PublicKeyPackage,
) -> Result<Signature> {
    for id in package.signing_commitments().keys() {
        if !shares.contains_key(id) {
            return Err(TssError::MissingSignatureShare {
                culprit: id_hex(id),
            });
        }
    }
    for id in shares.keys() {
        if !package.signing_commitments().contains_key(id) {
            return Err(TssError::SignerNotInKey {
                culprit: id_hex(id),
            });
        }
    }
    frost_secp256k1::aggregate_custom(package, shares, public, CheaterDetection::AllCheaters)
        .map_err(|e| match e {
            frost_core::Error::InvalidSignatureShare { culprits } => {
                TssError::InvalidSignatureShares {
                    culprits: culprits.iter().map(id_hex).collect(),
                }
            }
            other => TssError::Frost(other),
        })
}
