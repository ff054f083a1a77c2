//! `rafty node --metrics-addr`: a Prometheus recorder for what the library records through the
//! `metrics` facade (the table is in [`rafty::node::metrics`]), served over plain HTTP at
//! `GET /metrics`. The server is a few lines over tokio: one request per connection, no
//! keep-alive, every other path 404.

use std::net::SocketAddr;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The longest request head read; a scraper's is a few hundred bytes.
const MAX_REQUEST_BYTES: usize = 8192;

/// How long a scraper gets to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Install the process's Prometheus recorder and serve it on `addr`; returns the bound
/// address and the serving task.
pub async fn serve_metrics(addr: &str) -> Result<(SocketAddr, JoinHandle<()>), String> {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|error| format!("--metrics-addr: cannot install the recorder: {error}"))?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|error| format!("--metrics-addr {addr}: {error}"))?;
    let bound = listener
        .local_addr()
        .map_err(|error| format!("--metrics-addr {addr}: {error}"))?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let handle = handle.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(REQUEST_TIMEOUT, answer(stream, &handle)).await;
            });
        }
    });
    Ok((bound, task))
}

/// Read one request head and answer it.
async fn answer(mut stream: TcpStream, handle: &PrometheusHandle) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await?;
        if read == 0 || head.len() + read > MAX_REQUEST_BYTES {
            return Ok(());
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let (status, content_type, body) = if head.starts_with(b"GET /metrics ") {
        handle.run_upkeep();
        ("200 OK", "text/plain; version=0.0.4", handle.render())
    } else {
        (
            "404 Not Found",
            "text/plain",
            "only GET /metrics\n".to_owned(),
        )
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
