//! Addresses derived from a validator's keys, which jailing, the L1 bridge and producer
//! selection all name.

/// Ethereum address of a compressed secp256k1 key: the L1 signer and the L2 coinbase.
pub fn eth_address(compressed_pub_key: &[u8]) -> Option<[u8; 20]> {
    use sha3::Digest;
    let key = k256::PublicKey::from_sec1_bytes(compressed_pub_key).ok()?;
    let point = k256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key, false);
    let hash = sha3::Keccak256::digest(point.as_bytes().get(1..)?);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[12..]);
    Some(out)
}
