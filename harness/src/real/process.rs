//! The node processes of a real-process run: `rafty node` (this executable, run again) spawned,
//! killed with SIGKILL, paused with SIGSTOP and resumed with SIGCONT, its power cut with
//! SIGUSR1 (`--lazy-fs` nodes: see [`super::node`]), restarted on the same ports and data
//! directory, stopped with SIGTERM. None outlives the harness:
//!
//! - each child runs in its own process group, so a Ctrl-C at the terminal reaches the harness
//!   only, which then stops its children itself (the children never see a half-run signal);
//! - dropping a [`NodeProcess`] (a normal end, an interrupted run whose future is dropped, or a
//!   panic unwinding) kills its child with SIGKILL and reaps it;
//! - each child asks the kernel for SIGKILL when the harness thread that spawned it dies
//!   (`PR_SET_PDEATHSIG`), the last net if the harness itself is killed with SIGKILL.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rafty::NodeId;
use rafty::tcp::tls::ClientAuth;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::node::{Listening, POWER_CUT_EXIT_CODE, POWER_CUT_SIGNAL, RegistryHttp, TlsFiles};

/// How long a node may take to bind its listeners and print them.
const START_WAIT: Duration = Duration::from_secs(20);
/// How long a node may take to stop after SIGTERM before it is killed.
const STOP_WAIT: Duration = Duration::from_secs(5);
/// How many times a restart retries binding its old ports (a port can linger briefly).
const BIND_ATTEMPTS: u32 = 10;

/// What a node process is started with.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// The node's id.
    pub id: NodeId,
    /// Its data directory (log and snapshots).
    pub data_dir: PathBuf,
    /// The other nodes, each at the proxy's address for this node.
    pub peers: Vec<(NodeId, String)>,
    /// The cluster id.
    pub cluster_id: u64,
    /// Its Raft settings file.
    pub settings_file: PathBuf,
    /// Where its stderr goes (appended across restarts).
    pub log_file: PathBuf,
    /// Where it first listens for Raft calls and the key-value service (`127.0.0.1:0`: any
    /// free port); restarts reuse the ports it got.
    pub listen: (String, String),
    /// The service registry's HTTP API: where it first listens and the others' addresses
    /// (`rafty node --registry`); none for the bare key-value store.
    pub registry: Option<RegistryHttp>,
    /// Its TLS files (`--tls-cert/--tls-key/--tls-ca`), if it runs with TLS.
    pub tls: Option<TlsFiles>,
    /// Whether it runs with `--lazy-fs`, so that its power can be cut.
    pub lazy_fs: bool,
}

impl NodeSpec {
    /// Where a node listens when any free port will do.
    pub fn any_ports() -> (String, String) {
        ("127.0.0.1:0".to_owned(), "127.0.0.1:0".to_owned())
    }
}

/// One node process and what it listens on.
pub struct NodeProcess {
    spec: NodeSpec,
    listening: Listening,
    process: Supervised,
}

impl NodeProcess {
    /// Spawn the node on free ports (which every restart reuses).
    pub async fn start(spec: NodeSpec) -> Result<NodeProcess, String> {
        let (raft, kv) = spec.listen.clone();
        let registry = spec.registry.as_ref().map(|r| r.listen.clone());
        let (child, listening) = spawn(&spec, &raft, &kv, registry.as_deref()).await?;
        Ok(NodeProcess {
            spec,
            listening,
            process: Supervised::running(child),
        })
    }

    /// The node's id.
    pub fn id(&self) -> NodeId {
        self.spec.id
    }

    /// Where it listens.
    pub fn listening(&self) -> &Listening {
        &self.listening
    }

    /// Its process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// Whether it runs (possibly paused).
    pub fn is_running(&self) -> bool {
        self.process.is_running()
    }

    /// `kill -9`: the process dies at once, whatever it was doing (the OS keeps what it wrote,
    /// synced or not, in its page cache).
    pub async fn kill(&mut self) {
        self.process.kill().await;
    }

    /// Send it the power-cut signal (SIGCONT first if paused), without waiting; see
    /// [`Self::power_died`]. An error if it does not run with `--lazy-fs` (its unsynced writes
    /// would survive: that is no power cut).
    pub fn cut_power(&mut self) -> Result<(), String> {
        if !self.spec.lazy_fs {
            return Err(format!(
                "node {} runs without --lazy-fs: its power cannot be cut",
                self.spec.id
            ));
        }
        self.process.resume();
        if let Some(child) = &self.process.child {
            signal(child, POWER_CUT_SIGNAL);
        }
        Ok(())
    }

