//! What every seqpool state-machine module shares: typed state access over the store, the context a
//! message runs in, stable error codes and events.

pub mod address;
pub mod codes;
mod context;
mod error;
mod events;
mod query;
mod typed;

pub use context::{BlockContext, MsgContext};
pub use error::TxError;
pub use events::Event;
pub use query::QueryError;
pub use seqpool_store::{StateRead, StateWrite, StoreError};
pub use typed::{StateReadProto, StateWriteProto};

/// Bech32 human-readable prefix of seqpool account addresses.
pub const ADDRESS_PREFIX: &str = "seqpool";
