//! A local HTTP/1.1 server on 127.0.0.1 that injects faults: it answers, delays,
//! or closes the connection without an answer, as a test's handler decides for
//! each request, and records what it saw (requests, their times, the most in
//! flight at once).
//!
//! It runs on its own thread and runtime; dropping it stops it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The method.
    pub method: String,
    /// The path (with any query).
    pub path: String,
    /// The headers, names lowercased.
    pub headers: HashMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
    /// When it arrived, from the server's start.
    pub at: Duration,
    /// How many requests to this path came before it.
    pub attempt: usize,
}

/// What the server does with a request.
#[derive(Debug, Clone)]
pub enum Action {
    /// Answers `status` with `headers` and `body` after `delay`.
    Respond {
        /// The status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: String,
        /// How long to wait first.
        delay: Duration,
        /// A latch to wait for first, if any.
        held: Option<Latch>,
    },
    /// Closes the connection without answering.
    Close,
    /// Writes these bytes as they are, then closes.
    Raw(Vec<u8>),
    /// Writes `head`, then one byte every `every`, until the client leaves.
    Trickle {
        /// The status line and headers, with the blank line.
        head: String,
        /// The pause between two bytes.
        every: Duration,
    },
    /// Writes `head`, then body bytes as fast as it can, until the client leaves.
    Endless {
        /// The status line and headers, with the blank line.
        head: String,
    },
}

impl Action {
    /// Answers `status` at once with no body.
    pub fn status(status: u16) -> Self {
        Self::Respond {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: Duration::ZERO,
            held: None,
        }
    }

    /// Answers `status` with a JSON body.
    pub fn json(status: u16, body: &str) -> Self {
        Self::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
            delay: Duration::ZERO,
            held: None,
        }
    }

    /// Adds a header to a response.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Self::Respond { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    /// Delays a response.
    #[must_use]
    pub fn after(mut self, wait: Duration) -> Self {
        if let Self::Respond { delay, .. } = &mut self {
            *delay = wait;
        }
        self
    }

    /// Holds a response until `latch` is opened: the request stays in flight
    /// for as long as the test needs, however slow the machine.
    #[must_use]
    pub fn held_until(mut self, latch: &Latch) -> Self {
        if let Self::Respond { held, .. } = &mut self {
            *held = Some(latch.clone());
        }
        self
    }
}

/// Opened once by a test, it releases every response held on it, and those
/// held later pass at once.
#[derive(Debug, Clone)]
pub struct Latch(Arc<watch::Sender<bool>>);

impl Latch {
    /// A closed latch.
    pub fn new() -> Self {
        Self(Arc::new(watch::Sender::new(false)))
    }

    /// Opens it.
    pub fn open(&self) {
        self.0.send_replace(true);
    }

    async fn opened(&self) {
        let mut open = self.0.subscribe();
        let _ = open.wait_for(|open| *open).await;
    }
}

impl Default for Latch {
    fn default() -> Self {
        Self::new()
    }
}

type Handler = dyn Fn(&Received) -> Action + Send + Sync;

struct State {
    handler: Box<Handler>,
    started: Instant,
    received: Mutex<Vec<Received>>,
    attempts: Mutex<HashMap<String, usize>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// The running server.
pub struct FaultServer {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for FaultServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FaultServer {
    /// Starts a server that asks `handler` what to do with each request.
    pub fn start(handler: impl Fn(&Received) -> Action + Send + Sync + 'static) -> Self {
        let state = Arc::new(State {
            handler: Box::new(handler),
            started: Instant::now(),
            received: Mutex::new(Vec::new()),
            attempts: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let (shutdown, mut stop) = oneshot::channel();
        let thread = {
            let state = Arc::clone(&state);
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("server runtime");
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("tokio listener");
                    loop {
                        tokio::select! {
                            _ = &mut stop => break,
                            accepted = listener.accept() => {
                                if let Ok((stream, _)) = accepted {
                                    tokio::spawn(serve(stream, Arc::clone(&state)));
                                }
                            }
                        }
                    }
                });
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
        };
        Self {
            addr,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// The most requests that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(stream: TcpStream, state: Arc<State>) {
    let mut stream = BufReader::new(stream);
    loop {
        let Some(request) = read_request(&mut stream, &state).await else {
            return;
        };
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let action = (state.handler)(&request);
        state.received.lock().unwrap().push(request);
        let keep_open = match action {
            Action::Close => false,
            Action::Raw(bytes) => {
                let _ = stream.get_mut().write_all(&bytes).await;
                false
            }
            Action::Trickle { head, every } => {
                let stream = stream.get_mut();
                if stream.write_all(head.as_bytes()).await.is_ok() {
                    while stream.write_all(b"x").await.is_ok() {
                        tokio::time::sleep(every).await;
                    }
                }
                false
            }
            Action::Endless { head } => {
                let stream = stream.get_mut();
                let chunk = vec![b'x'; 64 * 1024];
                if stream.write_all(head.as_bytes()).await.is_ok() {
                    while stream.write_all(&chunk).await.is_ok() {}
                }
                false
            }
            Action::Respond {
                status,
                headers,
                body,
                delay,
                held,
            } => {
                if let Some(latch) = held {
                    latch.opened().await;
                }
                tokio::time::sleep(delay).await;
                let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let stream = stream.get_mut();
                stream.write_all(head.as_bytes()).await.is_ok()
                    && stream.write_all(body.as_bytes()).await.is_ok()
            }
        };
        state.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !keep_open {
            return;
        }
    }
}

async fn read_request(stream: &mut BufReader<TcpStream>, state: &State) -> Option<Received> {
    let mut line = String::new();
    stream.read_line(&mut line).await.ok().filter(|n| *n > 0)?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        stream
            .read_line(&mut header)
            .await
            .ok()
            .filter(|n| *n > 0)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    let attempt = {
        let mut attempts = state.attempts.lock().unwrap();
        let count = attempts.entry(path.clone()).or_default();
        *count += 1;
        *count - 1
    };
    Some(Received {
        method,
        path,
        headers,
        body,
        at: state.started.elapsed(),
        attempt,
    })
}
