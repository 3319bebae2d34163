//! Reshare by redistribution: at least t old holders each split their own share to the new
//! member set with the new threshold; receivers check every deal and combine the sub-shares with
//! Lagrange weights, so the group key never changes while members and threshold do.

mod dealer;
mod lagrange;
mod receiver;

pub use dealer::deal;
pub use lagrange::lagrange_at_zero;
pub use receiver::{check_confirmation, combine_public, seal_confirmation, ReshareReceiver};
