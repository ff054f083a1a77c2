//! Wraps each `Peer` a node sends through, to report every AppendEntries it sends, every
//! answer of a higher term and every granted vote that reaches it: the leader's and the
//! candidate's side of the wire, as any implementation uses it (the step-down and election
//! quorum checks of [`crate::checks::protocol`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rafty::{NodeId, Peer, PeerError};

use crate::checks::invariants::Observation;
use crate::peer_calls::{Answer, Call, PeerLayer};

use super::observe::Observations;

/// A peer of node `node`, reporting what `node` sends through it and the higher terms it hears
/// (a [`PeerLayer`]: [`PeerLayer::into_peer`] makes it the `Peer`).
pub struct ObservedPeer {
    node: NodeId,
    inner: Arc<dyn Peer>,
    observations: Observations,
}

impl ObservedPeer {
    /// Report `node`'s calls through `inner`.
    pub fn new(node: NodeId, inner: Arc<dyn Peer>, observations: Observations) -> Self {
        ObservedPeer {
            node,
            inner,
            observations,
        }
    }
}

#[async_trait]
impl PeerLayer for ObservedPeer {
    fn id(&self) -> NodeId {
        self.inner.id()
    }

    /// RequestVote and AppendEntries observed; every other call (TimeoutNow, ReadIndex, which
    /// the trait's defaults would refuse, included) passed on untouched.
    async fn call(&self, call: Call, timeout: Duration) -> Result<Answer, PeerError> {
        match call {
            Call::RequestVote(request) => {
                let response = self.inner.request_vote(request, timeout).await?;
                if response.vote_granted && !response.pre_vote {
                    let received = Observation::VoteReceived {
                        voter: self.inner.id(),
                        term: response.term,
                    };
                    self.observations.observe(self.node, received);
                }
                Ok(Answer::RequestVote(response))
            }
            Call::AppendEntries(request) => {
                let term = request.term;
                let sent = Observation::AppendSent { term };
                self.observations.observe(self.node, sent);
                let response = self.inner.append_entries(request, timeout).await?;
                if response.success && response.term == term {
                    let acknowledged = Observation::AppendAcknowledged {
                        follower: self.inner.id(),
                        term,
                        match_index: response.match_index,
                    };
                    self.observations.observe(self.node, acknowledged);
                }
                if response.term > term {
                    let heard = Observation::HigherTermHeard {
                        request_term: term,
                        term: response.term,
                    };
                    self.observations.observe(self.node, heard);
                }
                Ok(Answer::AppendEntries(response))
            }
            other => other.send(&*self.inner, timeout).await,
        }
    }
}
