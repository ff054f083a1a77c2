//! What bounds commit latency on this machine: the latency of one fsync of a small record and
//! of one loopback TCP round trip; and the load average, so a reader knows how busy it was.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::BenchError;
use super::stats::median_of_sorted;

/// Samples of each probe.
const FSYNC_SAMPLES: usize = 200;
const RTT_SAMPLES: usize = 1_000;
/// The size of the probe's record and message: about one small log entry with its framing.
const PROBE_BYTES: usize = 64;

/// The 1, 5 and 15 minute load averages.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LoadAverage {
    /// Over the last minute.
    pub one: f64,
    /// Over the last 5 minutes.
    pub five: f64,
    /// Over the last 15 minutes.
    pub fifteen: f64,
}

/// The load average from `/proc/loadavg`, if this system has one.
pub fn load_average() -> Option<LoadAverage> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    Some(LoadAverage {
        one: fields.next()?.ok()?,
        five: fields.next()?.ok()?,
        fifteen: fields.next()?.ok()?,
    })
}

/// This process's peak resident set size in bytes (`VmHWM` in `/proc/self/status`: the most
/// physical memory it held at any moment since it started), if this system reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_peak_rss(&status)
}

/// This process's resident set size in bytes now (`VmRSS` in `/proc/self/status`), if this
/// system reports it.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_kb(&status, "VmRSS:")
}

/// The `VmHWM:   1234 kB` line of a `/proc/<pid>/status` text, in bytes.
fn parse_peak_rss(status: &str) -> Option<u64> {
    parse_status_kb(status, "VmHWM:")
}

/// The `<field>   1234 kB` line of a `/proc/<pid>/status` text, in bytes.
fn parse_status_kb(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with(field))?;
    let mut fields = line[field.len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next()? {
        "kB" => value.checked_mul(1024),
        _ => None,
    }
}

/// The percentiles of a probe, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Probe {
    /// Samples taken.
    pub samples: usize,
    /// 10th percentile: close to the floor when nothing else contends.
    pub p10_us: f64,
    /// Median.
    pub median_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
}

impl Probe {
    fn of(mut samples: Vec<Duration>) -> Probe {
        samples.sort();
        let micros: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        Probe {
            samples: micros.len(),
            p10_us: micros[micros.len() / 10],
            median_us: median_of_sorted(&micros),
            p90_us: micros[micros.len() * 9 / 10],
        }
    }
}

/// The two costs every commit pays at least once in real mode.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Bounds {
    /// `write` + `sync_data` of a 64-byte record appended to a file in the data directory.
    pub fsync: Probe,
    /// A 64-byte message to an echo server on 127.0.0.1 and back.
    pub loopback_rtt: Probe,
}

impl Bounds {
    /// One fsync plus one loopback round trip (medians), in microseconds.
    pub fn bound_us(&self) -> f64 {
        self.fsync.median_us + self.loopback_rtt.median_us
    }

    /// One fsync plus one round trip at their 10th percentiles: the quiet-disk floor, since
    /// fsync on a shared disk swings between ~0.1 ms and one 4 ms kernel tick with what else
    /// is writing.
    pub fn floor_us(&self) -> f64 {
        self.fsync.p10_us + self.loopback_rtt.p10_us
    }

    /// False when the fsync probe's 90th percentile is more than twice its 10th: the disk
    /// changed mode while it was measured (on a shared disk fsync flips between ~0.1 ms and a
    /// 4 ms kernel tick), so neither the median nor the floor says what the rounds paid, and a
    /// ratio against them means nothing.
    pub fn fsync_is_steady(&self) -> bool {
        self.fsync.p90_us <= 2.0 * self.fsync.p10_us
    }

