//! Typed access to x/mpc state through extension traits on the store.
use seqpool_component::{StateRead, StateReadProto, StateWrite, StateWriteProto, StoreError};

use crate::params::default_params;
use crate::{
    state_key, GroupKey, KeygenSession, Member, Params, RequestStatus, RequestType, SigningAttempt,
    SigningRequest,
};

/// Every request status, for clearing the status index when the stored request is unreadable.
pub const ALL_STATUSES: [RequestStatus; 6] = [
    RequestStatus::Unspecified,
    RequestStatus::Pending,
    RequestStatus::Signing,
    RequestStatus::Signed,
    RequestStatus::Landed,
    RequestStatus::Failed,
];

fn id_suffix(key: &[u8], prefix: &[u8]) -> Option<u64> {
    key.get(prefix.len()..prefix.len() + 8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
}

pub trait MpcRead: StateRead {
    fn mpc_params(&self) -> Result<Params, StoreError> {
        Ok(self
            .get_proto(state_key::PARAMS)?
            .unwrap_or_else(default_params))
    }

    /// Registered members, by validator address.
    fn members(&self) -> Result<Vec<Member>, StoreError> {
        Ok(self
            .prefix_proto::<Member>(state_key::MEMBERS_PREFIX)?
            .into_iter()
            .map(|(_, m)| m)
            .collect())
    }

    fn member(&self, validator: &str) -> Result<Option<Member>, StoreError> {
        self.get_proto(&state_key::member(validator))
    }

    fn member_by_identifier(&self, identifier: &[u8]) -> Result<Option<Member>, StoreError> {
        Ok(self
            .members()?
            .into_iter()
            .find(|m| m.identifier == identifier))
    }

    fn group_key(&self, key_id: u64) -> Result<Option<GroupKey>, StoreError> {
        self.get_proto(&state_key::key(key_id))
    }

    fn group_keys(&self) -> Result<Vec<GroupKey>, StoreError> {
        Ok(self
            .prefix_proto::<GroupKey>(state_key::KEYS_PREFIX)?
            .into_iter()
            .map(|(_, k)| k)
            .collect())
    }

    fn active_key_id(&self) -> Result<Option<u64>, StoreError> {
        self.get_u64(state_key::ACTIVE_KEY)
    }

    fn active_key(&self) -> Result<Option<GroupKey>, StoreError> {
        match self.active_key_id()? {
            Some(id) => self.group_key(id),
            None => Ok(None),
        }
    }

    fn keygen_session(&self, session_id: u64) -> Result<Option<KeygenSession>, StoreError> {
        self.get_proto(&state_key::keygen_session(session_id))
    }

    fn keygen_sessions(&self) -> Result<Vec<KeygenSession>, StoreError> {
        Ok(self
            .prefix_proto::<KeygenSession>(state_key::KEYGEN_SESSIONS_PREFIX)?
            .into_iter()
            .map(|(_, s)| s)
            .collect())
    }

    fn signing_request(&self, request_id: u64) -> Result<Option<SigningRequest>, StoreError> {
        self.get_proto(&state_key::request(request_id))
    }

    /// Requests from `from_id` on, at most `limit`.
    fn signing_requests(
        &self,
        from_id: u64,
        limit: usize,
    ) -> Result<Vec<SigningRequest>, StoreError> {
        // Decode only the requests returned.
        self.prefix_raw(state_key::REQUESTS_PREFIX)?
            .into_iter()
            .filter(|(k, _)| {
                id_suffix(k, state_key::REQUESTS_PREFIX).is_some_and(|id| id >= from_id)
            })
            .take(limit)
            .map(|(key, bytes)| {
                prost::Message::decode(bytes.as_slice()).map_err(|e: prost::DecodeError| {
                    StoreError::Corrupt {
                        key: String::from_utf8_lossy(&key).into_owned(),
                        reason: e.to_string(),
                    }
                })
            })
            .collect()
    }

    /// Ids of the requests in `status`, ascending (the status index; no request is read).
    fn request_ids_with_status(&self, status: RequestStatus) -> Result<Vec<u64>, StoreError> {
        let prefix = state_key::requests_by_status_prefix(status as i32);
        Ok(self
            .prefix_raw(&prefix)?
            .into_iter()
            .filter_map(|(k, _)| id_suffix(&k, &prefix))
            .collect())
    }

    /// Requests in `status` from `from_id` on, at most `limit`, in id order.
    fn signing_requests_with_status(
        &self,
        status: RequestStatus,
        from_id: u64,
        limit: usize,
    ) -> Result<Vec<SigningRequest>, StoreError> {
        let mut out = Vec::new();
        for id in self.request_ids_with_status(status)? {
            if out.len() >= limit {
                break;
            }
            if id < from_id {
                continue;
            }
            if let Some(request) = self.signing_request(id)? {
                out.push(request);
            }
        }
        Ok(out)
    }

    /// Ids of requests that are pending or signing, ascending.
    fn open_request_ids(&self) -> Result<Vec<u64>, StoreError> {
        let mut ids = self.request_ids_with_status(RequestStatus::Pending)?;
        ids.extend(self.request_ids_with_status(RequestStatus::Signing)?);
        ids.sort_unstable();
        Ok(ids)
    }

    /// The request of an L1 type with replay `sequence` (not BATCH: see `requests::batch_request`).
    fn request_by_sequence(
        &self,
        request_type: RequestType,
        sequence: u64,
    ) -> Result<Option<SigningRequest>, StoreError> {
        match self.get_u64(&state_key::request_by_sequence(
            request_type as i32,
            sequence,
        ))? {
            Some(id) => self.signing_request(id),
            None => Ok(None),
        }
    }

    fn signing_attempts(&self, request_id: u64) -> Result<Vec<SigningAttempt>, StoreError> {
        Ok(self
            .prefix_proto::<SigningAttempt>(&state_key::attempts_prefix(request_id))?
            .into_iter()
            .map(|(_, a)| a)
            .collect())
    }

    fn signing_attempt(
        &self,
        request_id: u64,
        attempt: u32,
    ) -> Result<Option<SigningAttempt>, StoreError> {
        self.get_proto(&state_key::attempt(request_id, attempt))
    }
}

impl<S: StateRead + ?Sized> MpcRead for S {}

pub trait MpcWrite: StateWrite {
    fn put_mpc_params(&mut self, params: &Params) {
        self.put_proto(state_key::PARAMS.to_vec(), params);
    }

    fn put_member(&mut self, member: &Member) {
        self.put_proto(state_key::member(&member.validator), member);
    }

    fn put_group_key(&mut self, key: &GroupKey) {
        self.put_proto(state_key::key(key.key_id), key);
    }

    fn set_active_key(&mut self, key_id: u64) {
        self.put_u64(state_key::ACTIVE_KEY.to_vec(), key_id);
    }

    fn put_keygen_session(&mut self, session: &KeygenSession) {
        self.put_proto(state_key::keygen_session(session.session_id), session);
    }

    /// Stores the request and keeps the status index in step with its status. Every status change
    /// goes through here.
    fn put_signing_request(&mut self, request: &SigningRequest) {
        let id = request.request_id;
        let status = request.status;
        // The stored status, to move the index entry; unreadable -> clear every other status
        // (a delete of an absent key changes no state).
        let previous: Option<Vec<i32>> = match self.signing_request(id) {
            Ok(Some(old)) => Some(vec![old.status]),
            Ok(None) => Some(Vec::new()),
            Err(_) => None,
        };
        let stale = previous.unwrap_or_else(|| ALL_STATUSES.iter().map(|s| *s as i32).collect());
        for old in stale.into_iter().filter(|old| *old != status) {
            self.delete(state_key::request_by_status(old, id));
        }
        // The store refuses empty values.
        self.put_raw(state_key::request_by_status(status, id), vec![1]);
        self.put_proto(state_key::request(id), request);
    }

    fn put_signing_attempt(&mut self, attempt: &SigningAttempt) {
        self.put_proto(
            state_key::attempt(attempt.request_id, attempt.attempt),
            attempt,
        );
    }

    /// Takes the next id from the counter at `key` (ids start at 1).
    fn take_id(&mut self, key: &[u8]) -> Result<u64, StoreError> {
        let id = self.get_u64(key)?.unwrap_or(1);
        self.put_u64(key.to_vec(), id + 1);
        Ok(id)
    }
}

impl<S: StateWrite + ?Sized> MpcWrite for S {}
