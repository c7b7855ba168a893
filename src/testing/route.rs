//! Routes: which requests a script answers, and with which replies in which order.

use std::fmt;
use std::sync::Arc;

use hyper::Method;

use super::record::RecordedRequest;
use super::reply::Reply;
use super::server::Shared;

/// What a route does once every reply of its sequence has been used.
///
/// ```
/// use openai_sdk::testing::{Exhausted, Reply, ScriptedServer};
///
/// #[tokio::main]
/// async fn main() {
///     let server = ScriptedServer::start().await;
///     server
///         .post("/v1/chat/completions")
///         .respond(Reply::json(200, serde_json::json!({"ok": true})))
///         .when_exhausted(Exhausted::Error);
///     let url = server.url("/v1/chat/completions");
///     let client = reqwest::Client::new();
///     assert_eq!(client.post(&url).send().await.unwrap().status(), 200);
///     // The second call finds the script used up.
///     assert_eq!(client.post(&url).send().await.unwrap().status(), 500);
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Exhausted {
    /// Keep answering with the last reply (the default).
    #[default]
    RepeatLast,
    /// Answer `500` with an OpenAI-shaped error whose message says the script ran out
    /// (type `scripted_server_error`).
    Error,
}

/// A registered route: a handle to add replies to it and to read how often it was called.
///
/// Made by [`ScriptedServer::route`](super::ScriptedServer::route) (or `get`/`post`/`delete`);
/// the route is live as soon as it is made, and every builder call takes effect at once.
/// Replies are used in the order they were added; see [`Exhausted`] for what happens after.
///
/// ```
/// use openai_sdk::testing::{Reply, ScriptedServer};
///
/// #[tokio::main]
/// async fn main() {
///     let server = ScriptedServer::start().await;
///     let route = server
///         .get("/v1/models")
///         .respond(Reply::openai_error(500, "server_error", "try again"))
///         .respond(Reply::json(200, serde_json::json!({"object": "list", "data": []})));
///
///     let url = server.url("/v1/models");
///     assert_eq!(reqwest::get(&url).await.unwrap().status(), 500);
///     assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
///     assert_eq!(reqwest::get(&url).await.unwrap().status(), 200); // the last reply repeats
///     assert_eq!(route.calls(), 3);
/// }
/// ```
#[derive(Clone)]
pub struct Route {
    pub(crate) shared: Arc<Shared>,
    pub(crate) id: u64,
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.with_entry(|entry| entry.describe());
        f.debug_struct("Route")
            .field("id", &self.id)
            .field("route", &name)
            .finish()
    }
}

/// A reply computed from the request.
pub(crate) type Responder = Arc<dyn Fn(&RecordedRequest) -> Reply + Send + Sync>;

pub(crate) enum Script {
    Sequence {
        replies: Vec<Reply>,
        exhausted: Exhausted,
    },
    Dynamic(Responder),
}

pub(crate) struct RouteEntry {
    pub(crate) id: u64,
    pub(crate) method: Method,
    pub(crate) pattern: PathPattern,
    pub(crate) script: Script,
    pub(crate) calls: usize,
}

impl RouteEntry {
    pub(crate) fn describe(&self) -> String {
        format!("{} {}", self.method, self.pattern.raw)
    }
}

/// What a matched route decided to do for one call.
pub(crate) enum Plan {
    Reply(Reply),
    Dynamic(Responder),
}

impl RouteEntry {
    /// Counts a call and picks its reply.
    pub(crate) fn next_plan(&mut self) -> Plan {
        self.calls += 1;
        let call = self.calls;
        match &self.script {
            Script::Dynamic(f) => Plan::Dynamic(Arc::clone(f)),
            Script::Sequence { replies, exhausted } => {
                if let Some(reply) = replies.get(call - 1) {
                    return Plan::Reply(reply.clone());
                }
                match (exhausted, replies.last()) {
                    (Exhausted::RepeatLast, Some(last)) => Plan::Reply(last.clone()),
                    (_, None) => Plan::Reply(Reply::script_error(format!(
                        "the route {} has no replies scripted",
                        self.describe()
                    ))),
                    (Exhausted::Error, Some(_)) => Plan::Reply(Reply::script_error(format!(
                        "the route {} is exhausted: it has {} scripted replies and this is call {}",
                        self.describe(),
                        replies.len(),
                        call
                    ))),
                }
            }
        }
    }
}

