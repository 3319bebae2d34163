//! One-round signing with preprocessed nonces: package validation, signature shares and
//! aggregation with cheater detection. The durable nonce bookkeeping lives in the keystore.

mod aggregate;
mod commitment;
mod share;

pub use aggregate::aggregate;
pub(crate) use share::signature_share;
pub use share::{preprocess, sign_with_nonces, validate_package};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use frost_secp256k1 as frost;
    use frost_secp256k1::keys::{IdentifierList, KeyPackage};
    use frost_secp256k1::round2::SignatureShare;
    use frost_secp256k1::{Identifier, SigningPackage};
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::SeedableRng;

    use super::*;
    use crate::threshold_for;

    /// The engine's share and aggregate are frost's, bit for bit, over random signer sets.
    #[test]
    fn shares_and_signatures_equal_frost() {
        let mut rng = StdRng::seed_from_u64(31);
        for n in [2u16, 4, 7, 10, 50] {
            let t = threshold_for(n as usize);
            let (secret_shares, public) =
                frost::keys::generate_with_dealer(n, t, IdentifierList::Default, &mut rng).unwrap();
            let keys: BTreeMap<Identifier, KeyPackage> = secret_shares
                .into_iter()
                .map(|(id, s)| (id, KeyPackage::try_from(s).unwrap()))
                .collect();
            for round in 0..3 {
                let mut ids: Vec<Identifier> = keys.keys().copied().collect();
                ids.shuffle(&mut rng);
                ids.truncate(t as usize + round % 2 * (n as usize - t as usize));
                let mut nonces = BTreeMap::new();
                let mut commitments = BTreeMap::new();
                for id in &ids {
                    let (nn, cc) = frost::round1::commit(keys[id].signing_share(), &mut rng);
                    nonces.insert(*id, nn);
                    commitments.insert(*id, cc);
                }
                let package = SigningPackage::new(commitments, &[round as u8; 32]);
                let mut shares = BTreeMap::new();
                for id in &ids {
                    let ours = sign_with_nonces(&keys[id], &public, &package, &nonces[id]).unwrap();
                    let theirs = frost::round2::sign(&package, &nonces[id], &keys[id]).unwrap();
                    assert_eq!(ours, theirs, "n = {n}, share of {id:?}");
                    shares.insert(*id, ours);
                }
                let ours = aggregate(&package, &shares, &public).unwrap();
                let theirs = frost::aggregate(&package, &shares, &public).unwrap();
                assert_eq!(ours, theirs, "n = {n}");
                public
                    .verifying_key()
                    .verify(package.message(), &ours)
                    .unwrap();

                // Shift some shares by one: the same culprits as frost's AllCheaters.
                let mut swapped = shares.clone();
                for id in ids.iter().take(1 + round) {
                    let mut z = [0u8; 32];
                    z.copy_from_slice(&shares[id].serialize());
                    let shifted = crate::crypto::scalar_from_bytes(&z).unwrap() + k256::Scalar::ONE;
                    let bytes = crate::crypto::scalar_to_bytes(&shifted);
                    swapped.insert(*id, SignatureShare::deserialize(&bytes).unwrap());
                }
                let theirs = match frost::aggregate_custom(
                    &package,
                    &swapped,
                    &public,
                    frost::CheaterDetection::AllCheaters,
                ) {
                    Err(frost::Error::InvalidSignatureShare { culprits }) => culprits,
                    other => panic!("frost: {other:?}"),
                };
                match aggregate(&package, &swapped, &public) {
                    Err(crate::TssError::InvalidSignatureShares { culprits }) => assert_eq!(
                        culprits,
                        theirs.iter().map(crate::ids::id_hex).collect::<Vec<_>>(),
                        "n = {n}"
                    ),
                    other => panic!("engine: {other:?}"),
                }
            }
        }
    }
}
