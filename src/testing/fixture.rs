//! Fixtures on disk: [`RecordedExchange`] manifests with body files, replayed by
//! [`ScriptedServer::load_fixtures`] and written by [`RecordingProxy`](super::RecordingProxy).

use std::path::{Path, PathBuf};

use bytes::Bytes;
use hyper::Method;
use serde::{Deserialize, Serialize};

use super::reply::{Chunking, Fault, Reply};
use super::server::ScriptedServer;

/// The file name ending that marks a manifest: `NAME.exchange.json`.
pub const MANIFEST_SUFFIX: &str = ".exchange.json";

/// One recorded HTTP exchange: a small JSON manifest (`NAME.exchange.json`) pointing at body
/// files next to it.
///
/// ```json
/// {
///   "method": "POST",
///   "path": "/v1/chat/completions",
///   "status": 200,
///   "headers": [["content-type", "text/event-stream"]],
///   "body_file": "0001-post-v1-chat-completions.response.body",
///   "request": {
///     "headers": [["content-type", "application/json"]],
///     "body_file": "0001-post-v1-chat-completions.request.body"
///   }
/// }
/// ```
///
/// `query` (the raw query string, matched exactly when present), `headers`, `body_file`
/// (no file: empty body), `request` (informational: what was sent when recording) and
/// `complete` (`false` if the recorded body was cut off; the replay then cuts it off too)
/// are optional. Body file names are relative to the manifest's directory.
///
/// Hand-written manifests work as well as recorded ones, so a recorded stream from elsewhere
/// can be served by writing a manifest next to it.
///
/// ```
/// use openai_sdk::testing::RecordedExchange;
/// let manifest = r#"{"method": "GET", "path": "/v1/models", "status": 200,
///                    "headers": [["content-type", "application/json"]], "body_file": "models.json"}"#;
/// let exchange: RecordedExchange = serde_json::from_str(manifest).unwrap();
/// assert_eq!(exchange.route_path(), "/v1/models");
/// assert!(exchange.complete);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RecordedExchange {
    /// The request method (`"POST"`).
    pub method: String,
    /// The request path, without query (`"/v1/chat/completions"`).
    pub path: String,
    /// The raw query string, without `?`; when present, replay matches it exactly
    /// (as a set of `key=value` pairs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The response status.
    pub status: u16,
    /// The response headers, in order (repeated names allowed).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The response body file, relative to the manifest's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_file: Option<String>,
    /// What the client sent, when recorded (not used for matching).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<ExchangeRequest>,
    /// `false` if the response body was cut off while recording.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub complete: bool,
}

/// The request half of a [`RecordedExchange`] (credentials already removed).
///
/// ```
/// let request: openai_sdk::testing::ExchangeRequest =
///     serde_json::from_str(r#"{"headers": [["content-type", "application/json"]]}"#).unwrap();
/// assert!(request.body_file.is_none());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExchangeRequest {
    /// The request headers as sent, minus credentials.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The request body file, relative to the manifest's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_file: Option<String>,
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

