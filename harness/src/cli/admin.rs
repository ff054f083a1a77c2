//! `rafty admin`: membership calls against a running cluster over its admin service (TCP, the
//! `Admin` protocol of a node's service port): show the configuration, add a learner, promote
//! it, remove a node, change the whole configuration (joint consensus), transfer leadership.
//!
//! A change must be made at the leader: the call goes to the first `--node` given, and when
//! that node answers "not the leader" with a hint, to the hinted leader if its address was
//! given. Exit code 0 when the call succeeded, 1 when the cluster refused it (the reason is
//! printed, with whether it may still take effect), 2 for bad arguments or a node that could
//! not be reached.
//!
//! With `--tls-cert/--tls-key/--tls-ca` (a client certificate of `rafty certs --clients`) it
//! calls a cluster whose nodes run with TLS, checking that each node it reaches holds the
//! certificate of the node it dialled.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use rafty::service::{AdminAnswer, AdminCommand, AdminFailure, AdminReply, call_admin};
use rafty::tcp::tls::{TlsConnector, TlsIdentity};
use rafty::tcp::{CallError, TokioConnector, TransportConfig};
use rafty::{Membership, NodeId};

/// Arguments of `rafty admin`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// A node of the cluster and its service address, as `ID=HOST:PORT` (repeat for each node
    /// known: the call follows "not the leader" hints to those given).
    #[arg(long = "node", required = true, value_parser = parse_node)]
    pub nodes: Vec<(NodeId, String)>,
    /// The cluster id every connection must carry (the nodes' `--cluster-id`).
    #[arg(long, default_value_t = super::node::DEFAULT_CLUSTER_ID)]
    pub cluster_id: u64,
    /// How long one call may take, e.g. `10s` or `500ms`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// A client certificate of the cluster (PEM, `rafty certs --clients`), for a cluster whose
    /// nodes run with TLS. Needs --tls-key and --tls-ca.
    #[arg(long, requires_all = ["tls_key", "tls_ca"])]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires_all = ["tls_cert", "tls_ca"])]
    pub tls_key: Option<PathBuf>,
    /// The cluster's certificate authority (PEM): each node called must present a certificate
    /// it signed naming that node.
    #[arg(long, requires_all = ["tls_cert", "tls_key"])]
    pub tls_ca: Option<PathBuf>,
    /// The call.
    #[command(subcommand)]
    pub call: Call,
}

/// One admin call.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum Call {
    /// Print the configuration in effect on the node asked, and its entry's index.
    Show,
    /// Add a node as a learner (it receives the log but does not vote).
    AddLearner {
        /// The node's id.
        id: NodeId,
    },
    /// Promote a caught-up learner to voter.
    Promote {
        /// The learner's id.
        id: NodeId,
    },
    /// Remove a node (voter or learner) from the configuration.
    Remove {
        /// The node's id.
        id: NodeId,
    },
    /// Change to a whole new configuration (through joint consensus when voters change).
    Change {
        /// The new voters, comma separated (`1,2,4`).
        #[arg(long, value_delimiter = ',', required = true)]
        voters: Vec<NodeId>,
        /// The new learners, comma separated.
        #[arg(long, value_delimiter = ',')]
        learners: Vec<NodeId>,
    },
    /// Transfer leadership to a voter (dissertation §3.10).
    Transfer {
        /// The voter to lead.
        id: NodeId,
    },
}

impl Call {
    fn command(&self) -> AdminCommand {
        match self {
            Call::Show => AdminCommand::Membership,
            Call::AddLearner { id } => AdminCommand::AddLearner(*id),
            Call::Promote { id } => AdminCommand::Promote(*id),
            Call::Remove { id } => AdminCommand::Remove(*id),
            Call::Change { voters, learners } => AdminCommand::ChangeMembership(
                Membership::new(voters.iter().copied()).with_learners(learners.iter().copied()),
            ),
            Call::Transfer { id } => AdminCommand::TransferLeadership(*id),
        }
    }
}

/// `3=127.0.0.1:7003`.
fn parse_node(text: &str) -> Result<(NodeId, String), String> {
    let (id, addr) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not ID=HOST:PORT (e.g. 3=127.0.0.1:7003)"))?;
    let id: NodeId = id
        .parse()
        .map_err(|_| format!("`{id}` in `{text}` is not a node id (a positive integer)"))?;
    if id == 0 {
        return Err(format!("node id 0 in `{text}`: ids start at 1"));
    }
    if !addr.contains(':') {
        return Err(format!("`{addr}` in `{text}` has no port (HOST:PORT)"));
    }
    Ok((id, addr.to_owned()))
}