impl Route {
    fn with_entry<T>(&self, f: impl FnOnce(&mut RouteEntry) -> T) -> Option<T> {
        let mut state = self.shared.lock();
        state.routes.iter_mut().find(|r| r.id == self.id).map(f)
    }

    /// Appends `reply` to the route's sequence of replies.
    ///
    /// If the route was answering with a closure ([`Route::respond_with`]), the sequence starts
    /// afresh with this reply.
    ///
    /// ```
    /// use openai_sdk::testing::{Reply, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// let server = ScriptedServer::start().await;
    /// server.post("/v1/responses").respond(Reply::status(500)).respond(Reply::status(200));
    /// # }
    /// ```
    pub fn respond(self, reply: Reply) -> Route {
        self.with_entry(|entry| match &mut entry.script {
            Script::Sequence { replies, .. } => replies.push(reply),
            Script::Dynamic(_) => {
                entry.script = Script::Sequence {
                    replies: vec![reply],
                    exhausted: Exhausted::RepeatLast,
                }
            }
        });
        self
    }

    /// Appends several replies, in order.
    ///
    /// ```
    /// use openai_sdk::testing::{Reply, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// let server = ScriptedServer::start().await;
    /// server.get("/v1/batches/batch_1").respond_all([
    ///     Reply::json(200, serde_json::json!({"status": "in_progress"})),
    ///     Reply::json(200, serde_json::json!({"status": "completed"})),
    /// ]);
    /// # }
    /// ```
    pub fn respond_all(self, replies: impl IntoIterator<Item = Reply>) -> Route {
        replies.into_iter().fold(self, Route::respond)
    }

    /// Answers every call with a reply computed from the request (replacing any sequence).
    ///
    /// The closure runs on the server's runtime for each matching request; if it panics, only
    /// that connection is closed.
    ///
    /// ```
    /// use openai_sdk::testing::{Reply, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// let server = ScriptedServer::start().await;
    /// // Echo the request body back.
    /// server.post("/v1/echo").respond_with(|request| Reply::bytes(200, request.body.clone()));
    /// let text = reqwest::Client::new().post(server.url("/v1/echo")).body("ping")
    ///     .send().await.unwrap().text().await.unwrap();
    /// assert_eq!(text, "ping");
    /// # }
    /// ```
    pub fn respond_with(
        self,
        responder: impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
    ) -> Route {
        let responder: Responder = Arc::new(responder);
        self.with_entry(|entry| entry.script = Script::Dynamic(responder));
        self
    }

    /// Sets what happens once the sequence of replies is used up (default
    /// [`Exhausted::RepeatLast`]).
    ///
    /// ```
    /// use openai_sdk::testing::{Exhausted, Reply, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// let server = ScriptedServer::start().await;
    /// server.post("/v1/files").respond(Reply::status(200)).when_exhausted(Exhausted::Error);
    /// # }
    /// ```
    pub fn when_exhausted(self, exhausted: Exhausted) -> Route {
        self.with_entry(|entry| {
            if let Script::Sequence { exhausted: e, .. } = &mut entry.script {
                *e = exhausted;
            }
        });
        self
    }

    /// How many requests this route has answered (or is answering).
    ///
    /// ```
    /// use openai_sdk::testing::ScriptedServer;
    /// # #[tokio::main] async fn main() {
    /// let server = ScriptedServer::start().await;
    /// let route = server.get("/v1/models");
    /// assert_eq!(route.calls(), 0);
    /// # }
    /// ```
    pub fn calls(&self) -> usize {
        self.with_entry(|entry| entry.calls).unwrap_or(0)
    }
}

