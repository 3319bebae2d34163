//! Key ids, session ids and thresholds: plain values every other part of the engine names (errors
//! too), so this file imports none of them.

use std::fmt;

use frost_secp256k1::Identifier;

/// Names one threshold key for its whole life (it survives reshares).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub u64);

/// Names one protocol run (a DKG, a reshare or a signing session) of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u64);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key#{}", self.0)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "session#{}", self.0)
    }
}

/// The signing threshold for `n` members: floor(2n/3) + 1.
pub fn threshold_for(n: usize) -> u16 {
    ((2 * n) / 3 + 1) as u16
}

/// Hex of a FROST identifier, for error messages.
pub fn id_hex(id: &Identifier) -> String {
    hex_encode(&id.serialize())
}

pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}
