//! `hsmdrill serve` as a child process, the one way the tests start one.
//!
//! The server is always started with `--port 0`: the kernel picks a port
//! nobody else holds and the server prints the address it bound in its
//! banner, which is read back here. (Choosing a port by binding and
//! dropping a listener, then passing it to the child, races with every
//! other test doing the same: two servers get one port, the second exits,
//! and its test talks to the first test's server.) While waiting for the
//! banner the child is watched: if it exits, the test fails with what it
//! printed, instead of timing out on a connection nobody will accept.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hsmdrill::server::{engine_for, ServeOptions, ServerState};

use super::bin;

/// How long a server may take to print its address (a debug build under a
/// loaded CI machine is slow to start).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What the banner says just before the address.
const BANNER: &str = "hsmdrill serving the embedded engine on http://";

/// The example world served as `hsmdrill serve --world … --connect-seconds
/// 2` serves it; with `credentials`, as with `--auth` too.
pub fn example_state(
    credentials: Option<hsmdrill::server::Credentials>,
) -> std::sync::Arc<ServerState> {
    let opts = ServeOptions {
        bind: std::net::Ipv4Addr::LOCALHOST.into(),
        port: 0,
        world: Some(super::example_world()),
        connect_seconds: 2,
        state_file: None,
        auth: None,
    };
    let engine = engine_for(&opts).unwrap_or_else(|e| panic!("the example world: {e}"));
    match credentials {
        Some(c) => ServerState::with_auth(engine, Some(2), c),
        None => ServerState::new(engine, Some(2)),
    }
}

/// A running `hsmdrill serve`; SIGKILLed and reaped when dropped.
pub struct ServeProcess {
    child: Child,
    addr: SocketAddr,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl ServeProcess {
    /// `hsmdrill serve --bind 127.0.0.1 --port 0 <args…>`, returned once it
    /// has printed the address it listens on.
    pub fn start<I, S>(args: I) -> ServeProcess
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        ServeProcess::spawn(args, None)
    }

    /// As [`ServeProcess::start`], and what it prints on stderr is also
    /// written to `log` as it comes (for long runs, read after the fact).
    pub fn start_logged<I, S>(args: I, log: &Path) -> ServeProcess
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let file =
            File::create(log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        ServeProcess::spawn(args, Some(file))
    }

    fn spawn<I, S>(args: I, log: Option<File>) -> ServeProcess
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(bin());
        cmd.args(["serve", "--bind", "127.0.0.1", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin().display()));
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (lines, banner) = mpsc::channel();
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(collect_lines(out, Arc::clone(&stdout), lines));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(collect_all(err, Arc::clone(&stderr), log));
        }
        let mut server = ServeProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stdout,
            stderr,
            readers,
        };
        server.addr = server.wait_for_banner(&banner);
        server
    }

    /// Reads stdout lines until the banner names the address; fails with
    /// the child's output if it exits or stays silent too long.
    fn wait_for_banner(&mut self, lines: &mpsc::Receiver<String>) -> SocketAddr {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match lines.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => {
                    if let Some(rest) = line.split(BANNER).nth(1) {
                        return rest.trim().parse().unwrap_or_else(|e| {
                            panic!("hsmdrill serve printed an address that does not parse ({e}): {line}")
                        });
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                // stdout closed: the child is exiting; try_wait below says so.
                Err(RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(Duration::from_millis(20))
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.join_readers();
                panic!(
                    "hsmdrill serve exited ({status}) before it listened\n--- stdout\n{}--- stderr\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "hsmdrill serve printed no address within {START_TIMEOUT:?}\n--- stdout\n{}--- stderr\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, for `--endpoint-url` and `--endpoint`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The child's process id (to send it a signal).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Everything it printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Everything it printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap; the output
    /// it printed is complete afterwards.
    pub fn kill(mut self) -> ExitStatus {
        let _ = self.child.kill();
        let status = self
            .child
            .wait()
            .unwrap_or_else(|e| panic!("cannot reap hsmdrill serve: {e}"));
        self.join_readers();
        status
    }

    /// SIGTERM (a clean shutdown, SIGKILL if it takes over 10 s), then
    /// everything it printed: `(stdout, stderr)`.
    pub fn stop(mut self) -> (String, String) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        assert!(
            sent.as_ref().is_ok_and(|s| s.success()),
            "cannot send SIGTERM with kill(1): {sent:?}"
        );
        if self.wait_timeout(Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.join_readers();
        }
        (self.stdout(), self.stderr())
    }

    /// Waits up to `timeout` for the child to exit by itself (after a
    /// signal); `None` if it is still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                self.join_readers();
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Appends every stdout line to `all` and sends it on `lines` (until the
/// receiver is gone: the pipe must be drained all the same, or a chatty
/// server would block on a full pipe).
fn collect_lines(
    out: ChildStdout,
    all: Arc<Mutex<String>>,
    lines: mpsc::Sender<String>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut all) = all.lock() {
                all.push_str(&line);
                all.push('\n');
            }
            let _ = lines.send(line);
        }
    })
}

/// Appends everything read to `all` (and to `log`).
fn collect_all(
    mut from: impl Read + Send + 'static,
    all: Arc<Mutex<String>>,
    mut log: Option<File>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Some(log) = log.as_mut() {
                        let _ = log.write_all(&buf[..n]);
                    }
                    if let Ok(mut all) = all.lock() {
                        all.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            }
        }
    })
}

/// The server in this process, on a runtime of its own thread, on a port
/// the kernel picked (the listener is bound before the address is known,
/// so no other server can take it). Stopped and joined when dropped.
pub struct InProcessServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl InProcessServer {
    /// Serves `state` on two worker threads.
    pub fn start(state: Arc<ServerState>) -> InProcessServer {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("cannot start a runtime: {e}"));
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:0: {e}"));
                let addr = listener
                    .local_addr()
                    .unwrap_or_else(|e| panic!("no local address: {e}"));
                let _ = addr_tx.send(addr);
                let stopped = async {
                    let _ = stopped.await;
                };
                if let Err(e) = hsmdrill::server::run(listener, state, stopped).await {
                    panic!("the server failed: {e}");
                }
            });
        });
        let addr = addr_rx
            .recv()
            .unwrap_or_else(|_| panic!("the server thread ended before it listened"));
        InProcessServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic of the server thread fails the test that owns it,
            // unless that test is already unwinding.
            if thread.join().is_err() && !std::thread::panicking() {
                panic!("the in-process server panicked");
            }
        }
    }
}