/// A route's path pattern: literal segments, `*` matching exactly one segment, and an
/// optional query that must match (as a set of `key=value` pairs, in any order; `key=*`
/// matches any value of `key`).
#[derive(Clone, Debug)]
pub(crate) struct PathPattern {
    pub(crate) raw: String,
    segments: Vec<Segment>,
    query: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Any,
}

impl PathPattern {
    pub(crate) fn parse(raw: &str) -> PathPattern {
        let (path, query) = match raw.split_once('?') {
            Some((path, query)) => (path, Some(query_pairs(query))),
            None => (raw, None),
        };
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let segments = path
            .split('/')
            .map(|s| {
                if s == "*" {
                    Segment::Any
                } else {
                    Segment::Literal(s.to_string())
                }
            })
            .collect();
        let raw = match &query {
            Some(pairs) => format!("{path}?{}", pairs.join("&")),
            None => path,
        };
        PathPattern {
            raw,
            segments,
            query,
        }
    }

    /// `None` if the request does not match, otherwise a specificity score (higher wins).
    pub(crate) fn score(&self, path: &str, query: Option<&str>) -> Option<(u8, usize)> {
        let mut parts = path.split('/');
        let mut wildcards = 0;
        for segment in &self.segments {
            let part = parts.next()?;
            match segment {
                Segment::Any => wildcards += 1,
                Segment::Literal(lit) if lit == part => {}
                Segment::Literal(_) => return None,
            }
        }
        if parts.next().is_some() {
            return None;
        }
        if let Some(expected) = &self.query
            && !query_matches(expected, &query_pairs(query.unwrap_or("")))
        {
            return None;
        }
        Some((u8::from(self.query.is_some()), usize::MAX - wildcards))
    }
}

/// Whether the request's pairs are exactly the expected ones, where an expected `name=*`
/// (how recorded fixtures keep a secret parameter) stands for `name` with any value.
fn query_matches(expected: &[String], got: &[String]) -> bool {
    if expected.len() != got.len() {
        return false;
    }
    let mut open: Vec<&str> = expected.iter().map(String::as_str).collect();
    got.iter().all(|pair| {
        let name = pair.split_once('=').map_or(pair.as_str(), |(name, _)| name);
        let found = open
            .iter()
            .position(|e| *e == pair)
            .or_else(|| open.iter().position(|e| e.strip_suffix("=*") == Some(name)));
        found.map(|i| open.swap_remove(i)).is_some()
    })
}

/// The non-empty `&`-separated pairs of a query, sorted (so order does not matter).
fn query_pairs(query: &str) -> Vec<String> {
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    pairs.sort();
    pairs
}

#[cfg(test)]
mod tests {
    use super::PathPattern;

    #[test]
    fn literal_wildcard_and_query_matching() {
        let exact = PathPattern::parse("/v1/models");
        assert!(exact.score("/v1/models", None).is_some());
        assert!(exact.score("/v1/models", Some("a=1")).is_some());
        assert!(exact.score("/v1/models/x", None).is_none());
        assert!(exact.score("/v1", None).is_none());

        let wild = PathPattern::parse("/v1/threads/*/runs");
        assert!(wild.score("/v1/threads/thread_1/runs", None).is_some());
        assert!(wild.score("/v1/threads/runs", None).is_none());
        assert!(
            exact.score("/v1/models", None) > PathPattern::parse("/v1/*").score("/v1/models", None)
        );

        let query = PathPattern::parse("v1/files?purpose=batch&limit=2");
        assert_eq!(query.raw, "/v1/files?limit=2&purpose=batch");
        assert!(query
            .score("/v1/files", Some("limit=2&purpose=batch"))
            .is_some());
        assert!(query
            .score("/v1/files", Some("purpose=batch&limit=2"))
            .is_some());
        assert!(query.score("/v1/files", Some("limit=2")).is_none());
        assert!(query.score("/v1/files", None).is_none());
        assert!(
            query.score("/v1/files", Some("limit=2&purpose=batch"))
                > PathPattern::parse("/v1/files").score("/v1/files", Some("limit=2&purpose=batch"))
        );
    }
}
