//! Stake-weighted producer selection: integer-only, deterministic, from a seed no validator can
//! steer.
//!
//! With L1 randomness (`block.prevrandao` of a finalized L1 block, attested by more than 2/3 of the
//! power through x/bridge): seed = sha256(DOMAIN_V2 || epoch || L1 block || prevrandao), of the
//! first value attested after the schedule of the epoch before was fixed ([`l1_seed`]). Nothing a
//! proposer puts in a block enters it, and the value did not exist when the blocks before the draw
//! were built: a proposer varying its block cannot change the draw. (The seed used to mix in the
//! parent app hash beside the latest attested value, both known to the proposer of the block
//! before the boundary, which could then grind its txs for a draw it liked.)
//!
//! Before any L1 value was attested (a chain without L1, or its first epochs): seed =
//! sha256(DOMAIN || epoch || app hash || ""), which a proposer could grind; documented in
//! docs/pool.md.
//!
//! The same seed draws the epoch's backup order ([`backup_order`]): the other eligible validators,
//! stake-weighted without replacement, which re-elections follow.
use seqpool_staking::Validator;
use sha2::{Digest, Sha256};

pub const SEED_DOMAIN: &[u8] = b"seqpool/producer/seed/v1";
pub const SEED_DOMAIN_V2: &[u8] = b"seqpool/producer/seed/v2";
const BACKUP_DOMAIN: &[u8] = b"seqpool/producer/backup/v1";

/// The seed of `epoch` from an attested L1 RANDAO value alone.
pub fn l1_seed(epoch: u64, l1_block: u64, prevrandao: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(SEED_DOMAIN_V2);
    h.update(epoch.to_be_bytes());
    h.update(l1_block.to_be_bytes());
    h.update((prevrandao.len() as u64).to_be_bytes());
    h.update(prevrandao);
    h.finalize().into()
}

pub fn seed(epoch: u64, app_hash: &[u8], l1_randomness: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(SEED_DOMAIN);
    h.update(epoch.to_be_bytes());
    h.update((app_hash.len() as u64).to_be_bytes());
    h.update(app_hash);
    h.update(l1_randomness);
    h.finalize().into()
}

/// Validators that may produce: positive power and not jailed, in a fixed order (address ascending).
pub fn eligible(validators: &[Validator]) -> Vec<&Validator> {
    let mut out: Vec<&Validator> = validators
        .iter()
        .filter(|v| v.power > 0 && !v.jailed)
        .collect();
    out.sort_by(|a, b| a.consensus_address.cmp(&b.consensus_address));
    out
}

/// Picks a validator with probability power / total power. `None` when nobody is eligible.
pub fn select<'a>(validators: &'a [Validator], seed: &[u8; 32]) -> Option<&'a Validator> {
    let candidates = eligible(validators);
    let total: u128 = candidates.iter().map(|v| v.power as u128).sum();
    if total == 0 {
        return None;
    }
    let mut first = [0u8; 16];
    first.copy_from_slice(&seed[..16]);
    // The modulo bias is below total / 2^128: negligible for any real total power.
    pick(&candidates, u128::from_be_bytes(first) % total)
}

/// The candidate whose slice of `[0, total power)` holds `target` (slices in candidate order).
fn pick<'a>(candidates: &[&'a Validator], target: u128) -> Option<&'a Validator> {
    let mut cumulative = 0u128;
    for v in candidates {
        cumulative += v.power as u128;
        if target < cumulative {
            return Some(v);
        }
    }
    None
}

/// The eligible validators other than `producer`, in a stake-weighted random order drawn from
/// `seed`: each next one with probability its power over the power of those not drawn yet.
pub fn backup_order(
    validators: &[Validator],
    seed: &[u8; 32],
    producer: Option<&str>,
) -> Vec<String> {
    let mut left: Vec<&Validator> = eligible(validators)
        .into_iter()
        .filter(|v| Some(v.consensus_address.as_str()) != producer)
        .collect();
    let mut order = Vec::with_capacity(left.len());
    let mut draw = 0u64;
    while !left.is_empty() {
        let total: u128 = left.iter().map(|v| v.power as u128).sum();
        let mut h = Sha256::new();
        h.update(BACKUP_DOMAIN);
        h.update(seed);
        h.update(draw.to_be_bytes());
        let digest: [u8; 32] = h.finalize().into();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        let target = u128::from_be_bytes(first) % total.max(1);
        let mut cumulative = 0u128;
        let index = left
            .iter()
            .position(|v| {
                cumulative += v.power as u128;
                target < cumulative
            })
            .unwrap_or(0);
        order.push(left.remove(index).consensus_address.clone());
        draw += 1;
    }
    order
}

