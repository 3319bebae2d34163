//! ECDSA (secp256k1, SHA-256) verification for tx signatures, with fixed-base tables.
//!
//! k256's own `verify` computes `u1*G + u2*Q` with 128 point doublings and constant-time table
//! scans, since the same code serves secret scalars. Verification only handles public data, so this
//! module multiplies with precomputed multiples of `G` (built once) and of each signer's key (built
//! once per key and cached), which needs no doublings and indexes the tables directly. The result is
//! the same equation, checked the same way (`x(u1*G + u2*Q) mod n == r`); the tests compare it with
//! k256's `verify` on valid, altered and foreign signatures.
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex};

use k256::ecdsa::{Signature, VerifyingKey};
use k256::elliptic_curve::group::Group;
use k256::elliptic_curve::ops::{Invert, Reduce};
use k256::elliptic_curve::point::AffineCoordinates;
use k256::elliptic_curve::BatchNormalize;
use k256::{AffinePoint, FieldBytes, ProjectivePoint, Scalar, U256};
use sha2::{Digest, Sha256};

/// Multiples of one point for multiplication by signed `W`-bit digits: window `i` holds
/// `j * 2^(W*i) * P` for `j = 1 ..= 2^(W-1)`.
struct FixedBaseTable<const W: usize> {
    points: Vec<AffinePoint>,
}

impl<const W: usize> FixedBaseTable<W> {
    const HALF: usize = 1 << (W - 1);
    /// Digits of a 256-bit scalar, plus one for the final carry.
    const WINDOWS: usize = 256usize.div_ceil(W) + 1;

    fn new(p: ProjectivePoint) -> Self {
        let mut projective = Vec::with_capacity(Self::WINDOWS * Self::HALF);
        let mut base = p;
        for _ in 0..Self::WINDOWS {
            let mut multiple = base;
            projective.push(multiple);
            for _ in 1..Self::HALF {
                multiple += &base;
                projective.push(multiple);
            }
            // 2^(W-1) * base, doubled: the next window's base 2^W * base.
            base = multiple.double();
        }
        let points =
            <ProjectivePoint as BatchNormalize<[ProjectivePoint]>>::batch_normalize(&projective);
        Self { points }
    }

    /// `k * P`, in variable time (k is public here).
    fn mul(&self, k: &Scalar) -> ProjectivePoint {
        let mut acc = ProjectivePoint::IDENTITY;
        for (i, digit) in signed_digits::<W>(k).into_iter().enumerate() {
            let row = &self.points[i * Self::HALF..(i + 1) * Self::HALF];
            match digit {
                d if d > 0 => acc += &row[(d - 1) as usize],
                d if d < 0 => acc -= &row[(-d - 1) as usize],
                _ => {}
            }
        }
        acc
    }
}

/// `k = sum(d_i * 2^(W*i))` with every `d_i` in `-2^(W-1) ..= 2^(W-1)`.
fn signed_digits<const W: usize>(k: &Scalar) -> Vec<i32> {
    let be = k.to_bytes();
    let mut le = [0u8; 33];
    for (i, b) in be.iter().rev().enumerate() {
        le[i] = *b;
    }
    let windows = 256usize.div_ceil(W) + 1;
    let mut digits = Vec::with_capacity(windows);
    let mut carry = 0i32;
    let half = 1i32 << (W - 1);
    for i in 0..windows {
        let bit = i * W;
        // Up to W bits starting at `bit`, read from the two bytes holding them (W <= 8).
        let mut value = 0i32;
        if bit < 256 {
            let byte = bit / 8;
            let pair = u16::from(le[byte]) | (u16::from(le[byte + 1]) << 8);
            value = i32::from((pair >> (bit % 8)) & ((1u16 << W) - 1));
        }
        value += carry;
        if value > half {
            digits.push(value - (1 << W));
            carry = 1;
        } else {
            digits.push(value);
            carry = 0;
        }
    }
    digits
}

static GENERATOR_TABLE: LazyLock<FixedBaseTable<8>> =
    LazyLock::new(|| FixedBaseTable::new(ProjectivePoint::GENERATOR));

/// A signer's key with its multiplication table (about 75 KB).
pub struct PreparedKey {
    table: FixedBaseTable<5>,
}

impl PreparedKey {
    pub fn new(key: &VerifyingKey) -> Self {
        Self {
            table: FixedBaseTable::new(key.as_affine().into()),
        }
    }

    /// Whether `signature` (low-S not required here) signs SHA-256(`msg`) under this key.
    pub fn verify(&self, msg: &[u8], signature: &Signature) -> bool {
        let digest: FieldBytes = Sha256::digest(msg);
        self.verify_prehash(&digest, signature)
    }

    fn verify_prehash(&self, digest: &FieldBytes, signature: &Signature) -> bool {
        // r and s are non-zero scalars below n: `Signature` checks that when it is built.
        let (r, s) = signature.split_scalars();
        let z = <Scalar as Reduce<U256>>::reduce_bytes(digest);
        // s is non-zero, so it has an inverse.
        let s_inv = *s.invert_vartime();
        let u1 = z * s_inv;
        let u2 = *r * s_inv;
        let point = GENERATOR_TABLE.mul(&u1) + self.table.mul(&u2);
        if bool::from(point.is_identity()) {
            return false;
        }
        let x = point.to_affine().x();
        <Scalar as Reduce<U256>>::reduce_bytes(&x) == *r
    }
}

