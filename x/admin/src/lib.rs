//! x/admin: the admin account from genesis. The admin may change any module's params
//! (`MsgUpdateParams`, except x/gov's own) and hand its role to another account
//! (`MsgTransferAdmin`). A passed governance proposal holds the same powers as the gov authority
//! (x/gov).

pub mod genesis;
pub mod handlers;
pub mod query;
pub mod state;
pub mod state_key;

pub use seqpool_proto::admin::v1::{
    GenesisState, MsgRetireAdmin, MsgTransferAdmin, MsgUpdateParams,
};
pub use state::{AdminRead, AdminWrite};
