//! Client sessions (dissertation §6.3): exactly-once commands over any [`StateMachine`].
//!
//! A client registers a session (a log entry; its index is the client id), then tags each
//! command with (client id, sequence number), one command outstanding at a time. [`Sessions`]
//! wraps the application's state machine and remembers, per client, the last sequence number
//! applied and its response: a retried command (the same sequence number) is answered from
//! that table without being applied again. The table is part of the replicated state: every
//! node builds it by applying the same entries, and it travels in snapshots.
//!
//! Sessions expire by *log time*: the leader stamps its local clock into each session entry
//! when it proposes it ([`stamp_leader_time`], called by the node driver), and the state
//! machine's clock is the largest stamp applied so far. Applying the same log gives the same
//! expiries on every node; nothing reads a clock at apply. A session idle for longer than the
//! timeout is dropped when a later session entry is applied; its client's next command gets
//! [`SessionResponse::Expired`] and is not applied. A leader whose clock is behind (it
//! restarted, its clock counts from its start) only delays expiry: log time never goes back.
//!
//! Commands without a session envelope pass straight through to the wrapped state machine,
//! and a state machine with no session ever registered writes the wrapped machine's snapshot
//! unchanged, so a cluster that never uses sessions behaves byte for byte as without the
//! wrapper.
//!
//! Envelope layout: [`ENVELOPE_MAGIC`], the leader's time in milliseconds (8 bytes, little
//! endian, zero until stamped), then the postcard encoding of a [`SessionCommand`].

use std::collections::BTreeMap;
use std::io;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::snapshot::SnapshotSource;
use crate::state_machine::StateMachine;
use crate::types::LogIndex;

#[cfg(test)]
mod tests;

/// The first byte of a session envelope (no [`crate::kv::KvCommand`] starts with it: postcard
/// writes an enum's variant index first, and the key-value commands have a handful).
pub const ENVELOPE_MAGIC: u8 = 0xA5;

/// The bytes a session-aware snapshot starts with (a wrapped snapshot that happened to start
/// with them would be misread; rafty's own formats start with a small format number).
pub const SNAPSHOT_MAGIC: [u8; 4] = *b"\xA6RSS";

const HEADER_BYTES: usize = 1 + 8;

/// A client's id: the log index of the entry that registered its session.
pub type ClientId = u64;

/// What a session envelope carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionCommand {
    /// Open a session; answered with [`SessionResponse::Registered`].
    Register,
    /// The client's command number `sequence` (from 1, one outstanding at a time).
    Request {
        /// The client, as registered.
        client_id: ClientId,
        /// The command's number in the client's session.
        sequence: u64,
        /// The wrapped state machine's command.
        command: Vec<u8>,
    },
}

/// The answer to a session envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionResponse {
    /// The session is open under `client_id`.
    Registered {
        /// The client's id (the registering entry's index).
        client_id: ClientId,
    },
    /// The wrapped state machine's response: from applying the command now, or remembered
    /// from when it was first applied (a duplicate is never applied twice).
    Applied(Vec<u8>),
    /// No open session has this id (it expired, or was never registered): the command was
    /// not applied now. An earlier copy of it may have been, before the session expired.
    Expired {
        /// The client id asked for.
        client_id: ClientId,
    },
    /// The client already moved past this sequence number, so its response is forgotten; the
    /// command was not applied now (a correct client, one command at a time, never sees it).
    Stale {
        /// The sequence number asked for.
        sequence: u64,
        /// The last one the session applied.
        last_sequence: u64,
    },
    /// The envelope could not be decoded; nothing changed.
    Invalid(String),
}

/// A session envelope could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("session {what}: {reason}")]
pub struct SessionCodecError {
    /// What was being read ("command" or "response").
    pub what: &'static str,
    /// Why it failed.
    pub reason: String,
}

fn envelope(command: &SessionCommand) -> Vec<u8> {
    let mut bytes = vec![ENVELOPE_MAGIC];
    bytes.extend_from_slice(&0u64.to_le_bytes());
    // Integers and byte vectors always encode with postcard: a failure is a broken invariant.
    let body = postcard::to_stdvec(command).expect("a SessionCommand always encodes");
    bytes.extend_from_slice(&body);
    bytes
}

/// The envelope that registers a session.
pub fn register() -> Vec<u8> {
    envelope(&SessionCommand::Register)
}

/// The envelope of `command`, number `sequence` of client `client_id`.
pub fn request(client_id: ClientId, sequence: u64, command: Vec<u8>) -> Vec<u8> {
    envelope(&SessionCommand::Request {
        client_id,
        sequence,
        command,
    })
}

/// Whether `bytes` are a session envelope.
pub fn is_envelope(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_BYTES && bytes[0] == ENVELOPE_MAGIC
}