/// Keys are prepared only for registered accounts (callers look the account up first), so this
/// stays small; the bound only guards memory if the account set grows very large.
const MAX_CACHED_KEYS: usize = 512;

static PREPARED_KEYS: LazyLock<Mutex<BTreeMap<Vec<u8>, Arc<PreparedKey>>>> =
    LazyLock::new(Default::default);

/// The prepared form of a compressed key, built on first use.
pub fn prepared_key(sec1: &[u8]) -> Option<Arc<PreparedKey>> {
    if let Some(found) = PREPARED_KEYS
        .lock()
        .ok()
        .and_then(|cache| cache.get(sec1).cloned())
    {
        return Some(found);
    }
    let key = VerifyingKey::from_sec1_bytes(sec1).ok()?;
    let prepared = Arc::new(PreparedKey::new(&key));
    if let Ok(mut cache) = PREPARED_KEYS.lock() {
        if cache.len() >= MAX_CACHED_KEYS {
            cache.clear();
        }
        cache.insert(sec1.to_vec(), prepared.clone());
    }
    Some(prepared)
}

/// Whether `sec1` is a key already prepared (so known to be a valid point).
pub fn is_prepared(sec1: &[u8]) -> bool {
    PREPARED_KEYS
        .lock()
        .is_ok_and(|cache| cache.contains_key(sec1))
}

#[cfg(test)]
mod tests {
    use k256::ecdsa::signature::{Signer, Verifier};
    use k256::ecdsa::SigningKey;
    use k256::elliptic_curve::Field;
    use rand::rngs::StdRng;
    use rand::{RngCore, SeedableRng};

    use super::*;

    fn scalar_from_digits<const W: usize>(digits: &[i32]) -> Scalar {
        let radix = Scalar::from(1u64 << W);
        digits.iter().rev().fold(Scalar::ZERO, |acc, d| {
            let term = Scalar::from(d.unsigned_abs() as u64);
            acc * radix + if *d < 0 { -term } else { term }
        })
    }

    #[test]
    fn digits_recompose_to_the_scalar() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut scalars = vec![Scalar::ZERO, Scalar::ONE, -Scalar::ONE, -Scalar::from(2u64)];
        scalars.extend((0..200).map(|_| Scalar::random(&mut rng)));
        for k in scalars {
            let d5 = signed_digits::<5>(&k);
            assert!(d5.iter().all(|d| d.abs() <= 16));
            assert_eq!(scalar_from_digits::<5>(&d5), k);
            let d8 = signed_digits::<8>(&k);
            assert!(d8.iter().all(|d| d.abs() <= 128));
            assert_eq!(scalar_from_digits::<8>(&d8), k);
        }
    }

    #[test]
    fn table_multiplication_matches_k256() {
        let mut rng = StdRng::seed_from_u64(11);
        let p = ProjectivePoint::GENERATOR * Scalar::random(&mut rng);
        let table = FixedBaseTable::<5>::new(p);
        for k in [
            Scalar::ZERO,
            Scalar::ONE,
            -Scalar::ONE,
            Scalar::random(&mut rng),
        ] {
            assert_eq!(table.mul(&k), p * k);
            assert_eq!(GENERATOR_TABLE.mul(&k), ProjectivePoint::GENERATOR * k);
        }
    }

    #[test]
    fn agrees_with_k256_on_valid_altered_and_foreign_signatures() {
        let mut rng = StdRng::seed_from_u64(3);
        for round in 0..40 {
            let key = SigningKey::random(&mut rng);
            let other = SigningKey::random(&mut rng);
            let prepared = PreparedKey::new(key.verifying_key());
            let mut msg = vec![0u8; 64 + round];
            rng.fill_bytes(&mut msg);
            let sig: Signature = key.sign(&msg);
            assert!(prepared.verify(&msg, &sig));
            assert!(key.verifying_key().verify(&msg, &sig).is_ok());

            let mut altered = msg.clone();
            altered[round % msg.len()] ^= 1;
            assert!(!prepared.verify(&altered, &sig));
            assert!(key.verifying_key().verify(&altered, &sig).is_err());

            let foreign: Signature = other.sign(&msg);
            assert!(!prepared.verify(&msg, &foreign));

            // r and s swapped, and s negated (the high-S twin, which k256's verify also accepts
            // at the curve level; the low-S rule is applied by the caller).
            let (r, s) = sig.split_scalars();
            let swapped = Signature::from_scalars(*s, *r).expect("non-zero");
            assert_eq!(
                prepared.verify(&msg, &swapped),
                key.verifying_key().verify(&msg, &swapped).is_ok()
            );
            let high = Signature::from_scalars(*r, -*s).expect("non-zero");
            assert!(prepared.verify(&msg, &high));
        }
    }

    #[test]
    fn cache_prepares_valid_keys_only() {
        let key = SigningKey::from_slice(&[9u8; 32]).expect("key");
        let sec1 = key.verifying_key().to_encoded_point(true);
        assert!(prepared_key(sec1.as_bytes()).is_some());
        assert!(is_prepared(sec1.as_bytes()));
        let mut bad = sec1.as_bytes().to_vec();
        bad[0] = 0x09;
        assert!(prepared_key(&bad).is_none());
        assert!(!is_prepared(&bad));
    }
}
