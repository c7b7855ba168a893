//! The scripted server itself: accepting connections, matching routes, recording, and
//! delivering replies piece by piece.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use super::record::{Disconnect, DisconnectPhase, RecordedRequest, ServerStats};
use super::reply::{error_body, Fault, Gate, Reply};
use super::route::{PathPattern, Plan, Route, RouteEntry, Script};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Locks a mutex, ignoring poisoning (a panicking test closure must not break the server).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// State shared by the server's tasks and every handle to it.
pub(crate) struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    version: watch::Sender<u64>,
    shutting_down: AtomicBool,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) routes: Vec<RouteEntry>,
    next_route_id: u64,
    next_connection_id: u64,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) stats: ServerStats,
    pub(crate) disconnects: Vec<Disconnect>,
}

impl Shared {
    fn new() -> Shared {
        Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            version: watch::Sender::new(0),
            shutting_down: AtomicBool::new(false),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Changes the state and wakes everyone waiting for a change.
    pub(crate) fn update<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let out = f(&mut self.lock());
        self.changed.notify_all();
        self.version.send_modify(|v| *v = v.wrapping_add(1));
        out
    }

    fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    pub(crate) async fn wait_until(
        &self,
        timeout: Duration,
        condition: impl Fn(&State) -> bool,
    ) -> bool {
        let mut changes = self.version.subscribe();
        let wait = async {
            loop {
                if condition(&self.lock()) {
                    return;
                }
                // The sender lives in `self`, so this cannot fail while we wait.
                if changes.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    pub(crate) fn wait_until_blocking(
        &self,
        timeout: Duration,
        condition: impl Fn(&State) -> bool,
    ) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = self.lock();
        loop {
            if condition(&state) {
                return true;
            }
            let wait = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left,
                    _ => return false,
                },
                None => Duration::from_secs(3600),
            };
            state = self
                .changed
                .wait_timeout(state, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn record_disconnect(
        &self,
        connection_id: u64,
        method: Method,
        path: String,
        phase: DisconnectPhase,
    ) {
        if self.shutting_down() {
            return;
        }
        self.update(|state| {
            state.stats.disconnects += 1;
            state.disconnects.push(Disconnect {
                connection_id,
                method,
                path,
                phase,
            });
        });
    }
}

/// An HTTP/1.1 server on `127.0.0.1` that answers requests from a script, records every request
/// and connection event, and can misbehave on purpose.
///
/// See the [module documentation](super) for a walkthrough.
///
/// ```
/// use openai_sdk::testing::{Reply, ScriptedServer};
/// use serde_json::json;
///
/// #[tokio::main]
/// async fn main() {
///     let server = ScriptedServer::start().await;
///     server
///         .post("/v1/chat/completions")
///         .respond(Reply::json(200, json!({"id": "chatcmpl-1", "choices": []})));
///
///     // Point the code under test at `server.base_url()`; here, a plain HTTP client.
///     let body: serde_json::Value = reqwest::Client::new()
///         .post(format!("{}/chat/completions", server.base_url()))
///         .json(&json!({"model": "gpt-4o", "messages": []}))
///         .send()
///         .await
///         .unwrap()
///         .json()
///         .await
///         .unwrap();
///
///     assert_eq!(body["id"], "chatcmpl-1");
///     assert_eq!(server.requests_to("/v1/chat/completions")[0].json().unwrap()["model"], "gpt-4o");
/// }
/// ```
pub struct ScriptedServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    runner: Runner,
}

enum Runner {
    Task(tokio::task::JoinHandle<()>),
    Thread {
        stop: Option<oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
}

impl std::fmt::Debug for ScriptedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedServer")
            .field("addr", &self.addr)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.shared.shutting_down.store(true, Ordering::SeqCst);
        match &mut self.runner {
            Runner::Task(task) => task.abort(),
            Runner::Thread { stop, thread } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                if let Some(thread) = thread.take() {
                    let _ = thread.join();
                }
            }
        }
    }
}