/// Stamp the leader's local time `now` into a session envelope as it is proposed (the node
/// driver calls this for every command it appends as leader); other commands are untouched.
pub fn stamp_leader_time(command: &mut [u8], now: Duration) {
    if is_envelope(command) {
        let millis = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
        command[1..HEADER_BYTES].copy_from_slice(&millis.to_le_bytes());
    }
}

/// Read a session envelope: the leader's time in milliseconds and the command. `None` when
/// `bytes` are not an envelope.
pub fn decode_envelope(bytes: &[u8]) -> Option<Result<(u64, SessionCommand), SessionCodecError>> {
    if !is_envelope(bytes) {
        return None;
    }
    let mut time = [0u8; 8];
    time.copy_from_slice(&bytes[1..HEADER_BYTES]);
    Some(
        decode_all("command", &bytes[HEADER_BYTES..])
            .map(|command| (u64::from_le_bytes(time), command)),
    )
}

/// The wrapped state machine's command inside an envelope (the bytes themselves when they
/// are not a request envelope): what an observer compares across nodes and with a client's
/// command.
pub fn inner_command(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match decode_envelope(bytes) {
        Some(Ok((_, SessionCommand::Request { command, .. }))) => command.into(),
        _ => bytes.into(),
    }
}

impl SessionResponse {
    /// The response's wire form.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("a SessionResponse always encodes")
    }

    /// Read a response; trailing bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<SessionResponse, SessionCodecError> {
        decode_all("response", bytes)
    }
}

fn decode_all<'a, T: Deserialize<'a>>(
    what: &'static str,
    bytes: &'a [u8],
) -> Result<T, SessionCodecError> {
    let error = |reason: String| SessionCodecError { what, reason };
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(|e| error(e.to_string()))?;
    if !rest.is_empty() {
        return Err(error(format!("{} trailing bytes", rest.len())));
    }
    Ok(value)
}

/// What the table remembers of one client (§6.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Session {
    /// The last sequence number applied (0: none yet).
    last_sequence: u64,
    /// Its response.
    last_response: Vec<u8>,
    /// The log time of the session's last entry, in milliseconds.
    last_active_ms: u64,
}

/// The replicated session state: the clients' sessions and the log time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Table {
    /// Whether a session entry was ever applied (until then snapshots are the wrapped
    /// machine's own).
    used: bool,
    /// The largest leader time stamped on an applied session entry, in milliseconds.
    log_time_ms: u64,
    sessions: BTreeMap<ClientId, Session>,
}

/// A [`StateMachine`] that gives its clients exactly-once commands through sessions (§6.3);
/// see the module's documentation.
///
/// The wrapped machine is handed every index: an entry it must not apply (a registration, a
/// duplicate, a refused command) arrives as an empty command, which it must answer (the
/// answer is dropped) without changing its state, as the [`StateMachine`] contract asks of any
/// command it cannot decode.
#[derive(Debug)]
pub struct Sessions<S> {
    inner: S,
    table: Table,
    timeout_ms: u64,
    /// The planted bug `Mutation::SessionTableNotInSnapshot`.
    #[cfg(feature = "mutations")]
    table_not_in_snapshot: bool,
}

impl<S: StateMachine> Sessions<S> {
    /// The default session timeout: a session idle this long in log time expires.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// Wrap `inner`, expiring sessions idle for [`Sessions::DEFAULT_TIMEOUT`].
    pub fn new(inner: S) -> Self {
        Sessions::with_timeout(inner, Sessions::<S>::DEFAULT_TIMEOUT)
    }

    /// Wrap `inner`, expiring sessions idle (in log time) for longer than `timeout`. Every
    /// node of a cluster must use the same timeout, or their states diverge.
    pub fn with_timeout(inner: S, timeout: Duration) -> Self {
        Sessions {
            inner,
            table: Table::default(),
            timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            #[cfg(feature = "mutations")]
            table_not_in_snapshot: false,
        }
    }

    /// The wrapped state machine.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The open sessions' client ids, in order.
    pub fn clients(&self) -> Vec<ClientId> {
        self.table.sessions.keys().copied().collect()
    }

    /// The log time, in milliseconds: the largest leader time applied.
    pub fn log_time_ms(&self) -> u64 {
        self.table.log_time_ms
    }

    /// Plant `Mutation::SessionTableNotInSnapshot`: snapshots keep the open sessions but not
    /// what each applied (its last sequence number and response), so a node restored from one
    /// applies a retried command again.
    #[cfg(feature = "mutations")]
    pub fn leave_table_out_of_snapshots(mut self) -> Self {
        self.table_not_in_snapshot = true;
        self
    }

    fn apply_session(
        &mut self,
        index: LogIndex,
        time_ms: u64,
        command: SessionCommand,
    ) -> SessionResponse {
        self.advance_log_time(time_ms);
        match command {
            SessionCommand::Register => {
                let session = Session {
                    last_sequence: 0,
                    last_response: Vec::new(),
                    last_active_ms: self.table.log_time_ms,
                };
                let previous = self.table.sessions.insert(index, session);
                assert!(previous.is_none(), "client id {index} registered twice");
                self.skip(index);
                SessionResponse::Registered { client_id: index }
            }
            SessionCommand::Request {
                client_id,
                sequence,
                command,
            } => self.apply_request(index, client_id, sequence, &command),
        }
    }

