//! The reference server the suite calls through the user's [`Peer`](crate::Peer): it answers
//! every call with a pure function of the request, so the suite knows each right answer, and
//! it can be told to stall.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::SERVER_ID;
use crate::message::{
    AppendEntries, AppendEntriesResponse, ConflictHint, InstallSnapshot, InstallSnapshotResponse,
    RequestVote, RequestVoteResponse, TimeoutNow, TimeoutNowResponse,
};
use crate::peer::{ForwardResponse, PeerError, RpcHandler};
use crate::types::{Entry, Payload, Term};

/// A forwarded command starting with this byte makes the server sleep as many milliseconds as
/// the next byte says before answering.
pub const DELAY_TAG: u8 = 0xD1;
/// A forwarded command that stalls forever.
pub const STALL: &[u8] = b"stall";
/// A forwarded command the server refuses with [`PeerError::Rejected`].
pub const REJECT: &[u8] = b"reject";
/// An InstallSnapshot chunk in this term (no leader is ever in term 0) is refused with
/// [`PeerError::Rejected`].
pub const REFUSED_SNAPSHOT_TERM: Term = 0;

/// The reference [`RpcHandler`].
#[derive(Default)]
pub struct ReferenceServer {
    stall: AtomicBool,
    forwards_seen: Mutex<Vec<Vec<u8>>>,
    snapshots_seen: Mutex<Vec<InstallSnapshot>>,
}

impl ReferenceServer {
    /// Every forwarded command the handler has received so far, in order of arrival.
    pub fn forwards_seen(&self) -> Vec<Vec<u8>> {
        self.forwards_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Every InstallSnapshot chunk the handler has received so far, whole, in order of
    /// arrival.
    pub fn snapshots_seen(&self) -> Vec<InstallSnapshot> {
        self.snapshots_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Make every call stall (never answer) while `stall` is set.
    pub fn set_stall(&self, stall: bool) {
        self.stall.store(stall, Ordering::SeqCst);
    }

    async fn maybe_stall(&self) {
        if self.stall.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }
}

/// The answer to a RequestVote: granted when the candidate's log is long enough.
pub fn vote_answer(request: &RequestVote) -> RequestVoteResponse {
    RequestVoteResponse {
        term: request.term,
        vote_granted: request.last_log_index >= 10,
        pre_vote: request.pre_vote,
    }
}

/// The answer to a TimeoutNow (§3.10): the next term, campaigning when the leader's id is odd
/// (so both values of the flag travel back).
pub fn timeout_now_answer(request: &TimeoutNow) -> TimeoutNowResponse {
    TimeoutNowResponse {
        term: request.term.saturating_add(1),
        campaigning: request.leader_id % 2 == 1,
    }
}

/// A checksum of entries (FNV-1a over index, term and payload).
pub fn entries_digest(entries: &[Entry]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |bytes: &[u8]| {
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for entry in entries {
        eat(&entry.index.to_le_bytes());
        eat(&entry.term.to_le_bytes());
        match &entry.payload {
            Payload::Noop => eat(b"noop"),
            Payload::Command(bytes) => eat(bytes),
            Payload::Membership(membership) => eat(membership.to_string().as_bytes()),
        }
    }
    hash
}

/// The answer to an AppendEntries: success for an even `prev_log_index`, and a checksum of
/// the entries received in the conflict hint (so the suite sees they arrived intact).
pub fn append_answer(request: &AppendEntries) -> AppendEntriesResponse {
    AppendEntriesResponse {
        term: request.term,
        success: request.prev_log_index % 2 == 0,
        match_index: request.prev_log_index + request.entries.len() as u64,
        conflict: Some(ConflictHint {
            term: Some(entries_digest(&request.entries)),
            index: request.entries.len() as u64,
        }),
    }
}

/// The answer to a forwarded command: the command reversed.
pub fn forward_answer(command: &[u8]) -> ForwardResponse {
    let mut reversed = command.to_vec();
    reversed.reverse();
    ForwardResponse::Applied(reversed)
}

/// The answer to an InstallSnapshot chunk: the offset after it, and `installed` for a last
/// chunk whose own bytes match `checksum` (the suite sends each snapshot as one chunk when it
/// means it to be installed).
pub fn snapshot_answer(request: &InstallSnapshot) -> InstallSnapshotResponse {
    InstallSnapshotResponse {
        term: request.term,
        last_included_index: request.last_included_index,
        next_offset: request.offset.wrapping_add(request.data.len() as u64),
        installed: request.done && crc32c::crc32c(&request.data) == request.checksum,
    }
}

#[async_trait]
impl RpcHandler for ReferenceServer {
    async fn request_vote(&self, request: RequestVote) -> Result<RequestVoteResponse, PeerError> {
        self.maybe_stall().await;
        Ok(vote_answer(&request))
    }

    async fn append_entries(
        &self,
        request: AppendEntries,
    ) -> Result<AppendEntriesResponse, PeerError> {
        self.maybe_stall().await;
        Ok(append_answer(&request))
    }

    async fn forward(&self, command: Vec<u8>) -> Result<ForwardResponse, PeerError> {
        self.forwards_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(command.clone());
        self.maybe_stall().await;
        if command == STALL {
            std::future::pending::<()>().await;
        }
        if command == REJECT {
            return Err(PeerError::Rejected {
                peer: SERVER_ID,
                reason: "the reference server rejects this command".into(),
            });
        }
        if let [DELAY_TAG, delay_ms, ..] = command[..] {
            tokio::time::sleep(Duration::from_millis(u64::from(delay_ms))).await;
        }
        Ok(forward_answer(&command))
    }

    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        self.snapshots_seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(request.clone());
        self.maybe_stall().await;
        if request.term == REFUSED_SNAPSHOT_TERM {
            return Err(PeerError::Rejected {
                peer: SERVER_ID,
                reason: "the reference server refuses snapshots in term 0".into(),
            });
        }
        Ok(snapshot_answer(&request))
    }

    async fn timeout_now(&self, request: TimeoutNow) -> Result<TimeoutNowResponse, PeerError> {
        self.maybe_stall().await;
        Ok(timeout_now_answer(&request))
    }
}
