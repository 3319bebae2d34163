//! What the store benches share: deterministic keys, values and blocks.
use std::collections::BTreeMap;

pub type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// splitmix64: deterministic pseudo-random bytes without a rand dependency.
pub struct Mix(pub u64);
impl Mix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Key `i` of the base state: 32 bytes.
pub fn base_key(i: u64) -> Vec<u8> {
    let mut key = b"bench/account/".to_vec();
    key.extend_from_slice(&i.to_be_bytes());
    key.resize(32, b'.');
    key
}

/// Half overwrites of base keys, half fresh keys; 64-byte values.
pub fn block(rng: &mut Mix, writes: usize, base_keys: u64) -> Changes {
    let mut changes = Changes::new();
    while changes.len() < writes {
        let key = if rng.next() & 1 == 0 {
            base_key(rng.next() % base_keys)
        } else {
            rng.bytes(32)
        };
        changes.insert(key, Some(rng.bytes(64)));
    }
    changes
}
