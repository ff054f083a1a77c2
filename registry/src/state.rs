//! The registry's replicated state machine: services and their instances, leases with a time
//! to live, a config store with compare-and-set, one store-wide revision counter, and the
//! change log that watches read.
//!
//! Time inside is *log time*: the largest `now_ms` any applied command carried. Leases expire
//! only when a leader's [`Command::Tick`] is applied, so every replica expires the same leases
//! at the same index; nothing here reads a clock.

use std::collections::{BTreeMap, VecDeque};
use std::io;

use rafty::snapshot::SnapshotSource;
use rafty::{LogIndex, StateMachine};
use serde::{Deserialize, Serialize};

use crate::bug::{Bugs, RegistryBug};
use crate::clock::RegistryClock;
use crate::command::{Change, ChangeKind, Command, Instance, Query, Response};

/// How many changes the change log keeps by default; older ones are compacted away.
pub const DEFAULT_MAX_CHANGES: usize = 100_000;

/// A lease: what it keeps registered and until when (log time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Lease {
    service: String,
    id: String,
    ttl_ms: u64,
    deadline_ms: u64,
}

/// One service: its instances and its change counter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Service {
    version: u64,
    instances: BTreeMap<String, Instance>,
}

/// The whole replicated state (also the snapshot's content).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct State {
    last_applied: LogIndex,
    revision: u64,
    log_time_ms: u64,
    leader_term: u64,
    services: BTreeMap<String, Service>,
    leases: BTreeMap<u64, Lease>,
    config: BTreeMap<String, String>,
    changes: VecDeque<Change>,
    compacted_through: u64,
    max_changes: usize,
}

/// The registry state machine. Deterministic: ordered maps only, time from the log.
pub struct RegistryStateMachine {
    state: State,
    applied: Option<tokio::sync::watch::Sender<u64>>,
    /// Deliberate bugs (none unless planted, `mutations` feature).
    bugs: Bugs,
    /// The replica's own clock, read only by the planted [`RegistryBug::LeaseByLocalClock`].
    local_clock: Option<RegistryClock>,
    /// Planted [`RegistryBug::WatchSkipsAfterLeaderChange`]: the next change is left out.
    skip_next_change: bool,
}

impl std::fmt::Debug for RegistryStateMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryStateMachine")
            .field("state", &self.state)
            .field("bugs", &self.bugs)
            .finish_non_exhaustive()
    }
}

impl Default for RegistryStateMachine {
    fn default() -> Self {
        RegistryStateMachine::new(DEFAULT_MAX_CHANGES)
    }
}

impl RegistryStateMachine {
    /// An empty registry keeping the last `max_changes` changes for watches (at least 1).
    pub fn new(max_changes: usize) -> Self {
        RegistryStateMachine {
            state: State {
                max_changes: max_changes.max(1),
                ..State::default()
            },
            applied: None,
            bugs: Bugs::default(),
            local_clock: None,
            skip_next_change: false,
        }
    }

    /// Plant `bug`; `local_clock` is the replica's own clock, which only
    /// [`RegistryBug::LeaseByLocalClock`] reads (the harness's catalogue; `mutations` only).
    #[cfg(feature = "mutations")]
    pub fn planting(mut self, bug: RegistryBug, local_clock: RegistryClock) -> Self {
        self.bugs = Bugs::planting(bug);
        self.local_clock = Some(local_clock);
        self
    }

    /// Publish the store revision on `sender` after every applied command (long-polling
    /// watches wait on it).
    pub fn notify(mut self, sender: tokio::sync::watch::Sender<u64>) -> Self {
        self.applied = Some(sender);
        self
    }

    /// The store revision.
    pub fn revision(&self) -> u64 {
        self.state.revision
    }

    /// The largest time applied so far, in milliseconds.
    pub fn log_time_ms(&self) -> u64 {
        self.state.log_time_ms
    }