    /// §6.3: apply a new sequence number once, answer a duplicate from the table.
    fn apply_request(
        &mut self,
        index: LogIndex,
        client_id: ClientId,
        sequence: u64,
        command: &[u8],
    ) -> SessionResponse {
        let now = self.table.log_time_ms;
        let refusal = match self.table.sessions.get_mut(&client_id) {
            None => Some(SessionResponse::Expired { client_id }),
            Some(session) => {
                session.last_active_ms = now;
                if sequence == session.last_sequence && sequence != 0 {
                    Some(SessionResponse::Applied(session.last_response.clone()))
                } else if sequence <= session.last_sequence {
                    Some(SessionResponse::Stale {
                        sequence,
                        last_sequence: session.last_sequence,
                    })
                } else {
                    None
                }
            }
        };
        if let Some(refusal) = refusal {
            self.skip(index);
            return refusal;
        }
        let response = self.inner.apply(index, command);
        let session = self
            .table
            .sessions
            .get_mut(&client_id)
            .expect("the session was found above");
        session.last_sequence = sequence;
        session.last_response = response.clone();
        SessionResponse::Applied(response)
    }

    /// Hand the wrapped machine an entry it must not apply (a registration, a duplicate, a
    /// refused command) as an empty command, whose response is dropped: it sees every index,
    /// as without sessions, so its own record of how far it got is the same on a node that
    /// applied the entries and on one restored from a snapshot.
    fn skip(&mut self, index: LogIndex) {
        let _ = self.inner.apply(index, &[]);
    }

    /// Move log time forward to `time_ms` (never back) and drop the sessions idle for longer
    /// than the timeout.
    fn advance_log_time(&mut self, time_ms: u64) {
        let table = &mut self.table;
        table.used = true;
        table.log_time_ms = table.log_time_ms.max(time_ms);
        let now = table.log_time_ms;
        let timeout = self.timeout_ms;
        table
            .sessions
            .retain(|_, session| now.saturating_sub(session.last_active_ms) <= timeout);
    }

    /// The table a snapshot carries: the whole table, or with the planted bug only the open
    /// sessions, each as if it had applied nothing.
    fn table_for_snapshot(&self) -> Table {
        #[allow(unused_mut)]
        let mut table = self.table.clone();
        #[cfg(feature = "mutations")]
        if self.table_not_in_snapshot {
            for session in table.sessions.values_mut() {
                session.last_sequence = 0;
                session.last_response.clear();
            }
        }
        table
    }
}

impl<S: StateMachine> StateMachine for Sessions<S> {
    fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8> {
        match decode_envelope(command) {
            None => self.inner.apply(index, command),
            Some(Ok((time_ms, command))) => self.apply_session(index, time_ms, command).encode(),
            Some(Err(error)) => {
                self.skip(index);
                SessionResponse::Invalid(error.to_string()).encode()
            }
        }
    }

    fn query(&self, query: &[u8]) -> Option<Vec<u8>> {
        self.inner.query(query)
    }

    fn snapshot(&self) -> Option<Box<dyn SnapshotSource>> {
        let inner = self.inner.snapshot()?;
        if !self.table.used {
            return Some(inner);
        }
        Some(Box::new(SessionsSnapshot {
            table: self.table_for_snapshot(),
            inner,
        }))
    }

    /// Read a snapshot written by [`Sessions::snapshot`]: the table (when it starts with
    /// [`SNAPSHOT_MAGIC`], else an empty one) and the wrapped machine's snapshot after it.
    fn restore(
        &mut self,
        last_included_index: LogIndex,
        data: &mut dyn io::Read,
    ) -> io::Result<()> {
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes)?;
        let (table, rest) = match bytes.strip_prefix(&SNAPSHOT_MAGIC[..]) {
            None => (Table::default(), &bytes[..]),
            Some(body) => postcard::take_from_bytes::<Table>(body).map_err(|error| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("session table in snapshot: {error}"),
                )
            })?,
        };
        self.inner.restore(last_included_index, &mut &rest[..])?;
        self.table = table;
        Ok(())
    }
}

/// A snapshot of [`Sessions`]: [`SNAPSHOT_MAGIC`], the postcard table, the wrapped snapshot.
struct SessionsSnapshot {
    table: Table,
    inner: Box<dyn SnapshotSource>,
}

impl SnapshotSource for SessionsSnapshot {
    fn write_to(self: Box<Self>, out: &mut dyn io::Write) -> io::Result<()> {
        let table = postcard::to_stdvec(&self.table).map_err(io::Error::other)?;
        out.write_all(&SNAPSHOT_MAGIC)?;
        out.write_all(&table)?;
        self.inner.write_to(out)
    }
}