/// The candidate after `current` in stake order (power descending, then address ascending),
/// skipping `excluded`, wrapping around. `None` when nobody else is eligible. Re-elections take
/// the schedule's backup order; this is for schedules that have none (stored before it existed).
pub fn next_by_stake<'a>(
    validators: &'a [Validator],
    current: &str,
    excluded: &[String],
) -> Option<&'a Validator> {
    let mut order = eligible(validators);
    order.sort_by(|a, b| {
        b.power
            .cmp(&a.power)
            .then_with(|| a.consensus_address.cmp(&b.consensus_address))
    });
    let start = order
        .iter()
        .position(|v| v.consensus_address == current)
        .map(|i| i + 1)
        .unwrap_or(0);
    (0..order.len())
        .map(|k| order[(start + k) % order.len()])
        .find(|v| v.consensus_address != current && !excluded.contains(&v.consensus_address))
}

/// Ethereum address of a compressed secp256k1 key: the L1 signer and the L2 coinbase.
pub use seqpool_staking::l1::eth_address;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn validators(powers: &[i64]) -> Vec<Validator> {
        powers
            .iter()
            .enumerate()
            .map(|(i, p)| Validator {
                consensus_address: format!("{i:040X}"),
                power: *p,
                ..Default::default()
            })
            .collect()
    }

    /// Per validator: (stake share, selection frequency over `epochs` epochs).
    fn frequencies(powers: &[i64], epochs: u64) -> Vec<(f64, f64)> {
        let set = validators(powers);
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for e in 0..epochs {
            // A different app hash per epoch, as the chain has.
            let app_hash = Sha256::digest(e.to_be_bytes());
            let chosen = select(&set, &seed(e, &app_hash, &[])).expect("someone eligible");
            *counts.entry(chosen.consensus_address.clone()).or_default() += 1;
        }
        let total: i64 = powers.iter().sum();
        set.iter()
            .map(|v| {
                let share = v.power as f64 / total as f64;
                let n = counts.get(&v.consensus_address).copied().unwrap_or(0);
                (share, n as f64 / epochs as f64)
            })
            .collect()
    }

    #[test]
    fn every_unit_of_power_maps_to_exactly_one_target() {
        let set = validators(&[3, 1, 7, 5]);
        let candidates = eligible(&set);
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for target in 0..16u128 {
            let v = pick(&candidates, target).expect("in range");
            *counts.entry(v.consensus_address.clone()).or_default() += 1;
        }
        for v in &set {
            assert_eq!(counts.get(&v.consensus_address), Some(&v.power));
        }
        assert!(pick(&candidates, 16).is_none());
    }

    /// Stake sets the fairness test and docs/benchmarks.md (`## Producer selection`) use.
    pub fn fairness_sets() -> Vec<(&'static str, Vec<i64>)> {
        vec![
            ("4 equal", vec![10; 4]),
            ("4 skewed 40/30/20/10", vec![40, 30, 20, 10]),
            ("3 skewed 70/20/10", vec![70, 20, 10]),
            (
                "4 large powers 4:1:1:2",
                vec![1_000_000, 250_000, 250_000, 500_000],
            ),
            ("100 stakes 1..=100", (1..=100).collect()),
        ]
    }

    /// Selection frequency over 10,000 epochs is within 5% of each stake share. 10,000 draws
    /// cannot resolve 5% of a small share (one standard deviation is 3% of a 10% share), so the
    /// tolerance is 5% of max(share, 25%): relative for shares of at least a quarter, the same
    /// absolute 1.25 points below.
    #[test]
    fn frequency_within_5_percent_of_stake_share_over_10000_epochs() {
        for (name, powers) in fairness_sets() {
            let f = frequencies(&powers, 10_000);
            let max_rel = f
                .iter()
                .map(|(s, q)| ((q - s) / s).abs())
                .fold(0.0, f64::max);
            let max_abs = f.iter().map(|(s, q)| (q - s).abs()).fold(0.0, f64::max);
            println!(
                "{name}: max relative deviation {:.2}%, max absolute {:.3} points",
                max_rel * 100.0,
                max_abs * 100.0
            );
            for (share, freq) in f {
                assert!(
                    (freq - share).abs() <= 0.05 * share.max(0.25),
                    "{name}: share {share} selected {freq}"
                );
            }
        }
    }

    #[test]
    fn jailed_and_powerless_are_never_selected() {
        let mut set = validators(&[10, 10, 0, 10]);
        set[1].jailed = true;
        for e in 0..2_000u64 {
            let chosen = select(&set, &seed(e, b"h", &[])).expect("eligible");
            assert!(chosen.consensus_address != set[1].consensus_address);
            assert!(chosen.consensus_address != set[2].consensus_address);
        }
        set[0].jailed = true;
        set[3].jailed = true;
        assert!(select(&set, &seed(0, b"h", &[])).is_none());
    }

    #[test]
    fn deterministic_and_seed_sensitive() {
        let set = validators(&[5, 7, 11, 13, 17]);
        let s = seed(42, &[9u8; 32], &[]);
        // Known vector (computed independently with Python's hashlib): a change to the seed
        // derivation or the sampling changes every node's schedule, so it must be deliberate.
        assert_eq!(
            hex::encode(s),
            "83c97d59e2c7fad8c9b47695c242d7c80107b9b1b6f0f73730718f4873220afc"
        );
        // 0x83c97d59e2c7fad8c9b47695c242d7c8 mod 53 = 2, in the first slice (5, 7, 11, 13, 17).
        assert_eq!(
            select(&set, &s).map(|v| v.consensus_address.clone()),
            Some(format!("{:040X}", 0))
        );
        let picks: Vec<String> = (0..50u64)
            .map(|e| {
                select(&set, &seed(e, &[1; 32], &[]))
                    .expect("x")
                    .consensus_address
                    .clone()
            })
            .collect();
        let again: Vec<String> = (0..50u64)
            .map(|e| {
                select(&set, &seed(e, &[1; 32], &[]))
                    .expect("x")
                    .consensus_address
                    .clone()
            })
            .collect();
        assert_eq!(picks, again);
        // Input order does not matter.
        let mut reversed = set.clone();
        reversed.reverse();
        assert_eq!(
            select(&set, &s).map(|v| v.consensus_address.clone()),
            select(&reversed, &s).map(|v| v.consensus_address.clone())
        );
        assert_ne!(seed(1, b"a", &[]), seed(2, b"a", &[]));
        assert_ne!(seed(1, b"a", &[]), seed(1, b"b", &[]));
        assert_ne!(seed(1, b"a", &[]), seed(1, b"a", b"randao"));
    }

    #[test]
    fn the_backup_order_is_every_other_eligible_validator_once_and_follows_the_seed() {
        let mut set = validators(&[40, 30, 20, 10, 0]);
        set[3].jailed = true;
        let seed = seed(1, b"app", &[]);
        let producer = select(&set, &seed)
            .expect("someone")
            .consensus_address
            .clone();
        let order = backup_order(&set, &seed, Some(&producer));
        // Validators 0..=2 are eligible (3 jailed, 4 without power); the producer is not listed.
        let mut sorted = order.clone();
        sorted.push(producer.clone());
        sorted.sort();
        assert_eq!(
            sorted,
            vec![
                format!("{:040X}", 0),
                format!("{:040X}", 1),
                format!("{:040X}", 2)
            ]
        );
        assert_eq!(
            order,
            backup_order(&set, &seed, Some(&producer)),
            "deterministic"
        );
        let other = l1_seed(1, 64, &[7; 32]);
        let orders: std::collections::BTreeSet<Vec<String>> = (0..32u64)
            .map(|e| backup_order(&set, &l1_seed(e, 64, &[7; 32]), None))
            .collect();
        assert!(orders.len() > 1, "the seed changes the order");
        assert_eq!(backup_order(&set, &other, None).len(), 3);
        assert!(backup_order(&validators(&[0, 0]), &other, None).is_empty());
    }

    #[test]
    fn the_first_backup_is_drawn_by_stake_among_the_others() {
        // Without a producer, the first of the order is drawn like the producer: by stake.
        let set = validators(&[60, 30, 10]);
        let mut first: BTreeMap<String, u64> = BTreeMap::new();
        let draws = 20_000u64;
        for e in 0..draws {
            let order = backup_order(&set, &l1_seed(e, 1, &[3; 32]), None);
            *first.entry(order[0].clone()).or_default() += 1;
        }
        for (v, power) in set.iter().zip([60u64, 30, 10]) {
            let got = first.get(&v.consensus_address).copied().unwrap_or(0);
            let expected = draws * power / 100;
            // Within 5% of the draws (about 7 standard deviations at these sizes).
            assert!(
                got.abs_diff(expected) < draws / 20,
                "{}: {got} of {draws}, expected about {expected}",
                v.consensus_address
            );
        }
    }

    #[test]
    fn next_by_stake_wraps_and_skips() {
        let mut set = validators(&[10, 30, 20, 40]);
        // Stake order: 3 (40), 1 (30), 2 (20), 0 (10).
        let a = |i: usize| format!("{i:040X}");
        let next = |set: &[Validator], cur: usize, ex: &[String]| {
            next_by_stake(set, &a(cur), ex).map(|v| v.consensus_address.clone())
        };
        assert_eq!(next(&set, 3, &[]), Some(a(1)));
        assert_eq!(next(&set, 0, &[]), Some(a(3)));
        assert_eq!(next(&set, 3, &[a(1)]), Some(a(2)));
        set[2].jailed = true;
        assert_eq!(next(&set, 1, &[]), Some(a(0)));
        assert_eq!(next(&set, 1, &[a(0), a(3)]), None);
    }

    #[test]
    fn eth_address_matches_known_key() {
        // Private key 1: its address is the well-known 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf.
        let key = k256::SecretKey::from_slice(&{
            let mut k = [0u8; 32];
            k[31] = 1;
            k
        })
        .expect("key");
        let compressed =
            k256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key.public_key(), true);
        assert_eq!(
            hex::encode(eth_address(compressed.as_bytes()).expect("addr")),
            "7e5f4552091a69125d5dfcb7b8c2659029395bdf"
        );
        assert!(eth_address(&[2u8; 5]).is_none());
    }
}
