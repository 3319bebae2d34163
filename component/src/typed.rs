use prost::Message;
use seqpool_store::{StateRead, StateWrite, StoreError};

/// Typed reads of protobuf values, for every [`StateRead`].
pub trait StateReadProto: StateRead {
    fn get_proto<M: Message + Default>(&self, key: &[u8]) -> Result<Option<M>, StoreError> {
        match self.get_raw(key)? {
            None => Ok(None),
            Some(bytes) => M::decode(bytes.as_slice())
                .map(Some)
                .map_err(|e| StoreError::Corrupt {
                    key: String::from_utf8_lossy(key).into_owned(),
                    reason: e.to_string(),
                }),
        }
    }

    fn prefix_proto<M: Message + Default>(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, M)>, StoreError> {
        self.prefix_raw(prefix)?
            .into_iter()
            .map(|(k, v)| {
                M::decode(v.as_slice())
                    .map(|m| (k.clone(), m))
                    .map_err(|e| StoreError::Corrupt {
                        key: String::from_utf8_lossy(&k).into_owned(),
                        reason: e.to_string(),
                    })
            })
            .collect()
    }

    fn get_u64(&self, key: &[u8]) -> Result<Option<u64>, StoreError> {
        match self.get_raw(key)? {
            None => Ok(None),
            Some(bytes) => {
                let arr: [u8; 8] =
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| StoreError::Corrupt {
                            key: String::from_utf8_lossy(key).into_owned(),
                            reason: format!("expected 8 bytes, found {}", bytes.len()),
                        })?;
                Ok(Some(u64::from_be_bytes(arr)))
            }
        }
    }
}

impl<T: StateRead + ?Sized> StateReadProto for T {}

/// Typed writes of protobuf values, for every [`StateWrite`].
pub trait StateWriteProto: StateWrite {
    fn put_proto<M: Message>(&mut self, key: Vec<u8>, value: &M) {
        self.put_raw(key, value.encode_to_vec());
    }
    fn put_u64(&mut self, key: Vec<u8>, value: u64) {
        self.put_raw(key, value.to_be_bytes().to_vec());
    }
}

impl<T: StateWrite + ?Sized> StateWriteProto for T {}
