//! A [`Connector`] that counts the bytes its connections carry: what a transport really sent
//! and received (frames, handshakes, headers), for `--catch-up`.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use rafty::tcp::{Connector, TokioConnector};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes written to and read from every connection of one [`CountingConnector`].
#[derive(Debug, Default)]
pub struct ByteCounts {
    written: AtomicU64,
    read: AtomicU64,
}

impl ByteCounts {
    /// Bytes the dialing side wrote (its requests).
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Bytes the dialing side read (the answers).
    pub fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }
}

/// Dials with [`TokioConnector`] and counts into shared [`ByteCounts`].
#[derive(Clone, Debug, Default)]
pub struct CountingConnector {
    counts: Arc<ByteCounts>,
}

impl CountingConnector {
    /// A connector counting into `counts`.
    pub fn new(counts: Arc<ByteCounts>) -> CountingConnector {
        CountingConnector { counts }
    }
}

impl Connector for CountingConnector {
    type Stream = CountingStream;

    async fn connect(&self, addr: &str) -> io::Result<CountingStream> {
        let inner = TokioConnector.connect(addr).await?;
        Ok(CountingStream {
            inner,
            counts: self.counts.clone(),
        })
    }
}

/// A TCP stream that adds what passes through it to its [`ByteCounts`].
#[derive(Debug)]
pub struct CountingStream {
    inner: tokio::net::TcpStream,
    counts: Arc<ByteCounts>,
}

impl AsyncRead for CountingStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(context, buf);
        let read = (buf.filled().len() - before) as u64;
        self.counts.read.fetch_add(read, Ordering::Relaxed);
        polled
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(context, buf);
        if let Poll::Ready(Ok(written)) = &polled {
            self.counts
                .written
                .fetch_add(*written as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(context)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn every_byte_written_and_read_is_counted() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            let echo = tokio::spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 5];
                stream.read_exact(&mut buf).await.unwrap();
                stream.write_all(&buf[..3]).await.unwrap();
            });
            let counts = Arc::new(ByteCounts::default());
            let connector = CountingConnector::new(counts.clone());
            let mut stream = connector.connect(&addr).await.unwrap();
            stream.write_all(b"hello").await.unwrap();
            let mut answer = [0u8; 3];
            stream.read_exact(&mut answer).await.unwrap();
            echo.await.unwrap();
            assert_eq!((counts.written(), counts.read()), (5, 3));
        });
    }
}
