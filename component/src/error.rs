use crate::codes;
use seqpool_store::StoreError;

/// Why a tx or message was refused: a stable code from [`codes`] and a message for the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (code {code}: {})", codes::name(*.code))]
pub struct TxError {
    pub code: u32,
    pub message: String,
}

impl TxError {
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
    pub fn invalid_message(message: impl Into<String>) -> Self {
        Self::new(codes::INVALID_MESSAGE, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(codes::UNAUTHORIZED, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(codes::INTERNAL, message)
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        Self::internal(format!("state access failed: {e}"))
    }
}

impl From<prost::DecodeError> for TxError {
    fn from(e: prost::DecodeError) -> Self {
        Self::invalid_message(format!("cannot decode message: {e}"))
    }
}
