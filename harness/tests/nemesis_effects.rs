//! Each nemesis action does to the simulated network what its documentation says, checked on
//! a tiny simulation where n1 sends a numbered datagram to n2 every 10 ms.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use rafty_harness::nemesis::partition::Grudge;
use rafty_harness::nemesis::{Action, Network};
use rafty_harness::sim::cluster::{PauseSwitches, ProcessGate};
use rafty_harness::sim::control::SimNetwork;
use rafty_harness::sim::factories::MemoryLogFactory;
use rafty_harness::sim::observe::Observations;
use rafty_harness::sim::replay::ReplaySwitches;
use turmoil::net::UdpSocket;

const PORT: u16 = 9000;
const PERIOD: Duration = Duration::from_millis(10);

/// (number, sent at, received at) in milliseconds of simulated time.
type Received = Rc<RefCell<Vec<(u64, u64, u64)>>>;

struct World<'a> {
    sim: turmoil::Sim<'a>,
    received: Received,
    starts: Rc<RefCell<u32>>,
    observations: Observations,
    logs: MemoryLogFactory,
    gate: ProcessGate,
    pauses: PauseSwitches,
    replays: ReplaySwitches,
}

fn world<'a>() -> World<'a> {
    let mut sim = turmoil::Builder::new()
        .rng_seed(1)
        .simulation_duration(Duration::from_secs(60))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(1))
        // Room for every held datagram when a held link is released at once (TCP, which the
        // cluster uses, never drops; a full UDP buffer would).
        .udp_capacity(4096)
        .build();
    let received: Received = Rc::default();
    let starts = Rc::new(RefCell::new(0));
    let sink = received.clone();
    sim.host("n2", move || {
        let sink = sink.clone();
        async move {
            let socket = UdpSocket::bind(("0.0.0.0", PORT)).await?;
            let mut buf = [0u8; 16];
            loop {
                let (len, _) = socket.recv_from(&mut buf).await?;
                assert_eq!(len, 16);
                let number = u64::from_be_bytes(buf[..8].try_into()?);
                let sent = u64::from_be_bytes(buf[8..].try_into()?);
                let now = turmoil::sim_elapsed().unwrap_or_default().as_millis() as u64;
                sink.borrow_mut().push((number, sent, now));
            }
        }
    });
    let counter = starts.clone();
    let gate = ProcessGate::new();
    let held = gate.clone();
    let pauses = PauseSwitches::new(&[1, 2]);
    let switches = pauses.clone();
    sim.host("n1", move || {
        *counter.borrow_mut() += 1;
        let held = held.clone();
        // As a rafty node's event loop does: nothing runs while its switch is paused.
        let pause = switches.switch(1);
        async move {
            // As the cluster's nodes do: a killed process stays down until restarted.
            held.wait(1).await;
            let socket = UdpSocket::bind(("0.0.0.0", PORT)).await?;
            let to = (turmoil::lookup("n2"), PORT);
            for number in 0.. {
                pause.resumed().await;
                let now = turmoil::sim_elapsed().unwrap_or_default().as_millis() as u64;
                let mut buf = [0u8; 16];
                buf[..8].copy_from_slice(&u64::to_be_bytes(number));
                buf[8..].copy_from_slice(&now.to_be_bytes());
                socket.send_to(&buf, to).await?;
                tokio::time::sleep(PERIOD).await;
            }
            Ok(())
        }
    });
    World {
        sim,
        received,
        starts,
        observations: Observations::new(),
        logs: MemoryLogFactory::new(),
        gate,
        pauses,
        replays: ReplaySwitches::new(&[1, 2]),
    }
}

impl World<'_> {
    fn act(&mut self, action: Action) {
        let mut network = SimNetwork {
            sim: &mut self.sim,
            nodes: &[1, 2],
            clients: &[],
            latency: (Duration::from_millis(1), Duration::from_millis(1)),
            observations: &self.observations,
            log_factory: &self.logs,
            gate: &self.gate,
            pauses: &self.pauses,
            replays: &self.replays,
            admin: &Default::default(),
            clocks: &Default::default(),
        };
        network.apply(&action);
    }

    fn run_until(&mut self, ms: u64) {
        while self.sim.elapsed() < Duration::from_millis(ms) {
            self.sim.step().expect("the simulation runs");
        }
    }

    /// Datagrams sent in `from..to` (ms): how many arrived, and their largest delay.
    fn sent_between(&self, from: u64, to: u64) -> (usize, u64) {
        let received = self.received.borrow();
        let window: Vec<_> = received
            .iter()
            .filter(|(_, sent, _)| (from..to).contains(sent))
            .collect();
        (
            window.len(),
            window
                .iter()
                .map(|(_, sent, got)| got - sent)
                .max()
                .unwrap_or(0),
        )
    }
}

