use std::collections::BTreeSet;

use frost_secp256k1::Identifier;
use k256::Scalar;

use crate::error::{Result, TssError};

/// The Lagrange weight of `member` for interpolating at zero over `set`.
pub fn lagrange_at_zero(member: &Identifier, set: &BTreeSet<Identifier>) -> Result<Scalar> {
    if !set.contains(member) {
        return Err(TssError::InvalidParameters(
            "member is not in the interpolation set".into(),
        ));
    }
    let x_i = member.to_scalar();
    let mut numerator = Scalar::ONE;
    let mut denominator = Scalar::ONE;
    for other in set {
        if other == member {
            continue;
        }
        let x_j = other.to_scalar();
        numerator *= x_j;
        denominator *= x_j - x_i;
    }
    let inverse: Option<Scalar> = denominator.invert().into();
    let inverse = inverse.ok_or(TssError::InvalidParameters("duplicate identifiers".into()))?;
    Ok(numerator * inverse)
}
