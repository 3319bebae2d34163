//! Which mempool txs a proposal carries, and in what order.
//!
//! CometBFT hands PrepareProposal its mempool in its own order, which under load is not always an
//! account's sequence order: a peer's copy of a tx that dropped out of the tx cache is appended
//! behind the account's later txs, and rechecks and gossip interleave. A tx whose sequence is not
//! the account's next one fails in the block (`sequence_gap`), CometBFT then removes it from every
//! mempool as included, and every later tx of that account is stuck behind the gap. So per signer
//! the proposal takes only the txs that continue its committed sequence without a gap, in sequence
//! order; the others stay in the mempool for a later block. Across signers the mempool order is
//! kept: each signer's txs fill the positions its chosen txs had.
use std::collections::BTreeMap;

/// The chosen txs as indexes into `entries` (each a tx's signer and sequence, in mempool order), in
/// proposal order. `committed` gives a signer's next sequence; a signer without one (no account)
/// gets no tx in. Of two txs with the same signer and sequence the first in mempool order is taken.
pub fn select_in_sequence<S: Ord>(
    entries: &[(S, u64)],
    mut committed: impl FnMut(&S) -> Option<u64>,
) -> Vec<usize> {
    // Per signer: sequence -> first index with it.
    let mut by_signer: BTreeMap<&S, BTreeMap<u64, usize>> = BTreeMap::new();
    for (index, (signer, sequence)) in entries.iter().enumerate() {
        by_signer
            .entry(signer)
            .or_default()
            .entry(*sequence)
            .or_insert(index);
    }
    // Position in the mempool order -> the tx that goes there.
    let mut placed: BTreeMap<usize, usize> = BTreeMap::new();
    for (signer, sequences) in by_signer {
        let Some(mut next) = committed(signer) else {
            continue;
        };
        let mut run = Vec::new();
        while let Some(&index) = sequences.get(&next) {
            run.push(index);
            next += 1;
        }
        let mut positions = run.clone();
        positions.sort_unstable();
        placed.extend(positions.into_iter().zip(run));
    }
    placed.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select(entries: &[(&'static str, u64)], committed: &[(&'static str, u64)]) -> Vec<usize> {
        let committed: BTreeMap<&str, u64> = committed.iter().copied().collect();
        select_in_sequence(entries, |s| committed.get(s).copied())
    }

    #[test]
    fn an_account_in_order_passes_through_unchanged() {
        let entries = [("a", 5), ("b", 0), ("a", 6), ("b", 1), ("a", 7)];
        assert_eq!(select(&entries, &[("a", 5), ("b", 0)]), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn out_of_order_sequences_are_sorted_into_the_signers_positions() {
        // The bug seen on the devnet: 2444 and 2445 ahead of 2443.
        let entries = [("a", 2444), ("b", 9), ("a", 2445), ("a", 2443), ("b", 10)];
        // a's positions 0, 2, 3 take 2443, 2444, 2445; b keeps its positions 1 and 4.
        assert_eq!(
            select(&entries, &[("a", 2443), ("b", 9)]),
            vec![3, 1, 0, 2, 4]
        );
    }

    #[test]
    fn txs_behind_a_gap_or_already_used_are_left_out() {
        // a: 3 is missing, so 4 and 5 wait; 1 is below the committed 2. b: starts past its next.
        let entries = [("a", 2), ("a", 4), ("b", 8), ("a", 1), ("a", 5)];
        assert_eq!(select(&entries, &[("a", 2), ("b", 7)]), vec![0]);
    }

    #[test]
    fn a_duplicate_sequence_keeps_the_first_copy_and_an_unknown_signer_gets_nothing() {
        let entries = [("x", 0), ("a", 0), ("a", 0), ("a", 1)];
        assert_eq!(select(&entries, &[("a", 0)]), vec![1, 3]);
    }

    #[test]
    fn the_result_is_the_same_for_any_mempool_order_of_one_account() {
        let committed = [("a", 10)];
        let mut entries: Vec<(&str, u64)> = (10..16).map(|s| ("a", s)).collect();
        for rotation in 0..entries.len() {
            entries.rotate_left(1);
            let chosen = select(&entries, &committed);
            let sequences: Vec<u64> = chosen.iter().map(|&i| entries[i].1).collect();
            assert_eq!(
                sequences,
                (10..16).collect::<Vec<_>>(),
                "rotation {rotation}"
            );
        }
        entries.reverse();
        let chosen = select(&entries, &committed);
        assert_eq!(
            chosen.iter().map(|&i| entries[i].1).collect::<Vec<_>>(),
            (10..16).collect::<Vec<_>>()
        );
    }
}