    /// Apply a decoded command at log index `index`.
    pub fn execute(&mut self, index: LogIndex, command: Command) -> Response {
        match command {
            Command::Register {
                service,
                id,
                address,
                metadata,
                ttl_ms,
                now_ms,
            } => {
                self.advance(now_ms);
                self.remove(&service, &id, None);
                let lease = index;
                let revision = self.state.revision + 1;
                let instance = Instance {
                    id: id.clone(),
                    address,
                    metadata,
                    lease,
                    revision,
                };
                self.state.leases.insert(
                    lease,
                    Lease {
                        service: service.clone(),
                        id: id.clone(),
                        ttl_ms,
                        deadline_ms: self.state.log_time_ms.saturating_add(ttl_ms),
                    },
                );
                let entry = self.state.services.entry(service.clone()).or_default();
                entry.instances.insert(id, instance.clone());
                self.record(service, ChangeKind::Put { instance });
                Response::Registered {
                    revision,
                    lease,
                    ttl_ms,
                }
            }
            Command::Deregister {
                service,
                id,
                now_ms,
            } => {
                self.advance(now_ms);
                let existed = self.remove(
                    &service,
                    &id,
                    Some(ChangeKind::Deregistered { id: id.clone() }),
                );
                Response::Deregistered {
                    revision: self.state.revision,
                    existed,
                }
            }
            Command::KeepAlive { lease, now_ms } => {
                self.advance(now_ms);
                let now = self.state.log_time_ms;
                match self.state.leases.get_mut(&lease) {
                    Some(held) => {
                        held.deadline_ms = held.deadline_ms.max(now.saturating_add(held.ttl_ms));
                        Response::KeptAlive {
                            revision: self.state.revision,
                            lease,
                            ttl_ms: held.ttl_ms,
                        }
                    }
                    None => Response::LeaseNotFound {
                        revision: self.state.revision,
                        lease,
                    },
                }
            }
            Command::Tick { now_ms, term } => {
                self.advance(now_ms);
                let mut now = self.state.log_time_ms;
                if self.bugs.breaks(RegistryBug::LeaseByLocalClock)
                    && let Some(clock) = &self.local_clock
                {
                    now = clock();
                }
                if term > self.state.leader_term {
                    if self.bugs.breaks(RegistryBug::WatchSkipsAfterLeaderChange)
                        && self.state.leader_term > 0
                    {
                        self.skip_next_change = true;
                    }
                    self.state.leader_term = term;
                    for lease in self.state.leases.values_mut() {
                        lease.deadline_ms = lease.deadline_ms.max(now.saturating_add(lease.ttl_ms));
                    }
                }
                let due: Vec<u64> = (self.state.leases.iter())
                    .filter(|(_, lease)| lease.deadline_ms <= now)
                    .map(|(&id, _)| id)
                    .collect();
                for lease in &due {
                    let held = self.state.leases[lease].clone();
                    let kind = ChangeKind::Expired {
                        id: held.id.clone(),
                        lease: *lease,
                    };
                    self.remove(&held.service, &held.id, Some(kind));
                }
                Response::Ticked {
                    revision: self.state.revision,
                    expired: due.len() as u64,
                }
            }
            Command::ConfigPut { key, value } => {
                self.state.config.insert(key, value);
                self.state.revision += 1;
                Response::ConfigWritten {
                    revision: self.state.revision,
                }
            }
            Command::ConfigCas {
                key,
                expected,
                value,
            } => {
                let current = self.state.config.get(&key).cloned();
                if current != expected {
                    return Response::CasFailed {
                        revision: self.state.revision,
                        current,
                    };
                }
                self.state.config.insert(key, value);
                self.state.revision += 1;
                Response::ConfigWritten {
                    revision: self.state.revision,
                }
            }
        }
    }

    /// Answer a query from the local state.
    pub fn answer(&self, query: &Query) -> Response {
        let revision = self.state.revision;
        match query {
            Query::List { service } => Response::Instances {
                revision,
                instances: (self.state.services.get(service))
                    .map(|s| s.instances.values().cloned().collect())
                    .unwrap_or_default(),
            },
            Query::ConfigGet { key } => Response::Value {
                revision,
                value: self.state.config.get(key).cloned(),
            },
            Query::Watch {
                service,
                from,
                limit,
            } => {
                if *from <= self.state.compacted_through {
                    return Response::Compacted {
                        revision,
                        compacted_through: self.state.compacted_through,
                    };
                }
                // The log is in revision order: skip to `from` by binary search.
                let start = self.state.changes.partition_point(|c| c.revision < *from);
                let changes = (self.state.changes.range(start..))
                    .filter(|change| &change.service == service)
                    .take(usize::try_from(*limit).unwrap_or(usize::MAX))
                    .cloned()
                    .collect();
                Response::Changes { revision, changes }
            }
        }
    }

