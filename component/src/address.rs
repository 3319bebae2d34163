//! Account and validator addresses: RIPEMD160(SHA256(compressed secp256k1 key)), the derivation that
//! both the Cosmos SDK (accounts) and CometBFT (validators) use; accounts are bech32 with [`ADDRESS_PREFIX`].
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};

use crate::ADDRESS_PREFIX;

/// 20-byte address of a compressed secp256k1 public key.
pub fn address_bytes(compressed_pub_key: &[u8]) -> [u8; 20] {
    let sha = Sha256::digest(compressed_pub_key);
    Ripemd160::digest(sha).into()
}

/// Bech32 account address of a compressed secp256k1 public key.
pub fn account_address(compressed_pub_key: &[u8]) -> String {
    encode_account(&address_bytes(compressed_pub_key))
}

/// Bech32 account address of 20 address bytes.
pub fn encode_account(bytes: &[u8; 20]) -> String {
    // Only fails on an invalid prefix; ours is a constant valid one.
    cosmrs::AccountId::new(ADDRESS_PREFIX, bytes)
        .map(|a| a.to_string())
        .unwrap_or_default()
}

/// Address of a module account: the first 20 bytes of SHA-256(name), as the Cosmos SDK derives
/// `authtypes.NewModuleAddress`. No key hashes to it, so only the module itself acts as it.
pub fn module_account(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 20];
    bytes.copy_from_slice(&digest[..20]);
    encode_account(&bytes)
}

/// The account that messages carried by a passed governance proposal are signed by.
pub fn gov_authority() -> String {
    module_account("gov")
}

/// Parses a bech32 account address, checking the prefix and the length.
pub fn parse_account(address: &str) -> Result<[u8; 20], String> {
    let id: cosmrs::AccountId = address
        .parse()
        .map_err(|e| format!("invalid bech32 address {address:?}: {e}"))?;
    if id.prefix() != ADDRESS_PREFIX {
        return Err(format!(
            "address {address:?} has prefix {:?}, expected {ADDRESS_PREFIX:?}",
            id.prefix()
        ));
    }
    id.to_bytes()
        .try_into()
        .map_err(|_| format!("address {address:?} is not 20 bytes long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_prefix_check() {
        let bytes = [7u8; 20];
        let addr = encode_account(&bytes);
        assert!(addr.starts_with("seqpool1"));
        assert_eq!(parse_account(&addr), Ok(bytes));
        let other = cosmrs::AccountId::new("cosmos", &bytes)
            .map(|a| a.to_string())
            .unwrap_or_default();
        assert!(parse_account(&other).unwrap_err().contains("prefix"));
        assert!(parse_account("seqpool1garbage").is_err());
    }
}
