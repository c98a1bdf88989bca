//! An in-process `hsmdrill serve` and a keep-alive HTTP/1.1 client for the
//! benches that go through the wire: each request written whole, each
//! response read whole (Content-Length) before the next.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use hsmdrill::engine::{world, Clock, EPOCH};
use hsmdrill::server::{run, ServerState};

/// A server running on its own thread.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Server {
    /// Serves `state` on 127.0.0.1 (a free port) on a two-worker runtime,
    /// as `hsmdrill serve` does, until [`Server::stop`].
    pub fn serve(state: Arc<ServerState>) -> Server {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind loopback");
                addr_tx
                    .send(listener.local_addr().expect("the address"))
                    .expect("send the address");
                run(listener, state, async {
                    let _ = stopped.await;
                })
                .await
                .expect("serve");
            });
        });
        Server {
            addr: addr_rx.recv().expect("the server's address"),
            stop,
            thread,
        }
    }

    /// `hsmdrill serve --world scenarios/worlds/example.yaml [--state FILE]`
    /// in process: the engine `serve` builds (real-time clock).
    pub fn example(state_file: Option<std::path::PathBuf>) -> Server {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/worlds/example.yaml");
        let yaml = std::fs::read_to_string(path).expect("the example world");
        let engine = world::load_str_with_clock(&yaml, path, Clock::running_from(EPOCH))
            .expect("the example world loads")
            .with_connect_seconds(Some(2));
        let state = ServerState::new(engine, Some(2));
        if let Some(path) = state_file {
            state.persist_to(path).expect("the state file is written");
        }
        Server::serve(state)
    }

    /// Stops it and waits for its thread.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// One keep-alive connection.
pub struct Client {
    addr: SocketAddr,
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Client {
            addr,
            stream,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Sends `request` and reads its response: `(status, body)`. A
    /// connection the server closed (idle) is opened again once.
    pub fn call(&mut self, request: &[u8]) -> (u16, Vec<u8>) {
        match self.try_call(request) {
            Some(r) => r,
            None => {
                *self = Client::connect(self.addr);
                self.try_call(request)
                    .expect("the server answers on a new connection")
            }
        }
    }

    fn try_call(&mut self, request: &[u8]) -> Option<(u16, Vec<u8>)> {
        self.stream.write_all(request).ok()?;
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(p) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let n = self.stream.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let (status, len) = parse_head(&self.buf[..head_end]);
        while self.buf.len() < head_end + len {
            let n = self.stream.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Some((status, self.buf[head_end..head_end + len].to_vec()))
    }
}

/// The status and Content-Length of a response head.
fn parse_head(head: &[u8]) -> (u16, usize) {
    let head = std::str::from_utf8(head).expect("ASCII headers");
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .expect("responses carry Content-Length");
    (status, len)
}
