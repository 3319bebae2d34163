//! Variable-time multi-scalar multiplication sum(k_i * P_i) for PUBLIC points and scalars (nonce
//! commitments and binding factors, polynomial commitments): Straus' method with width-5 NAF
//! digits, affine tables of odd multiples and Jacobian coordinates for the accumulator.
//!
//! Why not k256's `lincomb`: it is constant time (a table scan per digit, twice the additions)
//! and uses complete projective formulas (about 11 field multiplications per mixed addition).
//! With public inputs the Jacobian mixed addition (7M + 4S) and doubling (2M + 5S) are safe; the
//! exceptional cases (identity accumulator, adding the accumulator itself or its negation) are
//! handled explicitly.

use k256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use k256::elliptic_curve::BatchNormalize;
use k256::{AffinePoint, EncodedPoint, FieldElement, ProjectivePoint, Scalar};

/// NAF window width: nonzero digits are odd, in (-16, 16), one per 6 bits on average.
const WINDOW: usize = 5;
/// Digits of a 256-bit scalar in width-5 NAF (one more than the bit length).
const NAF_DIGITS: usize = 257;
/// Odd multiples 1P, 3P, ..., 15P per point.
pub(crate) const TABLE_LEN: usize = 1 << (WINDOW - 2);

/// An affine point other than the identity, coordinates weakly normalised (magnitude 1).
#[derive(Clone, Copy)]
pub(crate) struct Affine {
    x: FieldElement,
    y: FieldElement,
}

impl Affine {
    /// `None` for the identity.
    pub(crate) fn from_k256(point: &AffinePoint) -> Option<Self> {
        let encoded = point.to_encoded_point(false);
        let (x, y) = (encoded.x()?, encoded.y()?);
        let x = Option::from(FieldElement::from_bytes(x))?;
        let y = Option::from(FieldElement::from_bytes(y))?;
        Some(Self { x, y })
    }

    fn negate(&self) -> Self {
        Self {
            x: self.x,
            y: self.y.negate(1).normalize_weak(),
        }
    }
}

/// A point in Jacobian coordinates (x = X/Z^2, y = Y/Z^3); Z = 0 is the identity.
#[derive(Clone, Copy)]
struct Jacobian {
    x: FieldElement,
    y: FieldElement,
    z: FieldElement,
}

impl Jacobian {
    const IDENTITY: Self = Self {
        x: FieldElement::ONE,
        y: FieldElement::ONE,
        z: FieldElement::ZERO,
    };

    fn is_identity(&self) -> bool {
        self.z.normalizes_to_zero().into()
    }

