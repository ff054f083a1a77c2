//! `rafty serve [--port N] [--bind ADDR] [--store DIR]`: serves the store of results over
//! HTTP/1.1 (static files only, on 127.0.0.1 unless told otherwise), so a team can browse the
//! reports of a CI machine. `/` is the store's index, regenerated on every request for it.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rafty_reports::static_files::{self, Resolved};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The longest request head accepted.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Arguments of `rafty serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The port to listen on.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The address to listen on; 127.0.0.1 serves this machine only, 0.0.0.0 every network.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// The store folder to serve.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
}

/// Why `store` cannot be served, or `None` when it is a folder.
fn store_problem(store: &std::path::Path) -> Option<&'static str> {
    if store.is_dir() {
        None
    } else if store.exists() {
        Some("is not a directory")
    } else {
        Some("no such folder (run `rafty test` first, or pass --store)")
    }
}

/// Runs `rafty serve` until interrupted; returns the exit code (2 when it cannot start).
pub fn run(args: &Args) -> u8 {
    if let Some(problem) = store_problem(&args.store) {
        eprintln!("rafty serve: --store {}: {problem}", args.store.display());
        return 2;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("rafty serve: cannot start the runtime: {error}");
            return 2;
        }
    };
    runtime.block_on(async {
        let address = SocketAddr::new(args.bind, args.port);
        let listener = match TcpListener::bind(address).await {
            Ok(listener) => listener,
            Err(error) => {
                eprintln!("rafty serve: cannot listen on {address}: {error}");
                return 2;
            }
        };
        println!(
            "serving {} on http://{address}/ (Ctrl-C to stop)",
            args.store.display()
        );
        tokio::select! {
            result = serve(listener, args.store.clone()) => match result {
                Ok(()) => 0,
                Err(error) => {
                    eprintln!("rafty serve: {error}");
                    2
                }
            },
            _ = tokio::signal::ctrl_c() => 0,
        }
    })
}

/// Accepts connections on `listener` forever, serving files under `root`.
async fn serve(listener: TcpListener, root: PathBuf) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let root = root.clone();
        tokio::spawn(async move {
            // A client that goes away mid-response is not the server's problem.
            let _ = handle(stream, &root).await;
        });
    }
}

/// A response head: status, content type, length, and an optional `Location`.
struct Head<'a> {
    status: &'a str,
    content_type: &'a str,
    length: u64,
    location: Option<&'a str>,
}

/// Serves one request, then closes the connection.
async fn handle(mut stream: TcpStream, root: &Path) -> io::Result<()> {
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(Some(head))) => head,
        Ok(Ok(None)) => return text(&mut stream, "400 Bad Request", "bad request\n").await,
        Ok(Err(error)) => return Err(error),
        Err(_) => return text(&mut stream, "408 Request Timeout", "request timeout\n").await,
    };
    let mut words = head.lines().next().unwrap_or("").split(' ');
    let (method, target, version) = (words.next(), words.next(), words.next());
    let (Some(method), Some(target), Some(version)) = (method, target, version) else {
        return text(&mut stream, "400 Bad Request", "bad request line\n").await;
    };
    if !version.starts_with("HTTP/1.") {
        return text(
            &mut stream,
            "505 HTTP Version Not Supported",
            "HTTP/1.x only\n",
        )
        .await;
    }
    let send_body = match method {
        "GET" => true,
        "HEAD" => false,
        _ => return text(&mut stream, "405 Method Not Allowed", "GET or HEAD only\n").await,
    };
    if matches!(target.split(['?', '#']).next(), Some("/" | "/index.html")) {
        // A run finished since the last look shows up at once; an unreadable store still
        // serves whatever index it has.
        let store = root.to_path_buf();
        let _ = tokio::task::spawn_blocking(move || rafty_reports::write_store_index(&store)).await;
    }
    match static_files::resolve(root, target) {
        Resolved::File(path) => file(&mut stream, &path, send_body).await,
        Resolved::Directory(dir) => match static_files::listing(&dir, target) {
            Ok(html) => {
                respond(
                    &mut stream,
                    "200 OK",
                    "text/html; charset=utf-8",
                    &html,
                    send_body,
                )
                .await
            }
            Err(_) => text(&mut stream, "404 Not Found", "not found\n").await,
        },
        Resolved::Redirect(location) => {
            let head = Head {
                status: "301 Moved Permanently",
                content_type: "text/plain; charset=utf-8",
                length: 0,
                location: Some(&location),
            };
            write_head(&mut stream, &head).await
        }
        Resolved::NotFound => text(&mut stream, "404 Not Found", "not found\n").await,
        Resolved::Forbidden => text(&mut stream, "403 Forbidden", "forbidden\n").await,
    }
}

/// Reads up to the blank line ending the request head; `None` if it is too long, not UTF-8,
/// or the client closed before finishing it.
async fn read_head(stream: &mut TcpStream) -> io::Result<Option<String>> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        if buffer.len() > MAX_HEAD_BYTES {
            return Ok(None);
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    Ok(String::from_utf8(buffer).ok())
}