impl ScriptedServer {
    /// Starts a server on `127.0.0.1` (a free port) on the current Tokio runtime.
    ///
    /// The server runs as tasks of that runtime and stops when the `ScriptedServer` is dropped.
    ///
    /// # Panics
    ///
    /// If called outside a Tokio runtime or if no loopback port can be bound;
    /// [`ScriptedServer::try_start`] returns these as errors instead.
    ///
    /// ```
    /// use openai_sdk::testing::ScriptedServer;
    ///
    /// #[tokio::main]
    /// async fn main() {
    ///     let server = ScriptedServer::start().await;
    ///     assert!(server.base_url().starts_with("http://127.0.0.1:"));
    /// }
    /// ```
    pub async fn start() -> ScriptedServer {
        match ScriptedServer::try_start().await {
            Ok(server) => server,
            Err(err) => panic!("openai-sdk testing: could not start the scripted server: {err}"),
        }
    }

    /// Like [`ScriptedServer::start`], but returns an error instead of panicking.
    ///
    /// ```
    /// use openai_sdk::testing::ScriptedServer;
    ///
    /// #[tokio::main]
    /// async fn main() -> std::io::Result<()> {
    ///     let server = ScriptedServer::try_start().await?;
    ///     println!("listening on {}", server.addr());
    ///     Ok(())
    /// }
    /// ```
    pub async fn try_start() -> std::io::Result<ScriptedServer> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|err| std::io::Error::other(format!("not inside a Tokio runtime: {err}")))?;
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new());
        let task = runtime.spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(ScriptedServer {
            shared,
            addr,
            runner: Runner::Task(task),
        })
    }

    /// Starts a server on its own thread with its own Tokio runtime, for tests of blocking
    /// clients (no runtime needed by the caller). It also suits async tests that want the
    /// server independent of the test's runtime (for instance when the test pauses time).
    ///
    /// Dropping the server stops its runtime and joins the thread.
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound or the thread cannot be started;
    /// [`ScriptedServer::try_start_blocking`] returns these as errors instead.
    ///
    /// ```
    /// use openai_sdk::testing::{Reply, ScriptedServer};
    /// use std::io::{Read, Write};
    ///
    /// let server = ScriptedServer::start_blocking();
    /// server.get("/v1/models").respond(Reply::text(200, "hi"));
    ///
    /// // Any blocking client works; here, raw HTTP over a std TcpStream.
    /// let mut tcp = std::net::TcpStream::connect(server.addr()).unwrap();
    /// tcp.write_all(b"GET /v1/models HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").unwrap();
    /// let mut response = String::new();
    /// tcp.read_to_string(&mut response).unwrap();
    /// assert!(response.starts_with("HTTP/1.1 200 OK"));
    /// assert!(response.ends_with("hi"));
    /// ```
    pub fn start_blocking() -> ScriptedServer {
        match ScriptedServer::try_start_blocking() {
            Ok(server) => server,
            Err(err) => panic!("openai-sdk testing: could not start the scripted server: {err}"),
        }
    }

    /// Like [`ScriptedServer::start_blocking`], but returns an error instead of panicking.
    ///
    /// ```
    /// let server = openai_sdk::testing::ScriptedServer::try_start_blocking().unwrap();
    /// # let _ = server;
    /// ```
    pub fn try_start_blocking() -> std::io::Result<ScriptedServer> {
        let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared::new());
        let (stop, stopped) = oneshot::channel::<()>();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("scripted-server-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(_) => return,
                    };
                    tokio::select! {
                        _ = accept_loop(listener, thread_shared) => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(ScriptedServer {
            shared,
            addr,
            runner: Runner::Thread {
                stop: Some(stop),
                thread: Some(thread),
            },
        })
    }

    /// The socket address the server listens on.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// assert!(server.addr().ip().is_loopback());
    /// # }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's origin, like `http://127.0.0.1:PORT` (no trailing slash).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// assert_eq!(server.origin(), format!("http://{}", server.addr()));
    /// # }
    /// ```
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base URL to give an OpenAI client: `http://127.0.0.1:PORT/v1`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// assert_eq!(server.base_url(), format!("http://{}/v1", server.addr()));
    /// # }
    /// ```
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// A [`Client`](crate::Client) for this server: its [`base_url`](Self::base_url), a
    /// placeholder API key, no proxy (a system proxy must not catch loopback traffic), and
    /// no retries (a test scripts its retries).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// use openai_sdk::testing::{Reply, ScriptedServer};
    ///
    /// let server = ScriptedServer::start().await;
    /// server.get("/v1/models").respond(Reply::json(200, serde_json::json!({"object": "list", "data": []})));
    /// let models = server.client().list_models().await.unwrap();
    /// assert!(models.data.is_empty());
    /// # }
    /// ```
    pub fn client(&self) -> crate::Client {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("a reqwest client without proxy builds");
        crate::Client::builder()
            .api_key("sk-scripted")
            .base_url(self.base_url())
            .http_client(http)
            .max_retries(0)
            .build()
            .expect("a client of a loopback URL builds")
    }

    /// The full URL of an absolute `path` (a missing leading `/` is added):
    /// `server.url("/v1/models")` is `http://127.0.0.1:PORT/v1/models`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// assert_eq!(server.url("/v1/models"), format!("{}/models", server.base_url()));
    /// # }
    /// ```
    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("http://{}{}", self.addr, path)
        } else {
            format!("http://{}/{}", self.addr, path)
        }
    }

    /// Registers (or replaces) the route for `method` and `path`, and returns its handle.
    ///
    /// `path` is matched exactly against the request path, except that a segment `*` matches
    /// any one segment (`/v1/threads/*/runs`). The request's query is ignored unless `path`
    /// has one (`/v1/files?purpose=batch`): then the query must hold exactly those
    /// `key=value` pairs, in any order (`key=*` matches any value of `key`, as recorded
    /// fixtures write secret parameters). When several routes match, a route with a query beats
    /// one without, fewer `*` beat more, and then the earlier registration wins. Registering
    /// the same method and path again replaces the old route (and its call count).
    ///
    /// A new route has no replies yet (it answers 500 until given one).
    ///
    /// ```
    /// use openai_sdk::testing::{Method, Reply, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// let server = ScriptedServer::start().await;
    /// server
    ///     .route(Method::GET, "/v1/threads/*/messages")
    ///     .respond(Reply::json(200, serde_json::json!({"object": "list", "data": []})));
    /// let response = reqwest::get(server.url("/v1/threads/thread_abc/messages?limit=5")).await.unwrap();
    /// assert_eq!(response.status(), 200);
    /// # }
    /// ```
    pub fn route(&self, method: Method, path: &str) -> Route {
        let pattern = PathPattern::parse(path);
        let id = self.shared.update(|state| {
            state
                .routes
                .retain(|r| !(r.method == method && r.pattern.raw == pattern.raw));
            let id = state.next_route_id;
            state.next_route_id += 1;
            state.routes.push(RouteEntry {
                id,
                method,
                pattern,
                script: Script::Sequence {
                    replies: Vec::new(),
                    exhausted: Default::default(),
                },
                calls: 0,
            });
            id
        });
        Route {
            shared: Arc::clone(&self.shared),
            id,
        }
    }

    /// Shorthand for [`route(Method::GET, path)`](ScriptedServer::route).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// server.get("/v1/models").respond(openai_sdk::testing::Reply::status(200));
    /// # }
    /// ```
    pub fn get(&self, path: &str) -> Route {
        self.route(Method::GET, path)
    }

    /// Shorthand for [`route(Method::POST, path)`](ScriptedServer::route).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// server.post("/v1/responses").respond(openai_sdk::testing::Reply::status(200));
    /// # }
    /// ```
    pub fn post(&self, path: &str) -> Route {
        self.route(Method::POST, path)
    }

    /// Shorthand for [`route(Method::DELETE, path)`](ScriptedServer::route).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// server.delete("/v1/files/*").respond(openai_sdk::testing::Reply::status(200));
    /// # }
    /// ```
    pub fn delete(&self, path: &str) -> Route {
        self.route(Method::DELETE, path)
    }

    /// Removes every route (requests already recorded are kept).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// server.get("/v1/models");
    /// server.clear_routes();
    /// # }
    /// ```
    pub fn clear_routes(&self) {
        self.shared.update(|state| state.routes.clear());
    }

    /// Every request received so far (matched or not), in order.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// assert!(server.requests().is_empty());
    /// # }
    /// ```
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The requests whose path (without query) is exactly `path`, in order.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// let _ = reqwest::get(server.url("/v1/models?x=1")).await.unwrap();
    /// assert_eq!(server.requests_to("/v1/models").len(), 1);
    /// # }
    /// ```
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// How many requests were received so far.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// assert_eq!(server.request_count(), 0);
    /// # }
    /// ```
    pub fn request_count(&self) -> usize {
        self.shared.lock().requests.len()
    }

    /// How many requests to exactly `path` (without query) were received so far.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// assert_eq!(server.request_count_to("/v1/chat/completions"), 0);
    /// # }
    /// ```
    pub fn request_count_to(&self, path: &str) -> usize {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// The most recent request, if any.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// assert!(server.last_request().is_none());
    /// # }
    /// ```
    pub fn last_request(&self) -> Option<RecordedRequest> {
        self.shared.lock().requests.last().cloned()
    }

    /// Forgets the recorded requests and disconnects (counters in [`stats`](Self::stats) keep
    /// counting).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// server.clear_requests();
    /// # }
    /// ```
    pub fn clear_requests(&self) {
        self.shared.update(|state| {
            state.requests.clear();
            state.disconnects.clear();
        });
    }

    /// Connection and request counters.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// assert_eq!(server.stats().connections_opened, 0);
    /// # }
    /// ```
    pub fn stats(&self) -> ServerStats {
        self.shared.lock().stats
    }

    /// The responses clients abandoned before the server finished them, in order.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// assert!(server.disconnects().is_empty());
    /// # }
    /// ```
    pub fn disconnects(&self) -> Vec<Disconnect> {
        self.shared.lock().disconnects.clone()
    }

    /// Waits until the server has seen a client abandon a response (close the connection
    /// before the body was complete, or before the headers were sent); `true` if it happened
    /// within `timeout` (or had already happened), `false` on timeout.
    ///
    /// This is how a test proves that dropping a response stream closes the connection: it
    /// needs no clock, only a timeout as a failure guard. Check [`disconnects`](Self::disconnects)
    /// for the phase.
    ///
    /// ```
    /// use openai_sdk::testing::{Chunking, DisconnectPhase, Gate, Reply, ScriptedServer};
    /// use std::time::Duration;
    ///
    /// #[tokio::main]
    /// async fn main() {
    ///     let server = ScriptedServer::start().await;
    ///     let gate = Gate::new();
    ///     server.get("/v1/stream").respond(
    ///         Reply::sse_raw("data: 1\n\ndata: 2\n\n").chunking(Chunking::Events).gate(&gate),
    ///     );
    ///     let mut response = reqwest::get(server.url("/v1/stream")).await.unwrap();
    ///     gate.release(1);
    ///     response.chunk().await.unwrap();
    ///     drop(response); // the client gives up mid-stream
    ///
    ///     assert!(server.wait_for_disconnect(Duration::from_secs(10)).await);
    ///     assert_eq!(server.disconnects()[0].phase, DisconnectPhase::MidBody { bytes_sent: 9 });
    /// }
    /// ```
    pub async fn wait_for_disconnect(&self, timeout: Duration) -> bool {
        self.wait_for_disconnects(1, timeout).await
    }

    /// Waits until at least `count` abandoned responses have been seen (see
    /// [`wait_for_disconnect`](Self::wait_for_disconnect)).
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// assert!(server.wait_for_disconnects(0, std::time::Duration::ZERO).await);
    /// # }
    /// ```
    pub async fn wait_for_disconnects(&self, count: usize, timeout: Duration) -> bool {
        self.shared
            .wait_until(timeout, |s| s.stats.disconnects >= count)
            .await
    }

    /// Waits until at least `count` requests have been received; `false` on timeout.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// assert!(!server.wait_for_requests(1, std::time::Duration::from_millis(1)).await);
    /// # }
    /// ```
    pub async fn wait_for_requests(&self, count: usize, timeout: Duration) -> bool {
        self.shared
            .wait_until(timeout, |s| s.stats.requests >= count)
            .await
    }

    /// Waits until at least `count` connections have been closed; `false` on timeout.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// assert!(server.wait_for_connections_closed(0, std::time::Duration::ZERO).await);
    /// # }
    /// ```
    pub async fn wait_for_connections_closed(&self, count: usize, timeout: Duration) -> bool {
        self.shared
            .wait_until(timeout, |s| s.stats.connections_closed >= count)
            .await
    }

    /// Waits until `condition` holds for the server's [`ServerStats`]; `false` on timeout.
    ///
    /// ```
    /// # #[tokio::main] async fn main() {
    /// let server = openai_sdk::testing::ScriptedServer::start().await;
    /// let idle = server
    ///     .wait_until(std::time::Duration::from_secs(1), |s| s.connections_opened == s.connections_closed)
    ///     .await;
    /// assert!(idle);
    /// # }
    /// ```
    pub async fn wait_until(
        &self,
        timeout: Duration,
        condition: impl Fn(&ServerStats) -> bool,
    ) -> bool {
        self.shared
            .wait_until(timeout, |s| condition(&s.stats))
            .await
    }

    /// Blocking form of [`wait_until`](Self::wait_until), for tests without a runtime.
    ///
    /// ```
    /// let server = openai_sdk::testing::ScriptedServer::start_blocking();
    /// assert!(server.wait_until_blocking(std::time::Duration::ZERO, |s| s.requests == 0));
    /// ```
    pub fn wait_until_blocking(
        &self,
        timeout: Duration,
        condition: impl Fn(&ServerStats) -> bool,
    ) -> bool {
        self.shared
            .wait_until_blocking(timeout, |s| condition(&s.stats))
    }

    /// Blocking form of [`wait_for_disconnect`](Self::wait_for_disconnect).
    ///
    /// ```
    /// let server = openai_sdk::testing::ScriptedServer::start_blocking();
    /// assert!(!server.wait_for_disconnect_blocking(std::time::Duration::from_millis(1)));
    /// ```
    pub fn wait_for_disconnect_blocking(&self, timeout: Duration) -> bool {
        self.wait_until_blocking(timeout, |s| s.disconnects >= 1)
    }

    /// Blocking form of [`wait_for_requests`](Self::wait_for_requests).
    ///
    /// ```
    /// let server = openai_sdk::testing::ScriptedServer::start_blocking();
    /// assert!(server.wait_for_requests_blocking(0, std::time::Duration::ZERO));
    /// ```
    pub fn wait_for_requests_blocking(&self, count: usize, timeout: Duration) -> bool {
        self.wait_until_blocking(timeout, |s| s.requests >= count)
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let id = shared.update(|state| {
                        state.stats.connections_opened += 1;
                        let id = state.next_connection_id;
                        state.next_connection_id += 1;
                        id
                    });
                    connections.spawn(serve_connection(stream, Arc::clone(&shared), id));
                }
                // Out of file descriptors or similar: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Counts the connection as closed however its task ends (finished, failed, aborted).
struct ConnectionGuard(Arc<Shared>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.update(|state| state.stats.connections_closed += 1);
    }
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>, connection_id: u64) {
    let _guard = ConnectionGuard(Arc::clone(&shared));
    // Small pieces must leave at once, not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| handle(Arc::clone(&shared), connection_id, request));
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Records a client that leaves before the headers were sent, unless disarmed.
struct HeaderWatch {
    shared: Arc<Shared>,
    connection_id: u64,
    method: Method,
    path: String,
    armed: bool,
}

impl Drop for HeaderWatch {
    fn drop(&mut self) {
        if self.armed {
            self.shared.record_disconnect(
                self.connection_id,
                self.method.clone(),
                std::mem::take(&mut self.path),
                DisconnectPhase::BeforeHeaders,
            );
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    connection_id: u64,
    request: Request<Incoming>,
) -> Result<Response<ScriptBody>, BoxError> {
    let (parts, mut incoming) = request.into_parts();
    let mut body = Vec::new();
    let mut body_complete = true;
    while let Some(frame) = incoming.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    body.extend_from_slice(&data);
                }
            }
            Err(_) => {
                body_complete = false;
                break;
            }
        }
    }

    let method = parts.method;
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let (plan, recorded) = shared.update(|state| {
        // A request whose body was cut off is recorded but uses up no scripted reply.
        let best = state
            .routes
            .iter()
            .enumerate()
            .filter(|_| body_complete)
            .filter(|(_, r)| r.method == method)
            .filter_map(|(i, r)| r.pattern.score(&path, query.as_deref()).map(|s| (s, i)))
            .fold(
                None,
                |best: Option<((u8, usize), usize)>, (score, i)| match best {
                    Some((best_score, _)) if best_score >= score => best,
                    _ => Some((score, i)),
                },
            );
        let (plan, route) = match best {
            Some((_, i)) => {
                let entry = &mut state.routes[i];
                (Some(entry.next_plan()), Some(entry.describe()))
            }
            None => (None, None),
        };
        let scripted: Vec<String> = state.routes.iter().map(RouteEntry::describe).collect();
        let recorded = RecordedRequest {
            index: state.requests.len(),
            connection_id,
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            headers: parts.headers,
            body: Bytes::from(body),
            body_complete,
            route,
        };
        state.requests.push(recorded.clone());
        state.stats.requests += 1;
        let plan = plan.unwrap_or_else(|| {
            let target = match &query {
                Some(q) => format!("{method} {path}?{q}"),
                None => format!("{method} {path}"),
            };
            Plan::Reply(
                Reply::status(404)
                    .header("content-type", "application/json")
                    .body(error_body(
                        &format!("no scripted route for {target}"),
                        "invalid_request_error",
                        Some(("scripted_routes", serde_json::json!(scripted))),
                    )),
            )
        });
        (plan, recorded)
    });

    if !body_complete {
        return Err("the request body was cut off".into());
    }

    let reply = match plan {
        Plan::Reply(reply) => reply,
        Plan::Dynamic(responder) => {
            match std::panic::catch_unwind(AssertUnwindSafe(|| responder(&recorded))) {
                Ok(reply) => reply,
                Err(_) => Reply::script_error(format!(
                    "the respond_with closure of {} panicked",
                    recorded.route.as_deref().unwrap_or("?")
                )),
            }
        }
    };

    let mut watch = HeaderWatch {
        shared: Arc::clone(&shared),
        connection_id,
        method: method.clone(),
        path: path.clone(),
        armed: true,
    };
    if reply.never {
        std::future::pending::<()>().await;
    }
    if let Some(delay) = reply.header_delay {
        tokio::time::sleep(delay).await;
    }
    watch.armed = false;
    if reply.faults.contains(&Fault::CloseBeforeHeaders) {
        return Err("scripted fault: close the connection before the headers".into());
    }

    // Bodies that hyper never sends (HEAD, 1xx, 204, 304) must not look abandoned.
    let body_watch = (method != Method::HEAD && !matches!(reply.status, 100..=199 | 204 | 304))
        .then_some(BodyWatch {
            connection_id,
            method,
            path,
        });
    match build_response(&reply, &shared, body_watch.clone()) {
        Ok(response) => Ok(response),
        Err(problem) => {
            let fallback = Reply::script_error(problem);
            build_response(&fallback, &shared, body_watch).map_err(BoxError::from)
        }
    }
}