    fn advance(&mut self, now_ms: u64) {
        self.state.log_time_ms = self.state.log_time_ms.max(now_ms);
    }

    /// Remove instance `id` of `service` and revoke its lease; record `change` if it existed
    /// (none: a silent replacement by a new registration, whose own change says it).
    fn remove(&mut self, service: &str, id: &str, change: Option<ChangeKind>) -> bool {
        let Some(entry) = self.state.services.get_mut(service) else {
            return false;
        };
        let Some(instance) = entry.instances.remove(id) else {
            return false;
        };
        self.state.leases.remove(&instance.lease);
        if let Some(kind) = change {
            self.record(service.to_owned(), kind);
        }
        true
    }

    /// Append a change of `service` at the next revision, compacting the log past its bound.
    fn record(&mut self, service: String, kind: ChangeKind) {
        self.state.revision += 1;
        let entry = self.state.services.entry(service.clone()).or_default();
        entry.version += 1;
        let change = Change {
            revision: self.state.revision,
            version: entry.version,
            service,
            kind,
        };
        if let Some(last) = self.state.changes.back() {
            assert!(last.revision < change.revision, "change log out of order");
        }
        if std::mem::take(&mut self.skip_next_change) {
            return;
        }
        self.state.changes.push_back(change);
        while self.state.changes.len() > self.state.max_changes {
            let dropped = self
                .state
                .changes
                .pop_front()
                .expect("longer than its bound");
            self.state.compacted_through = dropped.revision;
        }
    }
}

impl StateMachine for RegistryStateMachine {
    fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8> {
        assert!(
            index > self.state.last_applied,
            "apply out of order: index {index} after {}",
            self.state.last_applied
        );
        self.state.last_applied = index;
        let response = match Command::decode(command) {
            Ok(command) => self.execute(index, command),
            Err(error) => Response::Invalid {
                reason: error.to_string(),
            },
        };
        if let Some(sender) = &self.applied {
            sender.send_replace(self.state.revision);
        }
        response.encode()
    }

    fn query(&self, query: &[u8]) -> Option<Vec<u8>> {
        let response = match Query::decode(query) {
            Ok(query) => self.answer(&query),
            Err(error) => Response::Invalid {
                reason: error.to_string(),
            },
        };
        Some(response.encode())
    }

    fn snapshot(&self) -> Option<Box<dyn SnapshotSource>> {
        Some(Box::new(Snapshot(self.state.clone())))
    }

    fn restore(
        &mut self,
        last_included_index: LogIndex,
        data: &mut dyn io::Read,
    ) -> io::Result<()> {
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes)?;
        let invalid = |reason: String| io::Error::new(io::ErrorKind::InvalidData, reason);
        let mut state: State = serde_json::from_slice(&bytes)
            .map_err(|error| invalid(format!("registry snapshot: {error}")))?;
        if state.last_applied > last_included_index {
            return Err(invalid(format!(
                "registry snapshot: applied index {} past the {last_included_index} it covers",
                state.last_applied
            )));
        }
        state.last_applied = last_included_index;
        state.max_changes = self.state.max_changes;
        self.state = state;
        if let Some(sender) = &self.applied {
            sender.send_replace(self.state.revision);
        }
        Ok(())
    }
}

/// A frozen copy of the state, written as JSON (sorted maps: the same state, the same bytes).
struct Snapshot(State);

impl SnapshotSource for Snapshot {
    fn write_to(self: Box<Self>, out: &mut dyn io::Write) -> io::Result<()> {
        serde_json::to_writer(out, &self.0).map_err(io::Error::other)
    }
}

#[cfg(test)]
mod tests;