    /// Wait (at most `STOP_WAIT`) for the node whose power was cut to exit, and reap it; an
    /// error if it exits otherwise than a power cut does, or not at all (it is then killed).
    pub async fn power_died(&mut self) -> Result<(), String> {
        let id = self.spec.id;
        let Some(mut child) = self.process.child.take() else {
            return Ok(()); // Not running: no power to cut.
        };
        self.process.paused = false;
        match tokio::time::timeout(STOP_WAIT, child.wait()).await {
            Ok(Ok(status)) if status.code() == Some(POWER_CUT_EXIT_CODE) => Ok(()),
            Ok(Ok(status)) => Err(format!(
                "node {id} exited with {status} at a power cut, not with status \
                 {POWER_CUT_EXIT_CODE}"
            )),
            Ok(Err(error)) => Err(format!("node {id}: cannot wait for it: {error}")),
            Err(_) => {
                signal(&child, Signal::SIGKILL);
                let _ = child.wait().await;
                Err(format!(
                    "node {id} still ran {STOP_WAIT:?} after its power cut (killed)"
                ))
            }
        }
    }

    /// Start it again, on the same ports, from its data directory.
    pub async fn restart(&mut self) -> Result<(), String> {
        if self.process.is_running() {
            return Ok(());
        }
        let mut last_error = String::new();
        for _ in 0..BIND_ATTEMPTS {
            let listening = &self.listening;
            let registry = listening.registry.as_deref();
            match spawn(&self.spec, &listening.raft, &listening.kv, registry).await {
                Ok((child, listening)) => {
                    self.process = Supervised::running(child);
                    self.listening = listening;
                    return Ok(());
                }
                Err(error) => last_error = error,
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(last_error)
    }

    /// SIGSTOP: the process is frozen, timers and sockets included, until [`Self::resume`].
    pub fn pause(&mut self) {
        self.process.pause();
    }

    /// Whether it has exited by itself or been killed from outside (then reaped: a
    /// [`Self::restart`] starts it again).
    pub fn exited(&mut self) -> bool {
        self.process.exited()
    }

    /// SIGCONT.
    pub fn resume(&mut self) {
        self.process.resume();
    }

    /// Stop it gracefully (SIGCONT if paused, then SIGTERM), killing it if it does not exit
    /// in time.
    pub async fn stop(&mut self) {
        self.process.stop().await;
    }

    /// Its log so far (what it wrote to stderr, every incarnation), one line each.
    pub fn log_lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.spec.log_file)
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_else(|error| {
                vec![format!(
                    "(cannot read {}: {error})",
                    self.spec.log_file.display()
                )]
            })
    }
}

/// A child process the harness runs and faults: killed (SIGKILL), paused (SIGSTOP), resumed
/// (SIGCONT), stopped gracefully; killed when dropped. Shared by rafty's nodes and etcd's
/// members.
#[derive(Debug, Default)]
pub struct Supervised {
    child: Option<Child>,
    paused: bool,
}

impl Supervised {
    /// `child`, running.
    pub fn running(child: Child) -> Supervised {
        Supervised {
            child: Some(child),
            paused: false,
        }
    }

    /// Whether it runs (possibly paused).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Whether the child has exited (reaped if so; never true for one not started).
    pub fn exited(&mut self) -> bool {
        let gone = match &mut self.child {
            Some(child) => !matches!(child.try_wait(), Ok(None)),
            None => false,
        };
        if gone {
            self.child = None;
            self.paused = false;
        }
        gone
    }

    /// SIGKILL, and reap it.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, Signal::SIGKILL);
            let _ = child.wait().await;
        }
        self.paused = false;
    }

    /// SIGSTOP.
    pub fn pause(&mut self) {
        if let Some(child) = &self.child {
            signal(child, Signal::SIGSTOP);
            self.paused = true;
        }
    }

    /// SIGCONT.
    pub fn resume(&mut self) {
        if let Some(child) = &self.child {
            signal(child, Signal::SIGCONT);
        }
        self.paused = false;
    }

    /// SIGCONT if paused, then SIGTERM, then SIGKILL if it has not exited within
    /// `STOP_WAIT`.
    pub async fn stop(&mut self) {
        if self.paused {
            self.resume();
        }
        if let Some(mut child) = self.child.take() {
            signal(&child, Signal::SIGTERM);
            if tokio::time::timeout(STOP_WAIT, child.wait()).await.is_err() {
                signal(&child, Signal::SIGKILL);
                let _ = child.wait().await;
            }
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, Signal::SIGKILL);
            // Reap it now if it is already gone; otherwise tokio's orphan reaper does.
            let _ = child.try_wait();
        }
    }
}

