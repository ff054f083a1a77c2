//! What the registry replicates and answers: commands (through the log), queries (read
//! without the log, after ReadIndex), and their answers. Commands and queries travel as
//! postcard bytes; answers as JSON, which is also what the HTTP API serves (postcard cannot
//! carry the `type`-tagged enums the JSON shows).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One instance of a service, as registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// Its id, unique within its service.
    pub id: String,
    /// Where it is reached (`host:port`, a URL: the registry does not interpret it).
    pub address: String,
    /// Free-form labels.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The lease that keeps it registered.
    pub lease: u64,
    /// The revision of the change that registered it.
    pub revision: u64,
}

/// A change to a service's instances, as watches deliver it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The store revision of the change (one store-wide counter, config writes included).
    pub revision: u64,
    /// The service's own change counter: 1 for its first change, then one more each time, so
    /// a watcher sees a gap or a duplicate by itself.
    pub version: u64,
    /// The service.
    pub service: String,
    /// What changed.
    pub kind: ChangeKind,
}

/// What a [`Change`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeKind {
    /// The instance was registered (or registered again, replacing the old one).
    Put {
        /// The instance as it is now.
        instance: Instance,
    },
    /// The instance was deregistered by a client.
    Deregistered {
        /// Its id.
        id: String,
    },
    /// The instance's lease expired.
    Expired {
        /// Its id.
        id: String,
        /// The lease.
        lease: u64,
    },
}

/// A command, applied through the log. `now_ms` is the proposing node's wall clock in
/// milliseconds: the state machine's time is the largest one applied so far ("log time"), so
/// every replica sees the same time at the same index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Register `instance` of `service` with a new lease of `ttl_ms` (its id is the entry's
    /// index); an instance of that id already there is replaced and its lease revoked.
    Register {
        /// The service.
        service: String,
        /// Its id.
        id: String,
        /// Its address.
        address: String,
        /// Its labels.
        metadata: BTreeMap<String, String>,
        /// The lease's time to live.
        ttl_ms: u64,
        /// The proposer's clock.
        now_ms: u64,
    },
    /// Remove instance `id` of `service` (absent or not) and revoke its lease.
    Deregister {
        /// The service.
        service: String,
        /// The instance.
        id: String,
        /// The proposer's clock.
        now_ms: u64,
    },
    /// Renew `lease` for its time to live from log time.
    KeepAlive {
        /// The lease.
        lease: u64,
        /// The proposer's clock.
        now_ms: u64,
    },
    /// The leader's clock tick: log time advances to `now_ms` (never backwards) and every
    /// lease whose deadline has passed expires. The first tick of a new `term` first renews
    /// every lease for its time to live (a new leader grants the clients a full TTL to reach
    /// it, as etcd does), so an election never expires a lease kept alive through it.
    Tick {
        /// The leader's clock.
        now_ms: u64,
        /// The leader's term.
        term: u64,
    },
    /// Set config `key` to `value`.
    ConfigPut {
        /// The key.
        key: String,
        /// Its new value.
        value: String,
    },
    /// Set config `key` to `value` if it holds `expected` (`None`: absent).
    ConfigCas {
        /// The key.
        key: String,
        /// The value it must hold.
        expected: Option<String>,
        /// Its new value.
        value: String,
    },
}

/// A read, answered from the local state once it is known to be current (ReadIndex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// The instances of `service`.
    List {
        /// The service.
        service: String,
    },
    /// Config `key`.
    ConfigGet {
        /// The key.
        key: String,
    },
    /// The changes of `service` from revision `from` on, at most `limit` of them.
    Watch {
        /// The service.
        service: String,
        /// The first revision wanted.
        from: u64,
        /// The most changes answered.
        limit: u64,
    },
}

/// The answer to a [`Command`] or [`Query`]. Every answer names the store revision it was
/// made at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// A registration took effect with this lease.
    Registered {
        /// The change's revision.
        revision: u64,
        /// The new lease.
        lease: u64,
        /// Its time to live.
        ttl_ms: u64,
    },
    /// A deregistration took effect (`existed`: whether there was an instance to remove).
    Deregistered {
        /// The store revision after it (the change's, if it removed one).
        revision: u64,
        /// Whether an instance was removed.
        existed: bool,
    },
    /// The lease was renewed.
    KeptAlive {
        /// The store revision.
        revision: u64,
        /// The lease.
        lease: u64,
        /// Its time to live, counted from now.
        ttl_ms: u64,
    },
    /// No such lease (it expired or was revoked): register again.
    LeaseNotFound {
        /// The store revision.
        revision: u64,
        /// The lease asked for.
        lease: u64,
    },
    /// A tick was applied.
    Ticked {
        /// The store revision after it.
        revision: u64,
        /// How many leases expired.
        expired: u64,
    },
    /// A config write took effect.
    ConfigWritten {
        /// The change's revision.
        revision: u64,
    },
    /// A config compare-and-set did not hold; nothing changed.
    CasFailed {
        /// The store revision.
        revision: u64,
        /// The value found.
        current: Option<String>,
    },
    /// The instances of a service, by id.
    Instances {
        /// The store revision they were read at.
        revision: u64,
        /// The instances, in id order.
        instances: Vec<Instance>,
    },
    /// A config value.
    Value {
        /// The store revision it was read at.
        revision: u64,
        /// The value, `None` if the key is absent.
        value: Option<String>,
    },
    /// Changes of a service, in revision order.
    Changes {
        /// The store revision they were read at.
        revision: u64,
        /// The changes (possibly none yet).
        changes: Vec<Change>,
    },
    /// The revision asked for was compacted away: list the service and watch from after it.
    Compacted {
        /// The store revision.
        revision: u64,
        /// Changes up to here are gone.
        compacted_through: u64,
    },
    /// The command or query could not be decoded; nothing changed.
    Invalid {
        /// Why.
        reason: String,
    },
}

/// Decoding failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode a registry {what} from {len} bytes: {reason}")]
pub struct DecodeError {
    /// What was decoded.
    pub what: &'static str,
    /// How many bytes.
    pub len: usize,
    /// The decoder's message.
    pub reason: String,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Strings, integers, maps and enums always encode: a failure is a broken invariant.
    postcard::to_stdvec(value).expect("registry values always encode")
}

fn decode<'a, T: Deserialize<'a>>(what: &'static str, bytes: &'a [u8]) -> Result<T, DecodeError> {
    let error = |reason: String| DecodeError {
        what,
        len: bytes.len(),
        reason,
    };
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(|e| error(e.to_string()))?;
    if !rest.is_empty() {
        return Err(error(format!("{} trailing bytes", rest.len())));
    }
    Ok(value)
}

impl Command {
    /// Its wire form.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    /// Read one from its wire form.
    pub fn decode(bytes: &[u8]) -> Result<Command, DecodeError> {
        decode("command", bytes)
    }
}

impl Query {
    /// Its wire form.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    /// Read one from its wire form.
    pub fn decode(bytes: &[u8]) -> Result<Query, DecodeError> {
        decode("query", bytes)
    }
}

impl Response {
    /// Its wire form (JSON).
    pub fn encode(&self) -> Vec<u8> {
        // Strings, integers, sorted maps and enums always serialize: a failure is a bug.
        serde_json::to_vec(self).expect("registry responses always serialize")
    }
    /// Read one from its wire form.
    pub fn decode(bytes: &[u8]) -> Result<Response, DecodeError> {
        serde_json::from_slice(bytes).map_err(|error| DecodeError {
            what: "response",
            len: bytes.len(),
            reason: error.to_string(),
        })
    }
}