    /// The element-wise median of several measurements (one per round); `None` if empty.
    pub fn median_of(all: &[Bounds]) -> Option<Bounds> {
        let first = all.first()?;
        let median = |field: fn(&Bounds) -> f64| {
            let mut values: Vec<f64> = all.iter().map(field).collect();
            values.sort_by(f64::total_cmp);
            median_of_sorted(&values)
        };
        let probe = |samples, p10: fn(&Bounds) -> f64, p50: fn(&Bounds) -> f64, p90| Probe {
            samples,
            p10_us: median(p10),
            median_us: median(p50),
            p90_us: median(p90),
        };
        Some(Bounds {
            fsync: probe(
                first.fsync.samples * all.len(),
                |b| b.fsync.p10_us,
                |b| b.fsync.median_us,
                |b| b.fsync.p90_us,
            ),
            loopback_rtt: probe(
                first.loopback_rtt.samples * all.len(),
                |b| b.loopback_rtt.p10_us,
                |b| b.loopback_rtt.median_us,
                |b| b.loopback_rtt.p90_us,
            ),
        })
    }

    /// A line for the table.
    pub fn describe(&self) -> String {
        format!(
            "fsync (write+sync_data, {} B) p10/median/p90 {:.0}/{:.0}/{:.0} µs; \
             loopback RTT p10/median/p90 {:.1}/{:.1}/{:.1} µs; fsync + RTT = {:.0} µs",
            PROBE_BYTES,
            self.fsync.p10_us,
            self.fsync.median_us,
            self.fsync.p90_us,
            self.loopback_rtt.p10_us,
            self.loopback_rtt.median_us,
            self.loopback_rtt.p90_us,
            self.bound_us()
        )
    }
}

/// Measure fsync in `data_dir` and the loopback round trip.
pub fn measure_bounds(
    data_dir: &Path,
    runtime: &tokio::runtime::Runtime,
) -> Result<Bounds, BenchError> {
    Ok(Bounds {
        fsync: measure_fsync(data_dir)?,
        loopback_rtt: runtime.block_on(measure_rtt())?,
    })
}

/// Append a small record and `sync_data` it, many times, as a log appending one entry would.
pub fn measure_fsync(data_dir: &Path) -> Result<Probe, BenchError> {
    let dir = tempfile::tempdir_in(data_dir)?;
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("fsync-probe"))?;
    let record = [0x5au8; PROBE_BYTES];
    let mut samples = Vec::with_capacity(FSYNC_SAMPLES);
    for _ in 0..FSYNC_SAMPLES {
        let start = Instant::now();
        file.write_all(&record)?;
        file.sync_data()?;
        samples.push(start.elapsed());
    }
    Ok(Probe::of(samples))
}

/// Ping-pong a small message with an echo task over 127.0.0.1, Nagle off on both ends.
pub async fn measure_rtt() -> Result<Probe, BenchError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let echo = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let mut buffer = [0u8; PROBE_BYTES];
        loop {
            if stream.read_exact(&mut buffer).await.is_err() {
                return Ok::<(), std::io::Error>(());
            }
            stream.write_all(&buffer).await?;
        }
    });
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let message = [0xa5u8; PROBE_BYTES];
    let mut answer = [0u8; PROBE_BYTES];
    let mut samples = Vec::with_capacity(RTT_SAMPLES);
    for _ in 0..RTT_SAMPLES {
        let start = Instant::now();
        stream.write_all(&message).await?;
        stream.read_exact(&mut answer).await?;
        samples.push(start.elapsed());
    }
    drop(stream);
    echo.await
        .map_err(|error| BenchError::Io(std::io::Error::other(error.to_string())))??;
    Ok(Probe::of(samples))
}

#[cfg(test)]
mod peak_rss_tests {
    use super::parse_peak_rss;

    #[test]
    fn the_vmhwm_line_is_read_in_bytes_and_anything_else_is_none() {
        let status = "Name:\trafty\nVmPeak:\t  9000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(parse_peak_rss(status), Some(2048 * 1024));
        assert_eq!(parse_peak_rss("VmRSS: 5 kB\n"), None);
        assert_eq!(parse_peak_rss("VmHWM: 5 MB\n"), None);
        assert_eq!(parse_peak_rss("VmHWM: x kB\n"), None);
    }
}
