//! What the server observed: requests, connections and client disconnects.

use bytes::Bytes;
use hyper::{HeaderMap, Method};

/// One request as the server received it.
///
/// ```
/// use openai_sdk::testing::{Reply, ScriptedServer};
///
/// #[tokio::main]
/// async fn main() {
///     let server = ScriptedServer::start().await;
///     server.post("/v1/embeddings").respond(Reply::json(200, serde_json::json!({})));
///     reqwest::Client::new()
///         .post(server.url("/v1/embeddings?trace=1"))
///         .header("authorization", "Bearer sk-test")
///         .body(r#"{"input":"hi"}"#)
///         .send()
///         .await
///         .unwrap();
///
///     let request = &server.requests()[0];
///     assert_eq!(request.method, "POST");
///     assert_eq!(request.path, "/v1/embeddings");
///     assert_eq!(request.query.as_deref(), Some("trace=1"));
///     assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
///     assert_eq!(request.json().unwrap()["input"], "hi");
/// }
/// ```
/// Its `Debug` output shows the value of a secret header ([`is_secret_name`](super::is_secret_name):
/// `authorization`, `api-key`, ...) and of a secret query parameter as `[redacted]`, so a
/// failing assertion that prints a request does not print the key it carried.
#[derive(Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// Position in the order the server finished reading requests (0 for the first).
    pub index: usize,
    /// Which connection carried the request (connections are numbered from 0 as accepted).
    pub connection_id: u64,
    /// The request method.
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    /// The raw query string (without `?`), if any.
    pub query: Option<String>,
    /// The request headers, as received.
    pub headers: HeaderMap,
    /// The request body, as received.
    pub body: Bytes,
    /// `false` if the connection failed before the whole body arrived (`body` holds what did).
    pub body_complete: bool,
    /// The route that answered, as `"METHOD pattern"`, or `None` if no route matched.
    pub route: Option<String>,
}

impl std::fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Headers<'a>(&'a HeaderMap);
        impl std::fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut map = f.debug_map();
                for (name, value) in self.0 {
                    if super::is_secret_name(name.as_str()) {
                        map.entry(name, &"[redacted]");
                    } else {
                        map.entry(name, value);
                    }
                }
                map.finish()
            }
        }
        let query = self
            .query
            .as_deref()
            .map(|q| super::proxy::redact_query_as(q, "[redacted]"));
        f.debug_struct("RecordedRequest")
            .field("index", &self.index)
            .field("connection_id", &self.connection_id)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &query)
            .field("headers", &Headers(&self.headers))
            .field("body", &self.body)
            .field("body_complete", &self.body_complete)
            .field("route", &self.route)
            .finish()
    }
}

impl RecordedRequest {
    /// The first value of a header (case-insensitive name), if present and valid UTF-8.
    ///
    /// ```
    /// # fn check(request: &openai_sdk::testing::RecordedRequest) {
    /// let key = request.header("Authorization");
    /// # let _ = key; }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// All values of a header that are valid UTF-8, in order.
    ///
    /// ```
    /// # fn check(request: &openai_sdk::testing::RecordedRequest) {
    /// let all: Vec<&str> = request.header_all("x-stainless-retry-count");
    /// # let _ = all; }
    /// ```
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The body as UTF-8 text, if it is valid UTF-8.
    ///
    /// ```
    /// # fn check(request: &openai_sdk::testing::RecordedRequest) {
    /// if let Some(text) = request.body_text() { println!("{text}"); }
    /// # }
    /// ```
    pub fn body_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// The body parsed as JSON.
    ///
    /// ```
    /// # fn check(request: &openai_sdk::testing::RecordedRequest) {
    /// let model = request.json().ok().and_then(|v| v["model"].as_str().map(String::from));
    /// # let _ = model; }
    /// ```
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The raw (not percent-decoded) value of the first query parameter called `name`.
    /// A parameter without `=` has the value `""`.
    ///
    /// ```
    /// # fn check(request: &openai_sdk::testing::RecordedRequest) {
    /// let after = request.query_param("after");
    /// # let _ = after; }
    /// ```
    pub fn query_param(&self, name: &str) -> Option<&str> {
        let query = self.query.as_deref()?;
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key == name).then_some(value)
        })
    }
}

/// Counters of what the server has seen since it started.
///
/// ```
/// # async fn check(server: &openai_sdk::testing::ScriptedServer) {
/// let stats = server.stats();
/// assert!(stats.connections_closed <= stats.connections_opened);
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections accepted.
    pub connections_opened: usize,
    /// Connections that have ended (for any reason).
    pub connections_closed: usize,
    /// Requests whose head and body were read (matched or not).
    pub requests: usize,
    /// Responses the client abandoned: see [`Disconnect`].
    pub disconnects: usize,
    /// Response body bytes handed to connections, over all responses (counted as each piece
    /// is sent, so a test can see how far a gated or stalled body has got).
    pub body_bytes_sent: usize,
}

/// Where a response was when the client went away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectPhase {
    /// The server had not sent the status line yet (a delayed or never-answering reply).
    BeforeHeaders,
    /// The headers were sent and the body was in progress.
    MidBody {
        /// Body bytes the server had handed to the connection when it noticed
        /// (the client may have read fewer).
        bytes_sent: usize,
    },
}

/// A response the client abandoned: the connection ended before the server finished sending
/// it, and not because of a scripted [`Fault`](super::Fault) or the server shutting down.
///
/// ```
/// # fn check(server: &openai_sdk::testing::ScriptedServer) {
/// for d in server.disconnects() {
///     println!("{} {} abandoned: {:?}", d.method, d.path, d.phase);
/// }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Disconnect {
    /// The connection the response was on.
    pub connection_id: u64,
    /// Method of the abandoned request.
    pub method: Method,
    /// Path of the abandoned request.
    pub path: String,
    /// How far the response had got.
    pub phase: DisconnectPhase,
}
