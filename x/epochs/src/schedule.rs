//! The epoch calendar: which L2 heights each epoch covers, under the recorded length changes.
use crate::{Epoch, LengthChange, Params};

/// The length segment that `pick` selects among the recorded changes (the genesis length alone
/// when there were none): (first epoch, its first L2 height, length).
fn segment(params: &Params, pick: impl Fn(&LengthChange) -> bool) -> (u64, u64, u64) {
    params
        .length_changes
        .iter()
        .rev()
        .find(|c| pick(c))
        .map(|c| (c.from_epoch, c.first_l2_height, c.length.max(1)))
        .unwrap_or((0, 1, params.epoch_length.max(1)))
}

/// The epoch an L2 height belongs to (the L2 genesis block, 0, is in epoch 0).
pub fn epoch_of(params: &Params, l2_height: u64) -> u64 {
    let h = l2_height.max(1);
    let (from, first, len) = segment(params, |c| c.first_l2_height <= h);
    from.saturating_add((h - first.min(h)) / len)
}

/// Epoch `number` with its L2 height range.
pub fn epoch(params: &Params, number: u64) -> Epoch {
    let (from, first, len) = segment(params, |c| c.from_epoch <= number);
    let first_l2_height = first.saturating_add(number.saturating_sub(from).saturating_mul(len));
    Epoch {
        number,
        first_l2_height,
        last_l2_height: first_l2_height.saturating_add(len - 1),
    }
}