async fn write_head(stream: &mut TcpStream, head: &Head<'_>) -> io::Result<()> {
    let location = head
        .location
        .map(|l| format!("Location: {l}\r\n"))
        .unwrap_or_default();
    let text = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{location}\
         X-Content-Type-Options: nosniff\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        head.status, head.content_type, head.length
    );
    stream.write_all(text.as_bytes()).await
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
    send_body: bool,
) -> io::Result<()> {
    let head = Head {
        status,
        content_type,
        length: body.len() as u64,
        location: None,
    };
    write_head(stream, &head).await?;
    if send_body {
        stream.write_all(body.as_bytes()).await?;
    }
    stream.shutdown().await
}

async fn text(stream: &mut TcpStream, status: &str, body: &str) -> io::Result<()> {
    respond(stream, status, "text/plain; charset=utf-8", body, true).await
}

async fn file(stream: &mut TcpStream, path: &Path, send_body: bool) -> io::Result<()> {
    let Ok(mut file) = tokio::fs::File::open(path).await else {
        return text(stream, "404 Not Found", "not found\n").await;
    };
    let length = file.metadata().await?.len();
    let head = Head {
        status: "200 OK",
        content_type: static_files::content_type(path),
        length,
        location: None,
    };
    write_head(stream, &head).await?;
    if send_body {
        tokio::io::copy(&mut file, stream).await?;
    }
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--store FILE` says the file is not a directory, not that there is no such folder.
    #[test]
    fn a_store_that_is_a_file_is_not_a_directory() {
        let file = std::env::temp_dir().join(format!("rafty-serve-file-{}", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(store_problem(&file), Some("is not a directory"));
        std::fs::remove_file(&file).unwrap();
        assert!(store_problem(&file).unwrap().starts_with("no such folder"));
        assert_eq!(store_problem(&std::env::temp_dir()), None);
    }

    /// A scratch store folder, removed when dropped.
    struct Store(PathBuf);

    impl Store {
        fn new() -> Store {
            use std::sync::atomic::{AtomicU32, Ordering};
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let name = format!(
                "rafty-serve-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            let dir = std::env::temp_dir().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            Store(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Store {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A store with one run, served on an ephemeral port.
    async fn server() -> (SocketAddr, Store) {
        let store = Store::new();
        let run = store.path().join("kv/20261126T070000-7");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("results.json"), r#"{"valid":false,"seed":7}"#).unwrap();
        std::fs::write(run.join("timeline.html"), "<!DOCTYPE html><p>timeline</p>").unwrap();
        std::fs::write(run.join("rate.svg"), "<svg/>").unwrap();
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, store.path().to_path_buf()));
        (address, store)
    }

    /// Sends `request` verbatim over TCP; returns the status line, the head and the body.
    async fn request(address: SocketAddr, request: &str) -> (String, String, String) {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        let status = head.lines().next().unwrap().to_owned();
        (status, head.to_owned(), body.to_owned())
    }

    fn get(target: &str) -> String {
        format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n")
    }

    #[tokio::test]
    async fn serves_a_report_file_with_its_content_type() {
        let (address, _store) = server().await;
        let (status, head, body) =
            request(address, &get("/kv/20261126T070000-7/timeline.html")).await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(
            head.contains("Content-Type: text/html; charset=utf-8"),
            "{head}"
        );
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        assert_eq!(body, "<!DOCTYPE html><p>timeline</p>");
        let (_, head, _) = request(address, &get("/kv/20261126T070000-7/rate.svg")).await;
        assert!(head.contains("Content-Type: image/svg+xml"), "{head}");
    }

    #[tokio::test]
    async fn the_root_is_the_regenerated_store_index() {
        let (address, _store) = server().await;
        let (status, _, body) = request(address, &get("/")).await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(body.contains("1 runs: 0 valid, 1 invalid"), "{body}");
        assert!(
            body.contains("href=\"kv/20261126T070000-7/timeline.html\""),
            "{body}"
        );
    }

    #[tokio::test]
    async fn path_traversal_is_refused() {
        let (address, _store) = server().await;
        for target in [
            "/../../etc/passwd",
            "/kv/%2e%2e/%2e%2e/etc/passwd",
            "/..%2f..%2fetc/passwd",
        ] {
            let (status, _, body) = request(address, &get(target)).await;
            assert_eq!(status, "HTTP/1.1 403 Forbidden", "{target}");
            assert!(!body.contains("root:"), "{target}");
        }
    }

    #[tokio::test]
    async fn directories_redirect_then_list() {
        let (address, _store) = server().await;
        let (status, head, _) = request(address, &get("/kv")).await;
        assert_eq!(status, "HTTP/1.1 301 Moved Permanently");
        assert!(head.contains("Location: /kv/"), "{head}");
        let (status, _, body) = request(address, &get("/kv/20261126T070000-7/")).await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(body.contains("<a href=\"timeline.html\">"), "{body}");
    }

    #[tokio::test]
    async fn bad_requests_get_their_status() {
        let (address, _store) = server().await;
        let (status, _, _) = request(address, &get("/nothing-here.html")).await;
        assert_eq!(status, "HTTP/1.1 404 Not Found");
        let post = "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            request(address, post).await.0,
            "HTTP/1.1 405 Method Not Allowed"
        );
        assert_eq!(
            request(address, "nonsense\r\n\r\n").await.0,
            "HTTP/1.1 400 Bad Request"
        );
        let head = "HEAD /kv/20261126T070000-7/rate.svg HTTP/1.1\r\n\r\n";
        let (status, head, body) = request(address, head).await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(head.contains("Content-Length: 6"), "{head}");
        assert_eq!(body, "");
    }
}