/// `10s`, `500ms`: a duration that is not zero.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = super::check::parse_duration(text)?;
    if duration.is_zero() {
        return Err("a timeout of zero would fail every call".to_owned());
    }
    Ok(duration)
}

/// What a call came to: the answer, or the cluster's refusal, with the node that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The node answered.
    Done(NodeId, AdminAnswer),
    /// The cluster refused (or the call may still take effect).
    Refused(NodeId, AdminFailure),
}

/// Make `args.call` at the first node, following "not the leader" hints to nodes whose
/// addresses were given (at most once per node); an error names what could not be done.
pub async fn call(args: &Args) -> Result<Outcome, String> {
    let addresses: BTreeMap<NodeId, &str> = args
        .nodes
        .iter()
        .map(|(id, addr)| (*id, addr.as_str()))
        .collect();
    let tls = match (&args.tls_cert, &args.tls_key, &args.tls_ca) {
        (Some(cert), Some(key), Some(ca)) => {
            Some(TlsIdentity::load(cert, key, ca).map_err(|error| format!("TLS: {error}"))?)
        }
        _ => None,
    };
    let command = args.call.command();
    let mut target = args.nodes[0].0;
    let mut asked = Vec::new();
    loop {
        asked.push(target);
        let addr = addresses[&target];
        let reply = call_one(args, tls.as_ref(), target, addr, command.clone())
            .await
            .map_err(|error| format!("n{target} at {addr}: {error}"))?;
        match reply {
            Ok(answer) => return Ok(Outcome::Done(target, answer)),
            Err(failure) => match failure.leader_hint {
                Some(leader) if !asked.contains(&leader) && addresses.contains_key(&leader) => {
                    target = leader;
                }
                Some(leader) if !addresses.contains_key(&leader) => {
                    return Err(format!(
                        "n{target} is not the leader; it names n{leader}, whose address was not \
                         given (add --node {leader}=HOST:PORT)"
                    ));
                }
                _ => return Ok(Outcome::Refused(target, failure)),
            },
        }
    }
}

/// One call to node `target` at `addr`, over TLS when `tls` is given.
async fn call_one(
    args: &Args,
    tls: Option<&TlsIdentity>,
    target: NodeId,
    addr: &str,
    command: AdminCommand,
) -> Result<AdminReply, String> {
    let transport = TransportConfig::new(args.cluster_id);
    let (addr, timeout) = (addr.to_owned(), args.timeout);
    let reply: Result<AdminReply, CallError> = match tls {
        None => call_admin(TokioConnector, target, addr, transport, command, timeout).await,
        Some(identity) => {
            let connector = TlsConnector::new(TokioConnector, identity, args.cluster_id, target)
                .map_err(|error| format!("TLS: {error}"))?;
            call_admin(connector, target, addr, transport, command, timeout).await
        }
    };
    reply.map_err(|error| error.to_string())
}

/// The line printed for an outcome.
pub fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Done(node, AdminAnswer::Membership { membership, index }) => {
            format!("n{node}: {membership} (configuration entry {index})")
        }
        Outcome::Done(node, AdminAnswer::Changed { index }) => format!(
            "done at n{node}: the configuration entry at index {index} is committed and in effect"
        ),
        Outcome::Done(node, AdminAnswer::Transferred) => {
            format!("done: leadership moved from n{node} to the target")
        }
        Outcome::Refused(node, failure) => format!("refused by n{node}: {failure}"),
    }
}

/// Run `rafty admin`; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("rafty admin: cannot start the runtime: {error}");
            return 2;
        }
    };
    match runtime.block_on(call(args)) {
        Ok(outcome) => {
            println!("{}", describe(&outcome));
            u8::from(matches!(outcome, Outcome::Refused(..)))
        }
        Err(error) => {
            eprintln!("rafty admin: {error}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_an_id_and_an_address_and_bad_ones_are_named() {
        assert_eq!(
            parse_node("3=127.0.0.1:7003"),
            Ok((3, "127.0.0.1:7003".into()))
        );
        assert!(
            parse_node("127.0.0.1:7003")
                .unwrap_err()
                .contains("ID=HOST:PORT")
        );
        assert!(parse_node("x=127.0.0.1:1").unwrap_err().contains("`x`"));
        assert!(
            parse_node("0=127.0.0.1:1")
                .unwrap_err()
                .contains("start at 1")
        );
        assert!(parse_node("2=localhost").unwrap_err().contains("no port"));
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn a_change_names_its_voters_and_learners() {
        let change = Call::Change {
            voters: vec![1, 2, 4],
            learners: vec![5],
        };
        assert_eq!(
            change.command(),
            AdminCommand::ChangeMembership(Membership::new([1, 2, 4]).with_learners([5]))
        );
    }
}
