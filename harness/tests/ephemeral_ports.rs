//! A dial that never connects gives its ephemeral port back. turmoil 0.7.2 registered the
//! socket of `TcpStream::connect` before the SYN went out and never removed it when the
//! connection was refused (no listener, a partition dropping the SYN) or the caller gave up
//! waiting: every failed dial leaked a port, and a long run's `clients` host died with
//! "ports exhausted". The vendored turmoil (`vendor/turmoil`, PATCHES.md) removes it.
//!
//! Each test runs on a host with only four ephemeral ports and dials more often than that.

use std::time::Duration;

use turmoil::net::{TcpListener, TcpStream};

const PORT: u16 = 9000;
const DIALS: usize = 40;

fn sim_with_four_ports() -> turmoil::Sim<'static> {
    turmoil::Builder::new()
        .ephemeral_ports(49152..=49155)
        .simulation_duration(Duration::from_secs(600))
        .build()
}

#[test]
fn a_refused_dial_gives_its_port_back() {
    let mut sim = sim_with_four_ports();
    sim.host("server", || async {
        // Up, but nothing listens on PORT: every SYN is dropped and every dial refused.
        std::future::pending::<()>().await;
        Ok(())
    });
    sim.client("client", async {
        for _ in 0..DIALS {
            let refused = TcpStream::connect(("server", PORT)).await;
            assert!(refused.is_err(), "nothing listens, so the dial must fail");
        }
        Ok(())
    });
    sim.run().expect("40 refused dials on 4 ports");
}

#[test]
fn a_dial_abandoned_at_a_deadline_gives_its_port_back() {
    let mut sim = sim_with_four_ports();
    sim.host("server", || async {
        let listener = TcpListener::bind(("0.0.0.0", PORT)).await?;
        loop {
            let _ = listener.accept().await?;
        }
    });
    sim.client("client", async {
        for _ in 0..DIALS {
            // The link is held: the SYN waits in the network and the caller gives up first.
            let dial = TcpStream::connect(("server", PORT));
            let abandoned = tokio::time::timeout(Duration::from_millis(100), dial).await;
            assert!(
                abandoned.is_err(),
                "the held link must keep the dial waiting"
            );
        }
        Ok(())
    });
    sim.hold("client", "server");
    sim.run().expect("40 abandoned dials on 4 ports");
}

#[test]
fn a_dial_across_a_partition_gives_its_port_back() {
    let mut sim = sim_with_four_ports();
    sim.host("server", || async {
        let listener = TcpListener::bind(("0.0.0.0", PORT)).await?;
        loop {
            let _ = listener.accept().await?;
        }
    });
    sim.client("client", async {
        for _ in 0..DIALS {
            let lost = TcpStream::connect(("server", PORT)).await;
            assert!(lost.is_err(), "the partition drops the SYN");
        }
        Ok(())
    });
    sim.partition("client", "server");
    sim.run().expect("40 dials across a partition on 4 ports");
}