fn cut_both_ways() -> Grudge {
    Grudge {
        cut: vec![(1, 2), (2, 1)],
    }
}

#[test]
fn a_partition_drops_messages_and_a_repair_lets_them_through_again() {
    let mut world = world();
    world.run_until(1000);
    world.act(Action::Partition(cut_both_ways()));
    world.run_until(2000);
    world.act(Action::Repair(cut_both_ways()));
    world.run_until(3000);
    assert!(world.sent_between(500, 990).0 > 40);
    assert_eq!(
        world.sent_between(1010, 1990).0,
        0,
        "nothing crosses a partition"
    );
    assert!(
        world.sent_between(2010, 2990).0 > 90,
        "the repaired link carries everything"
    );
}

/// A pause freezes n1 (nothing sent during it) but not the network: what n1 sent before the
/// pause arrives on time, nothing is held for a burst, and n1 carries on after the resume.
#[test]
fn a_pause_freezes_the_node_not_the_network() {
    let mut world = world();
    world.run_until(1000);
    world.act(Action::Pause(1));
    assert!(world.pauses.is_paused(1));
    world.run_until(2000);
    world.act(Action::Resume(1));
    assert!(!world.pauses.is_paused(1));
    world.run_until(3000);
    assert!(world.sent_between(500, 990).0 > 40);
    assert_eq!(
        world.sent_between(1010, 1990).0,
        0,
        "a paused node sends nothing"
    );
    let (count, delay) = world.sent_between(2010, 2990);
    assert!(count > 90, "the resumed node runs again ({count})");
    let (_, worst) = world.sent_between(0, 3000);
    assert!(worst <= 2, "nothing was held in the network ({worst} ms)");
    assert!(delay <= 2);
}

#[test]
fn a_clog_holds_one_link_until_it_is_unclogged() {
    let mut world = world();
    world.run_until(500);
    world.act(Action::Clog(1, 2));
    world.run_until(1500);
    assert_eq!(world.sent_between(510, 1490).0, 0);
    world.act(Action::Unclog(1, 2));
    world.run_until(1600);
    assert!(world.sent_between(510, 1490).0 >= 97);
}

#[test]
fn slowing_a_node_delays_its_messages_until_it_is_unslowed() {
    let mut world = world();
    world.run_until(500);
    world.act(Action::Slow(1, Duration::from_millis(200)));
    world.run_until(1500);
    world.act(Action::Unslow(1));
    world.run_until(2500);
    let (_, slow) = world.sent_between(600, 1200);
    assert!((200..=301).contains(&slow), "delay while slowed: {slow} ms");
    let (_, normal) = world.sent_between(1800, 2400);
    assert!(normal <= 2, "delay after unslow: {normal} ms");
}

/// `stop` n1 at 500 ms: nothing from it until `start` at 1500 ms, after which its software
/// runs again (a second start) and sends.
fn stopped_until_started(stop: Action, start: Action, what: &str) {
    let mut world = world();
    world.run_until(500);
    world.act(stop);
    world.run_until(1500);
    assert_eq!(world.sent_between(510, 1490).0, 0, "{what} sends nothing");
    world.act(start);
    world.run_until(2000);
    assert_eq!(*world.starts.borrow(), 2, "the software started again");
    assert!(world.sent_between(1500, 1990).0 > 40);
}

#[test]
fn a_power_loss_stops_the_host_and_power_on_runs_its_software_again() {
    stopped_until_started(
        Action::PowerOff(1),
        Action::PowerOn(1),
        "a host without power",
    );
}

#[test]
fn a_killed_process_stays_down_until_it_is_restarted() {
    stopped_until_started(Action::Kill(1), Action::Restart(1), "a killed process");
}

#[test]
fn a_one_way_partition_drops_only_its_direction() {
    let mut world = world();
    world.run_until(500);
    let incoming = Grudge { cut: vec![(2, 1)] };
    world.act(Action::Partition(incoming.clone()));
    world.run_until(1000);
    assert!(
        world.sent_between(510, 990).0 > 40,
        "n1 -> n2 still flows when n2 -> n1 is cut"
    );
    world.act(Action::Repair(incoming));
    let outgoing = Grudge { cut: vec![(1, 2)] };
    world.act(Action::Partition(outgoing.clone()));
    world.run_until(1500);
    assert_eq!(world.sent_between(1010, 1490).0, 0, "n1 -> n2 is cut");
    world.act(Action::Repair(outgoing));
    world.run_until(2000);
    assert!(world.sent_between(1510, 1990).0 > 40);
}