/// Make the child `command` spawns unable to outlive the harness: its own process group (a
/// Ctrl-C reaches the harness only), killed when its handle drops, and killed by the kernel
/// when the harness thread that spawned it dies (`PR_SET_PDEATHSIG`).
pub fn guard(command: &mut Command) {
    command.kill_on_drop(true).process_group(0);
    let parent = nix::unistd::getpid();
    // SAFETY: runs in the forked child before exec; prctl and getppid are async-signal-safe
    // system calls, and nothing here allocates or takes a lock.
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            // The parent may have died between fork and prctl: then nobody would kill us.
            if nix::unistd::getppid() != parent {
                return Err(std::io::Error::other("the harness is gone"));
            }
            Ok(())
        });
    }
}

/// Send `signal` to `child` if it has not been reaped.
pub fn signal(child: &Child, signal: Signal) {
    if let Some(pid) = child.id() {
        // Our own child, not yet reaped (we hold it): the pid cannot have been reused.
        let _ = kill(Pid::from_raw(pid as i32), signal);
    }
}

/// The running executable (`/proc/self/exe` still runs it after a rebuild replaced the file).
pub fn this_executable() -> Result<PathBuf, String> {
    let proc_self = Path::new("/proc/self/exe");
    if proc_self.exists() {
        return Ok(proc_self.to_owned());
    }
    std::env::current_exe()
        .map_err(|error| format!("cannot find this executable to spawn nodes: {error}"))
}

/// Spawn `rafty node` for `spec` on `raft`, `kv` and (for the registry) `registry`, and read
/// the addresses it bound.
async fn spawn(
    spec: &NodeSpec,
    raft: &str,
    kv: &str,
    registry: Option<&str>,
) -> Result<(Child, Listening), String> {
    let id = spec.id;
    let stderr = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spec.log_file)
        .map_err(|error| format!("cannot open {}: {error}", spec.log_file.display()))?;
    let program = this_executable()?;
    let mut command = Command::new(&program);
    command
        .arg("node")
        .arg("--id")
        .arg(id.to_string())
        .arg("--data-dir")
        .arg(&spec.data_dir)
        .arg("--raft")
        .arg(raft)
        .arg("--kv")
        .arg(kv)
        .arg("--cluster-id")
        .arg(spec.cluster_id.to_string())
        .arg("--settings")
        .arg(&spec.settings_file);
    for (peer, addr) in &spec.peers {
        command.arg("--peer").arg(format!("{peer}={addr}"));
    }
    if let (Some(listen), Some(http)) = (registry, &spec.registry) {
        command.arg("--registry").arg(listen);
        for (peer, addr) in &http.peers {
            command.arg("--registry-peer").arg(format!("{peer}={addr}"));
        }
        if http.client_auth == ClientAuth::Optional {
            command.args(["--registry-client-auth", "optional"]);
        }
    }
    if spec.lazy_fs {
        command.arg("--lazy-fs");
    }
    if let Some(tls) = &spec.tls {
        command.arg("--tls-cert").arg(&tls.cert);
        command.arg("--tls-key").arg(&tls.key);
        command.arg("--tls-ca").arg(&tls.ca);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr));
    guard(&mut command);
    let mut child = command.spawn().map_err(|error| {
        format!(
            "cannot spawn `{} node` for node {id}: {error}",
            program.display()
        )
    })?;
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut line = String::new();
    let read = tokio::time::timeout(START_WAIT, stdout.read_line(&mut line)).await;
    if !matches!(read, Ok(Ok(bytes)) if bytes > 0) {
        signal(&child, Signal::SIGKILL);
        let _ = child.wait().await;
        let log = std::fs::read_to_string(&spec.log_file).unwrap_or_default();
        let last = log.lines().last().unwrap_or("nothing");
        return Err(format!(
            "node {id} did not print its addresses within {START_WAIT:?}; its log's last line: {last}"
        ));
    }
    let listening: Listening = serde_json::from_str(&line)
        .map_err(|error| format!("node {id} printed {line:?}, not its addresses: {error}"))?;
    Ok((child, listening))
}