    /// dbl-2009-l for a = 0 (2M + 5S). The identity doubles to the identity (Z stays 0), and
    /// secp256k1 has no point of order two, so there is no other exceptional case.
    fn double(&self) -> Self {
        let a = self.x.square();
        let b = self.y.square();
        let c = b.square();
        let x_plus_b = (self.x + b).normalize_weak();
        let d = (x_plus_b.square() + a.negate(1) + c.negate(1))
            .double()
            .normalize_weak();
        let e = a.mul_single(3);
        let f = e.square();
        let x3 = (f + d.double().negate(2)).normalize_weak();
        let y3 = ((e * (d + x3.negate(1))) + c.mul_single(8).negate(8)).normalize_weak();
        let z3 = (self.y * self.z).double().normalize_weak();
        Self {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// madd-2007-bl (7M + 4S), with the exceptional cases handled: identity accumulator,
    /// `other` equal to the accumulator (doubling) or to its negation (identity).
    fn add_affine(&self, other: &Affine) -> Self {
        if self.is_identity() {
            return Self {
                x: other.x,
                y: other.y,
                z: FieldElement::ONE,
            };
        }
        let z1z1 = self.z.square();
        let u2 = other.x * z1z1;
        let s2 = other.y * self.z * z1z1;
        let h = u2 + self.x.negate(1);
        let r = s2 + self.y.negate(1);
        if bool::from(h.normalizes_to_zero()) {
            return if bool::from(r.normalizes_to_zero()) {
                self.double()
            } else {
                Self::IDENTITY
            };
        }
        let h = h.normalize_weak();
        let r = r.double().normalize_weak();
        let hh = h.square();
        let i = hh.mul_single(4);
        let j = h * i;
        let v = self.x * i;
        let x3 = (r.square() + j.negate(1) + v.double().negate(2)).normalize_weak();
        let y3 = ((r * (v + x3.negate(1))) + (self.y * j).double().negate(2)).normalize_weak();
        let z3 = (self.z * h).double().normalize_weak();
        Self {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `None` only if the result is not on the curve, which would be a bug in the formulas.
    fn to_k256(self) -> Option<ProjectivePoint> {
        if self.is_identity() {
            return Some(ProjectivePoint::IDENTITY);
        }
        let z_inv: FieldElement = Option::from(self.z.invert())?;
        let z_inv2 = z_inv.square();
        let x = (self.x * z_inv2).normalize();
        let y = (self.y * z_inv2 * z_inv).normalize();
        let encoded = EncodedPoint::from_affine_coordinates(&x.to_bytes(), &y.to_bytes(), false);
        let affine: Option<AffinePoint> = AffinePoint::from_encoded_point(&encoded).into();
        affine.map(ProjectivePoint::from)
    }
}

/// The odd multiples P, 3P, ..., 15P of `point`, projective (normalise many at once).
pub(crate) fn odd_multiples(point: &ProjectivePoint) -> [ProjectivePoint; TABLE_LEN] {
    let double = point.double();
    let mut out = [*point; TABLE_LEN];
    for i in 1..TABLE_LEN {
        out[i] = out[i - 1] + double;
    }
    out
}

/// Width-5 non-adjacent form of `scalar`, least significant digit first.
fn naf(scalar: &Scalar) -> [i8; NAF_DIGITS] {
    let bytes = scalar.to_bytes();
    // Little-endian 64-bit limbs plus a zero limb so a window can read past the top bit.
    let mut limbs = [0u64; 5];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.rchunks(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        *limb = u64::from_be_bytes(word);
    }
    let width = 1u64 << WINDOW;
    let mask = width - 1;
    let mut digits = [0i8; NAF_DIGITS];
    let mut pos = 0;
    let mut carry = 0u64;
    while pos < NAF_DIGITS {
        let (limb, bit) = (pos / 64, pos % 64);
        let low = limbs.get(limb).copied().unwrap_or(0) >> bit;
        let bits = if bit + WINDOW <= 64 {
            low
        } else {
            low | (limbs.get(limb + 1).copied().unwrap_or(0) << (64 - bit))
        };
        let window = carry + (bits & mask);
        if window & 1 == 0 {
            pos += 1;
            continue;
        }
        // window < 32 here, so the casts are exact.
        if window < width / 2 {
            carry = 0;
            digits[pos] = window as i8;
        } else {
            carry = 1;
            digits[pos] = window as i8 - width as i8;
        }
        pos += WINDOW;
    }
    digits
}

/// Affine tables of odd multiples, one per point, from `TABLE_LEN` affine points each (as
/// produced by [`odd_multiples`] and a batch normalisation). `None` if one is the identity.
pub(crate) fn tables_from_affine(points: &[AffinePoint]) -> Option<Vec<[Affine; TABLE_LEN]>> {
    points
        .chunks_exact(TABLE_LEN)
        .map(|chunk| {
            let mut table = [Affine {
                x: FieldElement::ZERO,
                y: FieldElement::ZERO,
            }; TABLE_LEN];
            for (slot, point) in table.iter_mut().zip(chunk) {
                *slot = Affine::from_k256(point)?;
            }
            Some(table)
        })
        .collect()
}

/// sum(k_i * T_i[0]) + sum(extra) with prepared tables. `None` only on an internal error.
pub(crate) fn multiscalar_mul_tables(
    tables: &[[Affine; TABLE_LEN]],
    scalars: &[Scalar],
    extra: &[Affine],
) -> Option<ProjectivePoint> {
    let digits: Vec<[i8; NAF_DIGITS]> = scalars.iter().map(naf).collect();
    let top = digits
        .iter()
        .filter_map(|d| d.iter().rposition(|x| *x != 0))
        .max();
    let mut acc = Jacobian::IDENTITY;
    if let Some(top) = top {
        for i in (0..=top).rev() {
            acc = acc.double();
            for (digit, table) in digits.iter().zip(tables) {
                let d = digit[i];
                if d > 0 {
                    acc = acc.add_affine(&table[d.unsigned_abs() as usize / 2]);
                } else if d < 0 {
                    acc = acc.add_affine(&table[d.unsigned_abs() as usize / 2].negate());
                }
            }
        }
    }
    for point in extra {
        acc = acc.add_affine(point);
    }
    acc.to_k256()
}

/// Points prepared once for several multi-scalar multiplications (a committed polynomial
/// evaluated at every member's identifier).
pub(crate) struct PreparedPoints {
    points: Vec<ProjectivePoint>,
    /// Indices of the non-identity points (the identity contributes nothing) and their tables;
    /// `None` only if preparing failed, in which case `mul` takes the constant-time path.
    nonzero: Vec<usize>,
    tables: Option<Vec<[Affine; TABLE_LEN]>>,
}

impl PreparedPoints {
    pub(crate) fn new(points: &[ProjectivePoint]) -> Self {
        let nonzero: Vec<usize> = (0..points.len())
            .filter(|i| points[*i] != ProjectivePoint::IDENTITY)
            .collect();
        let mut projective = Vec::with_capacity(nonzero.len() * TABLE_LEN);
        for i in &nonzero {
            projective.extend_from_slice(&odd_multiples(&points[*i]));
        }
        // k256's batch normalisation panics on an empty slice.
        let affine = if projective.is_empty() {
            Vec::new()
        } else {
            <ProjectivePoint as BatchNormalize<[ProjectivePoint]>>::batch_normalize(
                projective.as_slice(),
            )
        };
        Self {
            points: points.to_vec(),
            nonzero,
            tables: tables_from_affine(&affine),
        }
    }

    /// sum(k_i * P_i) in variable time; `scalars` pairs with the points given to `new` (extra
    /// scalars are ignored, missing ones count as zero). For public scalars only.
    pub(crate) fn mul(&self, scalars: &[Scalar]) -> ProjectivePoint {
        let picked: Vec<Scalar> = self
            .nonzero
            .iter()
            .map(|i| scalars.get(*i).copied().unwrap_or(Scalar::ZERO))
            .collect();
        self.tables
            .as_ref()
            .and_then(|tables| multiscalar_mul_tables(tables, &picked, &[]))
            // Unreachable unless the fast path has a bug: fall back to the constant-time one.
            .unwrap_or_else(|| {
                use k256::elliptic_curve::ops::LinearCombinationExt;
                let terms: Vec<(ProjectivePoint, Scalar)> = self
                    .points
                    .iter()
                    .zip(scalars.iter().chain(std::iter::repeat(&Scalar::ZERO)))
                    .map(|(p, k)| (*p, *k))
                    .collect();
                ProjectivePoint::lincomb_ext(terms.as_slice())
            })
    }
}

/// sum(k_i * P_i) in variable time. For public points and scalars only.
pub(crate) fn multiscalar_mul_vartime(terms: &[(ProjectivePoint, Scalar)]) -> ProjectivePoint {
    let (points, scalars): (Vec<ProjectivePoint>, Vec<Scalar>) = terms.iter().copied().unzip();
    PreparedPoints::new(&points).mul(&scalars)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use k256::elliptic_curve::Field;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn naive(terms: &[(ProjectivePoint, Scalar)]) -> ProjectivePoint {
        terms
            .iter()
            .fold(ProjectivePoint::IDENTITY, |acc, (p, k)| acc + *p * k)
    }

    #[test]
    fn matches_the_naive_sum() {
        let mut rng = StdRng::seed_from_u64(7);
        for len in [0usize, 1, 2, 5, 34, 67] {
            let terms: Vec<(ProjectivePoint, Scalar)> = (0..len)
                .map(|_| {
                    (
                        ProjectivePoint::GENERATOR * Scalar::random(&mut rng),
                        Scalar::random(&mut rng),
                    )
                })
                .collect();
            assert_eq!(
                multiscalar_mul_vartime(&terms),
                naive(&terms),
                "{len} terms"
            );
        }
    }

    #[test]
    fn prepared_points_serve_several_scalar_sets() {
        let mut rng = StdRng::seed_from_u64(10);
        let mut points: Vec<ProjectivePoint> = (0..20)
            .map(|_| ProjectivePoint::GENERATOR * Scalar::random(&mut rng))
            .collect();
        points[3] = ProjectivePoint::IDENTITY;
        let prepared = PreparedPoints::new(&points);
        for _ in 0..3 {
            let scalars: Vec<Scalar> = (0..20).map(|_| Scalar::random(&mut rng)).collect();
            let terms: Vec<_> = points
                .iter()
                .copied()
                .zip(scalars.iter().copied())
                .collect();
            assert_eq!(prepared.mul(&scalars), naive(&terms));
        }
    }

    #[test]
    fn exceptional_cases() {
        let mut rng = StdRng::seed_from_u64(9);
        let p = ProjectivePoint::GENERATOR * Scalar::random(&mut rng);
        let q = ProjectivePoint::GENERATOR * Scalar::random(&mut rng);
        let k = Scalar::random(&mut rng);
        let cases: Vec<Vec<(ProjectivePoint, Scalar)>> = vec![
            vec![(p, Scalar::ZERO)],
            vec![(p, Scalar::ONE)],
            vec![(p, -Scalar::ONE)],
            // The accumulator meets the table point itself (doubling) and its negation.
            vec![(p, Scalar::ONE), (p, Scalar::ONE)],
            vec![(p, Scalar::ONE), (-p, Scalar::ONE)],
            vec![(p, k), (p, -k)],
            vec![(p, k), (p, k), (q, Scalar::ONE)],
            vec![(p, k), (-p, k), (q, k)],
            vec![(ProjectivePoint::IDENTITY, k), (q, k)],
            vec![(p, Scalar::from(15u64)), (p, Scalar::from(17u64))],
        ];
        for (i, terms) in cases.iter().enumerate() {
            assert_eq!(multiscalar_mul_vartime(terms), naive(terms), "case {i}");
        }
    }

    #[test]
    fn naf_digits_recompose_the_scalar() {
        let mut rng = StdRng::seed_from_u64(8);
        for scalar in [
            Scalar::ZERO,
            Scalar::ONE,
            -Scalar::ONE,
            Scalar::random(&mut rng),
        ] {
            let digits = naf(&scalar);
            let mut acc = Scalar::ZERO;
            for d in digits.iter().rev() {
                acc = acc.double();
                let magnitude = Scalar::from(u64::from(d.unsigned_abs()));
                acc += if *d < 0 { -magnitude } else { magnitude };
            }
            assert_eq!(acc, scalar);
        }
    }
}
