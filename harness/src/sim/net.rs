//! turmoil glue: rafty's TCP transport ([`rafty::tcp`]) dials and accepts through these, so the
//! real transport code runs on turmoil's simulated network.
//!
//! turmoil 0.7's TCP does not retransmit: a partition drops segments and the stream stalls
//! silently. The transport's deadlines, idle timeouts and reconnects are what recover, as on a
//! real network.

use std::io;
use std::net::SocketAddr;

use rafty::tcp::{Acceptor, Connector};

/// Dials with `turmoil::net::TcpStream::connect`; addresses are `host:port`, host names
/// resolved by the simulation's DNS (e.g. `n1:7000`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TurmoilConnector;

impl Connector for TurmoilConnector {
    type Stream = turmoil::net::TcpStream;

    async fn connect(&self, addr: &str) -> io::Result<turmoil::net::TcpStream> {
        turmoil::net::TcpStream::connect(addr.to_owned()).await
    }
}

/// Accepts from a `turmoil::net::TcpListener` bound on the current simulated host.
pub struct TurmoilAcceptor {
    listener: turmoil::net::TcpListener,
}

impl TurmoilAcceptor {
    /// Bind a listener on `port` of the current host (all its addresses).
    pub async fn bind(port: u16) -> io::Result<TurmoilAcceptor> {
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", port)).await?;
        Ok(TurmoilAcceptor { listener })
    }
}

impl Acceptor for TurmoilAcceptor {
    type Stream = turmoil::net::TcpStream;

    async fn accept(&self) -> io::Result<(turmoil::net::TcpStream, SocketAddr)> {
        self.listener.accept().await
    }
}
