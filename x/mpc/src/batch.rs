//! L2 batch commitments: the root over a batch's block hashes, shared by the batch submitter (which
//! builds it) and every validator (which re-derives it from its own L2 view before signing).
use sha3::{Digest, Keccak256};

fn keccak_pair(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Binary Merkle root (keccak256) over the block hashes of a batch, in L2 height order. An odd
/// node is carried up unchanged; one block's root is its hash; no blocks give the zero hash.
/// A leaf is a 32-byte block hash and an inner node a 64-byte preimage, so the two never collide.
pub fn blocks_root(block_hashes: &[[u8; 32]]) -> [u8; 32] {
    if block_hashes.is_empty() {
        return [0; 32];
    }
    let mut level: Vec<[u8; 32]> = block_hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair.get(1) {
                Some(right) => keccak_pair(&pair[0], right),
                None => pair[0],
            })
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(i: u8) -> [u8; 32] {
        [i; 32]
    }

    #[test]
    fn root_of_one_block_is_its_hash() {
        assert_eq!(blocks_root(&[h(7)]), h(7));
    }

    #[test]
    fn root_of_three_carries_the_odd_node() {
        let expected = keccak_pair(&keccak_pair(&h(1), &h(2)), &h(3));
        assert_eq!(blocks_root(&[h(1), h(2), h(3)]), expected);
    }

    #[test]
    fn root_depends_on_order_and_every_hash() {
        let base = blocks_root(&[h(1), h(2), h(3), h(4)]);
        assert_ne!(base, blocks_root(&[h(2), h(1), h(3), h(4)]));
        assert_ne!(base, blocks_root(&[h(1), h(2), h(3), h(5)]));
        assert_ne!(base, blocks_root(&[h(1), h(2), h(3)]));
    }
}
