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

/// The live keys of a bench state: base keys `oldest..next`, always `live` of them. Each block
/// overwrites some, creates new ones and deletes the oldest as many, so every iteration of a
/// bench runs on a state of the size its name says (a block of only inserts grew the state by
/// half a block per iteration).
#[derive(Clone)]
pub struct Workload {
    pub oldest: u64,
    pub next: u64,
}

impl Workload {
    /// A state of base keys `0..live` (write them with [`base_key`] first).
    pub fn new(live: u64) -> Self {
        Self {
            oldest: 0,
            next: live,
        }
    }

    pub fn live(&self) -> u64 {
        self.next - self.oldest
    }

    /// `writes` changes: half overwrites of live keys, a quarter new keys and a quarter
    /// deletions of the oldest keys; 64-byte values. The live count stays the same.
    pub fn block(&mut self, rng: &mut Mix, writes: usize) -> Changes {
        let churn = writes / 4;
        let mut changes = Changes::new();
        for _ in 0..churn {
            changes.insert(base_key(self.oldest), None);
            self.oldest += 1;
            changes.insert(base_key(self.next), Some(rng.bytes(64)));
            self.next += 1;
        }
        let live = self.live();
        while changes.len() < writes {
            let key = base_key(self.oldest + rng.next() % live);
            changes.entry(key).or_insert_with(|| Some(rng.bytes(64)));
        }
        changes
    }
}