fn build_response(
    reply: &Reply,
    shared: &Arc<Shared>,
    watch: Option<BodyWatch>,
) -> Result<Response<ScriptBody>, String> {
    let status = StatusCode::from_u16(reply.status).map_err(|_| {
        format!(
            "the scripted status {} is not a valid HTTP status",
            reply.status
        )
    })?;
    let mut response = Response::new(ScriptBody::new(reply, Arc::clone(shared), watch));
    *response.status_mut() = status;
    for (name, value) in &reply.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("the scripted header name {name:?} is invalid"))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("the scripted value of header {name} is invalid: {value:?}"))?;
        response.headers_mut().append(name, value);
    }
    Ok(response)
}

/// Who to tell if the client abandons the body.
#[derive(Clone)]
struct BodyWatch {
    connection_id: u64,
    method: Method,
    path: String,
}

enum Step {
    Wait(Duration),
    Gate(Gate),
    Data(Bytes),
    /// Return `Pending` once so the connection flushes what it has.
    Flush,
    Fail,
    Hang,
}

/// A response body delivered step by step: pieces, waits, gates and faults.
pub(crate) struct ScriptBody {
    steps: VecDeque<Step>,
    waiting: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    exact_len: Option<u64>,
    sent: usize,
    faulted: bool,
    shared: Arc<Shared>,
    watch: Option<BodyWatch>,
}

