use seqpool_component::{StateRead, StateReadProto, StateWrite, StateWriteProto, StoreError};

use crate::params::default_params;
use crate::{state_key, Params, Proposal, Vote};

pub trait GovRead: StateRead {
    fn gov_params(&self) -> Result<Params, StoreError> {
        Ok(self
            .get_proto(state_key::params())?
            .unwrap_or_else(default_params))
    }

    fn proposal(&self, id: u64) -> Result<Option<Proposal>, StoreError> {
        self.get_proto(&state_key::proposal(id))
    }

    /// The id the next proposal gets (ids start at 1).
    fn next_proposal_id(&self) -> Result<u64, StoreError> {
        Ok(self.get_u64(state_key::next_proposal_id())?.unwrap_or(1))
    }

    fn votes(&self, id: u64) -> Result<Vec<Vote>, StoreError> {
        Ok(self
            .prefix_proto::<Vote>(&state_key::votes_prefix(id))?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    fn vote(&self, id: u64, voter: &str) -> Result<Option<Vote>, StoreError> {
        self.get_proto(&state_key::vote(id, voter))
    }

    /// Proposals open for votes as (voting end, unix nanoseconds; id), earliest end first.
    fn voting_queue(&self) -> Result<Vec<(u64, u64)>, StoreError> {
        let prefix = state_key::voting_queue_prefix();
        self.prefix_raw(prefix)?
            .into_iter()
            .map(|(k, _)| {
                let rest = &k[prefix.len()..];
                let parsed = (rest.len() == 16)
                    .then(|| {
                        let end: [u8; 8] = rest[..8].try_into().ok()?;
                        let id: [u8; 8] = rest[8..].try_into().ok()?;
                        Some((u64::from_be_bytes(end), u64::from_be_bytes(id)))
                    })
                    .flatten();
                parsed.ok_or_else(|| StoreError::Corrupt {
                    key: String::from_utf8_lossy(&k).into_owned(),
                    reason: "not a voting queue key".into(),
                })
            })
            .collect()
    }
}
impl<T: StateRead + ?Sized> GovRead for T {}

pub trait GovWrite: StateWrite {
    fn put_gov_params(&mut self, params: &Params) {
        self.put_proto(state_key::params().to_vec(), params);
    }
    fn put_proposal(&mut self, proposal: &Proposal) {
        self.put_proto(state_key::proposal(proposal.id), proposal);
    }
    fn set_next_proposal_id(&mut self, id: u64) {
        self.put_u64(state_key::next_proposal_id().to_vec(), id);
    }
    fn put_vote(&mut self, vote: &Vote) {
        self.put_proto(state_key::vote(vote.proposal_id, &vote.voter), vote);
    }
    fn enqueue_voting(&mut self, end_unix_nanos: u64, id: u64) {
        // The store keeps no empty values; the id is what the entry is about.
        self.put_raw(
            state_key::voting_queue(end_unix_nanos, id),
            id.to_be_bytes().to_vec(),
        );
    }
    fn dequeue_voting(&mut self, end_unix_nanos: u64, id: u64) {
        self.delete(state_key::voting_queue(end_unix_nanos, id));
    }
}
impl<T: StateWrite + ?Sized> GovWrite for T {}
