/// The block a state transition belongs to. Time comes from the block header, never the wall clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockContext {
    pub chain_id: String,
    pub height: u64,
    /// Block time, unix nanoseconds (from the header; identical on every node).
    pub time_unix_nanos: i128,
}

/// The context one message runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgContext {
    pub block: BlockContext,
    /// Bech32 address of the account that signed the tx (the gov authority for a proposal's
    /// messages).
    pub signer: String,
    /// The passed proposal whose messages run; `None` for a tx's messages.
    pub proposal: Option<u64>,
}
