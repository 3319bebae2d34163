//! x/admin: the admin account from genesis. The admin may change any module's params
//! (`MsgUpdateParams`) and hand its role to another account (`MsgTransferAdmin`). Governance takes
//! these powers over in a later version.

pub mod genesis;
pub mod handlers;
pub mod query;
pub mod state;
pub mod state_key;

pub use seqpool_proto::admin::v1::{GenesisState, MsgTransferAdmin, MsgUpdateParams};
pub use state::{AdminRead, AdminWrite};