/// Why fixtures could not be read.
///
/// ```
/// use openai_sdk::testing::{FixtureError, RecordedExchange};
/// match RecordedExchange::read("/no/such/file.exchange.json") {
///     Err(FixtureError::Io { path, .. }) => assert!(path.ends_with("file.exchange.json")),
///     other => panic!("unexpected: {other:?}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    /// A file or directory could not be read or written.
    #[error("fixture I/O error on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A manifest is not valid JSON of the expected shape.
    #[error("invalid fixture manifest {}: {source}", path.display())]
    Parse {
        /// The manifest.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A manifest names a body file that is not a relative path of plain names (an absolute
    /// path, or one with `..` or `.`): only files under the manifest's directory are read.
    #[error("fixture manifest {} names the body file {file:?}, which is not a relative path of plain names (no absolute path, no `..`)", path.display())]
    UnsafePath {
        /// The manifest (or, for [`RecordedExchange::response_body`], the directory the file
        /// would be read from).
        path: PathBuf,
        /// The file name as the manifest gives it.
        file: String,
    },
    /// A manifest parsed but makes no sense (for example an invalid method).
    #[error("invalid fixture manifest {}: {message}", path.display())]
    Invalid {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> FixtureError + '_ {
    move |source| FixtureError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a fixture file readable by its owner only (mode 0600 on Unix; also when the file
/// existed with wider permissions): recorded exchanges can hold what the API returned.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.flush()
}

/// Creates a directory (and its missing parents) readable by its owner only (mode 0700 on
/// Unix for the directories it creates; existing ones are left as they are).
pub(crate) fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Whether a body file name from a manifest stays inside the manifest's directory: a
/// relative path made only of plain names (no root, no drive prefix, no `.` or `..`).
pub(crate) fn is_contained_path(file: &str) -> bool {
    let path = Path::new(file);
    !file.is_empty()
        && path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// Response headers that describe the old connection's framing, not the content.
pub(crate) fn is_framing_header(name: &str) -> bool {
    [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

impl RecordedExchange {
    /// A manifest with no headers and no body.
    ///
    /// ```
    /// let exchange = openai_sdk::testing::RecordedExchange::new("GET", "/v1/models", 200);
    /// assert_eq!(exchange.status, 200);
    /// ```
    pub fn new(
        method: impl Into<String>,
        path: impl Into<String>,
        status: u16,
    ) -> RecordedExchange {
        RecordedExchange {
            method: method.into(),
            path: path.into(),
            query: None,
            status,
            headers: Vec::new(),
            body_file: None,
            request: None,
            complete: true,
        }
    }

    /// Reads one manifest file. Its body file names must be relative paths of plain names
    /// ([`FixtureError::UnsafePath`] otherwise), so a manifest cannot make the server read
    /// files outside its directory.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join("openai-sdk-doc-read-exchange");
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("models.exchange.json");
    /// std::fs::write(&path, r#"{"method": "GET", "path": "/v1/models", "status": 200}"#).unwrap();
    /// let exchange = openai_sdk::testing::RecordedExchange::read(&path).unwrap();
    /// assert_eq!(exchange.method, "GET");
    /// ```
    pub fn read(manifest: impl AsRef<Path>) -> Result<RecordedExchange, FixtureError> {
        let manifest = manifest.as_ref();
        let text = std::fs::read(manifest).map_err(io_error(manifest))?;
        let exchange: RecordedExchange =
            serde_json::from_slice(&text).map_err(|source| FixtureError::Parse {
                path: manifest.to_path_buf(),
                source,
            })?;
        let request_file = exchange.request.as_ref().and_then(|r| r.body_file.as_ref());
        for file in [exchange.body_file.as_ref(), request_file]
            .into_iter()
            .flatten()
        {
            if !is_contained_path(file) {
                return Err(FixtureError::UnsafePath {
                    path: manifest.to_path_buf(),
                    file: file.clone(),
                });
            }
        }
        Ok(exchange)
    }

    /// Reads every manifest (`*.exchange.json`) in `dir`, sorted by file name.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join("openai-sdk-doc-read-dir");
    /// std::fs::create_dir_all(&dir).unwrap();
    /// std::fs::write(dir.join("a.exchange.json"), r#"{"method": "GET", "path": "/v1/a", "status": 200}"#).unwrap();
    /// let all = openai_sdk::testing::RecordedExchange::read_dir(&dir).unwrap();
    /// assert!(all.iter().any(|(_, e)| e.path == "/v1/a"));
    /// ```
    pub fn read_dir(
        dir: impl AsRef<Path>,
    ) -> Result<Vec<(PathBuf, RecordedExchange)>, FixtureError> {
        let dir = dir.as_ref();
        let mut manifests = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
            let entry = entry.map_err(io_error(dir))?;
            let path = entry.path();
            let is_manifest = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(MANIFEST_SUFFIX));
            if is_manifest && path.is_file() {
                manifests.push(path);
            }
        }
        manifests.sort();
        manifests
            .into_iter()
            .map(|path| RecordedExchange::read(&path).map(|exchange| (path, exchange)))
            .collect()
    }

    /// The path a route for this exchange matches: `path`, plus `?query` if recorded.
    ///
    /// ```
    /// let mut exchange = openai_sdk::testing::RecordedExchange::new("GET", "/v1/files", 200);
    /// exchange.query = Some("limit=2".into());
    /// assert_eq!(exchange.route_path(), "/v1/files?limit=2");
    /// ```
    pub fn route_path(&self) -> String {
        match &self.query {
            Some(query) => format!("{}?{}", self.path, query),
            None => self.path.clone(),
        }
    }

    /// The response body, read from `body_file` relative to `dir` (empty if there is none).
    /// A `body_file` that is not a relative path of plain names is
    /// [`FixtureError::UnsafePath`].
    ///
    /// ```
    /// use openai_sdk::testing::{FixtureError, RecordedExchange};
    ///
    /// let mut exchange = RecordedExchange::new("GET", "/v1/models", 200);
    /// assert!(exchange.response_body(".").unwrap().is_empty());
    /// exchange.body_file = Some("../../etc/passwd".into());
    /// assert!(matches!(exchange.response_body("."), Err(FixtureError::UnsafePath { .. })));
    /// ```
    pub fn response_body(&self, dir: impl AsRef<Path>) -> Result<Bytes, FixtureError> {
        match &self.body_file {
            Some(file) if !is_contained_path(file) => Err(FixtureError::UnsafePath {
                path: dir.as_ref().to_path_buf(),
                file: file.clone(),
            }),
            Some(file) => {
                let path = dir.as_ref().join(file);
                std::fs::read(&path)
                    .map(Bytes::from)
                    .map_err(io_error(&path))
            }
            None => Ok(Bytes::new()),
        }
    }

    /// The [`Reply`] that replays this exchange: same status, headers (minus
    /// `content-length`, `transfer-encoding`, `connection`, `keep-alive`, which the server sets
    /// itself) and body. Event streams are cut into one piece per event
    /// ([`Chunking::Events`]); an incomplete recording is cut off at the same byte
    /// ([`Fault::DropAfter`]).
    ///
    /// ```
    /// let exchange = openai_sdk::testing::RecordedExchange::new("GET", "/v1/models", 204);
    /// assert_eq!(exchange.to_reply(".").unwrap().status_code(), 204);
    /// ```
    pub fn to_reply(&self, dir: impl AsRef<Path>) -> Result<Reply, FixtureError> {
        let body = self.response_body(dir)?;
        let mut reply = Reply::status(self.status);
        for (name, value) in &self.headers {
            if !is_framing_header(name) {
                reply = reply.append_header(name.clone(), value.clone());
            }
        }
        let is_sse = reply
            .header_value("content-type")
            .is_some_and(|ct| ct.trim_start().starts_with("text/event-stream"));
        let len = body.len();
        reply = reply.body(body);
        if is_sse {
            reply = reply.chunking(Chunking::Events);
        }
        if !self.complete {
            reply = reply.fault(Fault::DropAfter(len));
        }
        Ok(reply)
    }

    /// Writes this manifest as `dir/STEM.exchange.json`.
    pub(crate) fn write_manifest(&self, dir: &Path, stem: &str) -> Result<PathBuf, FixtureError> {
        let path = dir.join(format!("{stem}{MANIFEST_SUFFIX}"));
        let mut text = serde_json::to_vec_pretty(self).map_err(|source| FixtureError::Parse {
            path: path.clone(),
            source,
        })?;
        text.push(b'\n');
        write_private(&path, &text).map_err(io_error(&path))?;
        Ok(path)
    }
}

impl ScriptedServer {
    /// Loads every manifest (`*.exchange.json`) in `dir` as routes, and returns how many
    /// exchanges were loaded.
    ///
    /// Exchanges are read in file-name order; those with the same method and path (and query,
    /// if recorded) become one route whose replies come in that order, the last repeating.
    /// Each route replaces any route already registered for the same method and path.
    /// See [`RecordedExchange::to_reply`] for how each exchange is replayed.
    ///
    /// ```
    /// use openai_sdk::testing::ScriptedServer;
    ///
    /// #[tokio::main]
    /// async fn main() {
    ///     let dir = std::env::temp_dir().join("openai-sdk-doc-load-fixtures");
    ///     std::fs::create_dir_all(&dir).unwrap();
    ///     std::fs::write(dir.join("models.body"), r#"{"object":"list","data":[]}"#).unwrap();
    ///     std::fs::write(
    ///         dir.join("models.exchange.json"),
    ///         r#"{"method": "GET", "path": "/v1/models", "status": 200,
    ///             "headers": [["content-type", "application/json"]], "body_file": "models.body"}"#,
    ///     )
    ///     .unwrap();
    ///
    ///     let server = ScriptedServer::start().await;
    ///     assert_eq!(server.load_fixtures(&dir).unwrap(), 1);
    ///     let body = reqwest::get(server.url("/v1/models")).await.unwrap().text().await.unwrap();
    ///     assert_eq!(body, r#"{"object":"list","data":[]}"#);
    /// }
    /// ```
    pub fn load_fixtures(&self, dir: impl AsRef<Path>) -> Result<usize, FixtureError> {
        self.load_fixtures_with(dir, |_, reply| reply)
    }

    /// Like [`load_fixtures`](Self::load_fixtures), but passes each exchange's reply through
    /// `adjust` first (to change its chunking, add delays or faults, ...).
    ///
    /// ```
    /// use openai_sdk::testing::{Chunking, ScriptedServer};
    /// # #[tokio::main] async fn main() {
    /// # let dir = std::env::temp_dir().join("openai-sdk-doc-load-fixtures-with");
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let server = ScriptedServer::start().await;
    /// server
    ///     .load_fixtures_with(&dir, |_exchange, reply| reply.chunking(Chunking::Fixed(7)))
    ///     .unwrap();
    /// # }
    /// ```
    pub fn load_fixtures_with(
        &self,
        dir: impl AsRef<Path>,
        mut adjust: impl FnMut(&RecordedExchange, Reply) -> Reply,
    ) -> Result<usize, FixtureError> {
        let dir = dir.as_ref();
        let exchanges = RecordedExchange::read_dir(dir)?;
        // Build everything first, so a bad fixture leaves the server untouched.
        let mut groups: Vec<(Method, String, Vec<Reply>)> = Vec::new();
        for (path, exchange) in &exchanges {
            let method = Method::from_bytes(exchange.method.as_bytes()).map_err(|_| {
                FixtureError::Invalid {
                    path: path.clone(),
                    message: format!("invalid method {:?}", exchange.method),
                }
            })?;
            let base = path.parent().unwrap_or(dir);
            let reply = adjust(exchange, exchange.to_reply(base)?);
            let route_path = exchange.route_path();
            match groups
                .iter_mut()
                .find(|(m, p, _)| *m == method && *p == route_path)
            {
                Some((_, _, replies)) => replies.push(reply),
                None => groups.push((method, route_path, vec![reply])),
            }
        }
        for (method, path, replies) in groups {
            self.route(method, &path).respond_all(replies);
        }
        Ok(exchanges.len())
    }
}