impl ScriptBody {
    fn new(reply: &Reply, shared: Arc<Shared>, watch: Option<BodyWatch>) -> ScriptBody {
        let exact_len = reply
            .content_length
            .unwrap_or_else(|| reply.is_plain())
            .then_some(reply.body.len() as u64);
        ScriptBody {
            steps: plan_steps(reply),
            waiting: None,
            exact_len,
            sent: 0,
            faulted: false,
            shared,
            watch,
        }
    }

    fn finished(&self) -> bool {
        self.steps.is_empty() && self.waiting.is_none()
    }
}

/// Turns a reply into the steps that deliver its body.
fn plan_steps(reply: &Reply) -> VecDeque<Step> {
    let body = &reply.body;
    let len = body.len();
    let mut cuts = BTreeSet::new();
    let mut at = 0;
    for size in reply.chunking.sizes(body) {
        at += size;
        cuts.insert(at);
    }
    let mut stalls: Vec<(usize, Duration)> = Vec::new();
    let mut end: Option<(usize, bool)> = None; // (offset, hang?)
    for fault in &reply.faults {
        let (offset, terminal) = match fault {
            Fault::DropAfter(n) => (*n, Some(false)),
            Fault::HangAfter(n) => (*n, Some(true)),
            Fault::StallAfter { bytes, duration } => {
                stalls.push(((*bytes).min(len), *duration));
                ((*bytes).min(len), None)
            }
            Fault::CloseBeforeHeaders => continue,
        };
        let offset = offset.min(len);
        cuts.insert(offset);
        if let Some(hang) = terminal
            && end.is_none_or(|(o, _)| offset < o)
        {
            end = Some((offset, hang));
        }
    }
    cuts.remove(&0);
    stalls.sort_by_key(|(offset, _)| *offset);

    let mut steps = VecDeque::new();
    let mut start = 0;
    let mut first = true;
    let boundaries: Vec<usize> = std::iter::once(0).chain(cuts.iter().copied()).collect();
    for (i, &offset) in boundaries.iter().enumerate() {
        for (_, duration) in stalls.iter().filter(|(o, _)| *o == offset) {
            steps.push_back(Step::Wait(*duration));
        }
        if let Some((end_offset, hang)) = end
            && end_offset == offset
        {
            if hang {
                steps.push_back(Step::Hang);
            } else {
                steps.push_back(Step::Flush);
                steps.push_back(Step::Fail);
            }
            return steps;
        }
        let Some(&next) = boundaries.get(i + 1) else {
            break;
        };
        if !first && let Some(delay) = reply.chunk_delay {
            steps.push_back(Step::Wait(delay));
        }
        if let Some(gate) = &reply.gate {
            steps.push_back(Step::Gate(gate.clone()));
        }
        steps.push_back(Step::Data(body.slice(start..next)));
        start = next;
        first = false;
    }
    steps
}

