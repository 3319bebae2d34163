//! x/auth: the registered accounts (the admin and validator operators; there is no native token and
//! no fee, so only registered accounts may send transactions), their sequences, and the limits every
//! transaction must respect.

pub mod genesis;
pub mod params;
pub mod query;
pub mod state;
pub mod state_key;

pub use seqpool_proto::auth::v1::{Account, GenesisState, Params};
pub use state::{AuthRead, AuthWrite};