/// A future that is pending exactly once.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

impl Body for ScriptBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        loop {
            if let Some(waiting) = self.waiting.as_mut() {
                match waiting.as_mut().poll(cx) {
                    Poll::Ready(()) => self.waiting = None,
                    Poll::Pending => return Poll::Pending,
                }
            }
            let Some(step) = self.steps.pop_front() else {
                return Poll::Ready(None);
            };
            match step {
                Step::Wait(duration) => self.waiting = Some(Box::pin(tokio::time::sleep(duration))),
                Step::Gate(gate) => self.waiting = Some(Box::pin(gate.pass())),
                Step::Flush => self.waiting = Some(Box::pin(YieldOnce(false))),
                Step::Hang => self.waiting = Some(Box::pin(std::future::pending())),
                Step::Data(data) => {
                    self.sent += data.len();
                    self.shared
                        .update(|state| state.stats.body_bytes_sent += data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Step::Fail => {
                    self.faulted = true;
                    self.steps.clear();
                    return Poll::Ready(Some(Err(
                        "scripted fault: connection dropped mid-body".into()
                    )));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished()
    }

    fn size_hint(&self) -> SizeHint {
        match self.exact_len {
            Some(len) => SizeHint::with_exact(len),
            None => SizeHint::default(),
        }
    }
}

impl Drop for ScriptBody {
    fn drop(&mut self) {
        if self.finished() || self.faulted {
            return;
        }
        if let Some(watch) = self.watch.take() {
            self.shared.record_disconnect(
                watch.connection_id,
                watch.method,
                watch.path,
                DisconnectPhase::MidBody {
                    bytes_sent: self.sent,
                },
            );
        }
    }
}
