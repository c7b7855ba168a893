//! Client configuration and the hooks every generated request goes through.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};

use crate::generated;
use crate::retry::{RetryHook, RetryPolicy};
use crate::Error;

/// The default base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The default path of Chat Completions.
pub const DEFAULT_CHAT_PATH: &str = "/chat/completions";
/// The default timeout of a whole request, as in the official SDKs.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// An API key that never shows up in `Debug` output or logs.
#[derive(Clone)]
pub struct ApiKey(Arc<str>);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(Arc::from(key.into()))
    }
    /// The key itself, for code that must send it somewhere.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// What every request needs besides its own arguments. Held by the generated client.
#[doc(hidden)]
#[derive(Clone)]
pub struct Inner {
    pub(crate) config: Arc<Config>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.config.fmt(f)
    }
}

/// The most redirects followed for one request (reqwest's default too).
const MAX_REDIRECTS: usize = 10;

/// The redirect policy of the SDK's own HTTP clients (async and blocking): a redirect is
/// followed only within the origin (scheme, host and port) it comes from, at most 10 times.
///
/// Credentials go only where the base URL points: the API key (`Authorization`, Azure's
/// `api-key`), an Entra ID token and any auth-like default header would otherwise follow a
/// `307` to another host, or from `https` to `http` (reqwest's default policy strips only
/// `Authorization`, `Cookie` and `Proxy-Authorization`, and only on a change of host). A
/// redirect to another origin is not followed: the request fails with
/// [`Error::Connection`] whose source says where the server pointed. This is what curl does
/// without `--location-trusted`, and stricter than browsers, which drop auth headers but
/// follow.
///
/// A client given with [`ClientBuilder::http_client`] keeps its own policy; give it this one
/// to get the same protection:
///
/// ```
/// let http = reqwest::Client::builder()
///     .redirect(openai_sdk::client::redirect_policy())
///     .build()
///     .unwrap();
/// let client = openai_sdk::ClientBuilder::empty().api_key("k").http_client(http).build();
/// # let _ = client;
/// ```
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let previous = attempt.previous();
        if previous.len() > MAX_REDIRECTS {
            return attempt.error(RedirectRefused::TooMany);
        }
        match previous.last() {
            Some(from) if from.origin() != attempt.url().origin() => {
                let refused = RedirectRefused::OtherOrigin {
                    from: from.origin().ascii_serialization(),
                    to: attempt.url().origin().ascii_serialization(),
                };
                attempt.error(refused)
            }
            _ => attempt.follow(),
        }
    })
}

/// Why [`redirect_policy`] did not follow a redirect (the source of the request's error).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectRefused {
    /// The redirect points to another origin (scheme, host or port).
    OtherOrigin {
        /// The origin of the request that was redirected, such as `https://api.openai.com`.
        from: String,
        /// The origin the server pointed to.
        to: String,
    },
    /// More than 10 redirects in a row.
    TooMany,
}

impl fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectRefused::OtherOrigin { from, to } => write!(
                f,
                "the server at {from} redirected to another origin ({to}); not followed, so \
                 that credentials are not sent there"
            ),
            RedirectRefused::TooMany => write!(f, "more than {MAX_REDIRECTS} redirects"),
        }
    }
}

impl std::error::Error for RedirectRefused {}

/// The resolved configuration of a [`Client`].
pub(crate) struct Config {
    pub(crate) api_key: Option<ApiKey>,
    /// Asked for the key before each request; wins over `api_key`.
    pub(crate) api_key_provider: Option<ApiKeyProvider>,
    /// The admin key, for the operations the spec marks `AdminApiKeyAuth` (see
    /// [`is_admin_path`]).
    pub(crate) admin_key: Option<ApiKey>,
    pub(crate) base_url: String,
    pub(crate) organization: Option<String>,
    pub(crate) project: Option<String>,
    /// The webhook secret (`webhooks` feature).
    #[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
    pub(crate) webhook_secret: Option<ApiKey>,
    /// Sent on every request; the auth headers are added after these and win.
    pub(crate) default_headers: HeaderMap,
    /// The path of Chat Completions, relative to the base URL.
    pub(crate) chat_path: String,
    /// The blocking HTTP client, made on first use.
    #[cfg(feature = "blocking")]
    #[cfg_attr(not(feature = "chat"), allow(dead_code))]
    pub(crate) blocking: std::sync::OnceLock<reqwest::blocking::Client>,
    /// The whole-request, connect and read timeouts, for the blocking client.
    #[cfg(feature = "blocking")]
    #[cfg_attr(not(feature = "chat"), allow(dead_code))]
    pub(crate) timeouts: (Duration, Option<Duration>, Option<Duration>),
    pub(crate) retry: RetryPolicy,
    pub(crate) on_retry: Option<RetryHook>,
    /// A per-client override of the whole-request timeout (see [`Client::with_options`]).
    pub(crate) request_timeout: Option<Duration>,
    pub(crate) azure: Option<Azure>,
    /// The largest JSON or text answer read whole (see [`ClientBuilder::max_response_bytes`]).
    pub(crate) max_response_bytes: u64,
    /// The largest event of an event stream (see [`ClientBuilder::max_sse_event_bytes`]).
    pub(crate) max_sse_event_bytes: usize,
    /// The extra headers, query and body fields of [`RequestOptions`].
    pub(crate) extras: Extras,
}

/// Azure OpenAI: the API version, the deployment, and how to authenticate.
#[derive(Clone, Debug)]
pub(crate) struct Azure {
    pub(crate) api_version: String,
    pub(crate) deployment: Option<String>,
    /// An Entra ID (Azure AD) token sent as a bearer token instead of the `api-key` header.
    pub(crate) ad_token: Option<AdToken>,
}

/// What [`AzureAdTokenProvider`] returns when it cannot give a token.
pub type TokenError = Box<dyn std::error::Error + Send + Sync>;

/// Gives an Entra ID (Azure AD) token for each request: see
/// [`ClientBuilder::azure_ad_token_provider`].
pub type AzureAdTokenProvider = Arc<dyn Fn() -> Result<String, TokenError> + Send + Sync>;

/// Gives the API key for each request: see [`ClientBuilder::api_key_provider`].
pub type ApiKeyProvider =
    Arc<dyn Fn() -> futures::future::BoxFuture<'static, Result<String, TokenError>> + Send + Sync>;

/// Whether requests to `path` (relative to the base URL, such as
/// `/organization/costs`) are sent with the admin key
/// ([`ClientBuilder::admin_key`], `OPENAI_ADMIN_KEY`): the operations the spec marks
/// `AdminApiKeyAuth`, which are every `/organization/...` path and the role operations of
/// projects (`/projects/{id}/roles...`, `/projects/{id}/groups/{id}/roles...`,
/// `/projects/{id}/users/{id}/roles...`). Generic calls to these paths use it too.
/// `tests/admin_auth.rs` checks this rule against every operation of the spec.
///
/// ```
/// use openai_sdk::client::is_admin_path;
/// assert!(is_admin_path("/organization/costs"));
/// assert!(is_admin_path("/projects/proj_1/users/user_1/roles"));
/// assert!(!is_admin_path("/chat/completions"));
/// assert!(!is_admin_path("/projects/proj_1/files"));
/// ```
pub fn is_admin_path(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path).trim_end_matches('/');
    if path == "/organization" || path.starts_with("/organization/") {
        return true;
    }
    let Some(rest) = path.strip_prefix("/projects/") else {
        return false;
    };
    let segments: Vec<&str> = rest.split('/').collect();
    // {project}/roles[/{role}], {project}/groups/{group}/roles[/{role}],
    // {project}/users/{user}/roles[/{role}].
    matches!(
        segments.as_slice(),
        [_, "roles"]
            | [_, "roles", _]
            | [_, "groups" | "users", _, "roles"]
            | [_, "groups" | "users", _, "roles", _]
    )
}

/// What an [`AzureAdTokenProviderAsync`] returns: a future of the token.
pub type TokenFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, TokenError>> + Send>>;

/// Gives an Entra ID (Azure AD) token for each attempt of a request, asynchronously: see
/// [`ClientBuilder::azure_ad_token_provider_async`].
pub type AzureAdTokenProviderAsync = Arc<dyn Fn() -> TokenFuture + Send + Sync>;

/// A fixed Entra ID token, or a provider asked before every attempt.
#[derive(Clone)]
pub(crate) enum AdToken {
    Fixed(ApiKey),
    Provider(AzureAdTokenProvider),
    AsyncProvider(AzureAdTokenProviderAsync),
}

impl fmt::Debug for AdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdToken::Fixed(key) => key.fmt(f),
            AdToken::Provider(_) => f.write_str("AdToken::Provider(..)"),
            AdToken::AsyncProvider(_) => f.write_str("AdToken::AsyncProvider(..)"),
        }
    }
}

impl AdToken {
    /// Whether this is asked for a token on each attempt (else it is fixed).
    fn is_provider(&self) -> bool {
        !matches!(self, AdToken::Fixed(_))
    }

    /// The `Authorization` value, asking a provider (an async one is awaited).
    async fn bearer(&self) -> Result<HeaderValue, Error> {
        Self::header(match self {
            AdToken::Fixed(key) => Ok(key.expose().to_owned()),
            AdToken::Provider(provider) => provider(),
            AdToken::AsyncProvider(provider) => provider().await,
        })
    }

    fn header(token: Result<String, TokenError>) -> Result<HeaderValue, Error> {
        let token =
            token.map_err(|e| Error::Config(format!("the Azure AD token provider failed: {e}")))?;
        let mut v = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| Error::Config("the Azure AD token is not a valid header value".into()))?;
        v.set_sensitive(true);
        Ok(v)
    }
}

/// The operations Azure serves under `/deployments/{deployment}/`.
const AZURE_DEPLOYMENT_PATHS: &[&str] = &[
    "/completions",
    "/chat/completions",
    "/embeddings",
    "/audio/transcriptions",
    "/audio/translations",
    "/audio/speech",
    "/images/generations",
    "/images/edits",
];

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("api_key", &self.api_key)
            .field(
                "api_key_provider",
                &self.api_key_provider.as_ref().map(|_| ".."),
            )
            .field("admin_key", &self.admin_key)
            .field("base_url", &self.base_url)
            .field("organization", &self.organization)
            .field("project", &self.project)
            .field(
                "default_headers",
                &self.default_headers.keys().collect::<Vec<_>>(),
            )
            .field("retry", &self.retry)
            .field("request_timeout", &self.request_timeout)
            .field("azure", &self.azure)
            .finish_non_exhaustive()
    }
}

/// Per-request settings: [`Client::with_options`] returns a client that applies them to
/// every request it sends, generated operations and helpers alike.
///
/// Besides retries and the timeout, these are the escape hatches for an API that moves
/// faster than its spec (as `extra_headers`, `extra_query`, `extra_body` and
/// `idempotency_key` in the official SDKs):
///
/// - [`header`](Self::header): sent after every other header, so it **wins** over the
///   client's default headers, the operation's own headers and even the auth headers (to
///   send another `Authorization` to a compatible provider, say). Several values under one
///   name are all sent.
/// - [`query`](Self::query): appended to the URL; a parameter of the same name that the
///   operation sets is replaced.
/// - [`body_field`](Self::body_field): merged into the top level of a JSON body, where it
///   **overrides** a typed field of the same name (as openai-python's `extra_body` does);
///   a multipart body gets it as form fields (an object or a list in bracket notation,
///   as the SDK encodes its own fields). A request without a body cannot take one: that
///   is [`Error::Config`], before anything is sent. Helpers that read an object again
///   after creating it (the `*_and_poll` helpers, a resumed Responses stream) send the
///   fields with the request that has a body and not with the reads.
/// - [`idempotency_key`](Self::idempotency_key): the `Idempotency-Key` header, the same
///   for every retry of the request. Give it to one request: a helper that sends several
///   (a tool loop, a chunked upload) would send the same key with each.
///
/// A header name or value that is not valid HTTP is [`Error::Config`] when the request is
/// sent, before anything goes out.
///
/// ```
/// use openai_sdk::RequestOptions;
/// let options = RequestOptions::new()
///     .header("x-probe-header", "probe-1")
///     .query("probe", "1")
///     .body_field("probe_body", serde_json::json!({"nested": [1, 2]}))
///     .idempotency_key("order-42");
/// let client = openai_sdk::Client::builder().api_key("k").build().unwrap();
/// let probing = client.with_options(options); // every request of `probing` carries them
/// # let _ = probing;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct RequestOptions {
    /// Retries after the first attempt.
    pub max_retries: Option<u32>,
    /// The timeout of the whole request.
    pub timeout: Option<Duration>,
    /// Extra headers, sent after every other header (they win), in order.
    pub extra_headers: Vec<(String, String)>,
    /// Extra query parameters, appended to the URL (they replace the operation's own
    /// parameters of the same name).
    pub extra_query: Vec<(String, String)>,
    /// Extra fields merged into the top level of the JSON body (they override typed
    /// fields), or added to a multipart form.
    pub extra_body: serde_json::Map<String, serde_json::Value>,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
}

impl RequestOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the number of retries.
    #[must_use]
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }
    /// Sets the whole-request timeout.
    #[must_use]
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = Some(t);
        self
    }
    /// Adds a header, sent after every other one (it wins; see the type's docs).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }
    /// Adds a query parameter.
    #[must_use]
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_query.push((name.into(), value.into()));
        self
    }
    /// Adds a field to the top level of the request body; it overrides a typed field of
    /// the same name (see the type's docs).
    #[must_use]
    pub fn body_field(
        mut self,
        name: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.extra_body.insert(name.into(), value.into());
        self
    }
    /// Sets the `Idempotency-Key` header (kept across retries).
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// The extras of [`RequestOptions`] as a client applies them, headers checked once.
#[derive(Debug, Clone)]
pub(crate) struct Extras {
    /// The headers, or why one is not valid HTTP (reported when a request is sent).
    headers: Result<Vec<(HeaderName, HeaderValue)>, String>,
    query: Vec<(String, String)>,
    pub(crate) body: serde_json::Map<String, serde_json::Value>,
}

impl Default for Extras {
    fn default() -> Self {
        Extras {
            headers: Ok(Vec::new()),
            query: Vec::new(),
            body: serde_json::Map::new(),
        }
    }
}

impl Extras {
    /// These extras with `options`' added after them.
    fn merged(&self, options: &RequestOptions) -> Extras {
        let mut out = self.clone();
        let mut pairs: Vec<(&str, &str)> = options
            .extra_headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if let Some(key) = &options.idempotency_key {
            pairs.push(("idempotency-key", key));
        }
        for (k, v) in pairs {
            let parsed = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("the extra header name {k:?} is not a valid HTTP header name"))
                .and_then(|name| {
                    HeaderValue::from_str(v)
                        .map(|value| (name, value))
                        .map_err(|_| format!("the value of the extra header {k:?} is not a valid HTTP header value"))
                });
            out.headers = match (out.headers, parsed) {
                (Err(e), _) | (Ok(_), Err(e)) => Err(e),
                (Ok(mut list), Ok((name, mut value))) => {
                    value.set_sensitive(is_secret_header(&name));
                    list.push((name, value));
                    Ok(list)
                }
            };
        }
        out.query.extend(options.extra_query.iter().cloned());
        for (k, v) in &options.extra_body {
            out.body.insert(k.clone(), v.clone());
        }
        out
    }

    /// Applies the headers and the query to `request`, and the body fields to a JSON body
    /// (not to a multipart one: its form was built with them, see `multipart.rs`).
    fn apply(&self, request: &mut reqwest::Request, body: BodyExtras) -> Result<(), Error> {
        let headers = self
            .headers
            .as_ref()
            .map_err(|e| Error::Config(e.clone()))?;
        let mut replaced: Vec<&HeaderName> = Vec::new();
        for (name, value) in headers {
            if !replaced.contains(&name) {
                request.headers_mut().remove(name);
                replaced.push(name);
            }
            request.headers_mut().append(name.clone(), value.clone());
        }
        if !self.query.is_empty() {
            let url = request.url_mut();
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| !self.query.iter().any(|(q, _)| q == k))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let mut pairs = url.query_pairs_mut();
            pairs.clear();
            pairs.extend_pairs(kept);
            pairs.extend_pairs(&self.query);
        }
        if self.body.is_empty() || body == BodyExtras::Skip {
            return Ok(());
        }
        let content_type = request
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            return Ok(());
        }
        let what = format!("{} {}", request.method(), request.url().path());
        let Some(bytes) = request.body().map(|b| b.as_bytes()) else {
            return Err(Error::Config(format!(
                "extra body fields ({}) given for {what}, a request without a body",
                self.body_names()
            )));
        };
        let Some(bytes) = bytes.filter(|_| content_type.contains("json")) else {
            return Err(Error::Config(format!(
                "extra body fields ({}) given for {what}, whose body is not JSON ({content_type})",
                self.body_names()
            )));
        };
        let mut map: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes)
            .map_err(|_| {
                Error::Config(format!(
                    "extra body fields given for {what}, whose JSON body is not an object"
                ))
            })?;
        for (k, v) in &self.body {
            map.insert(k.clone(), v.clone());
        }
        let merged = serde_json::to_vec(&map).map_err(|e| {
            Error::InvalidRequest(format!("the merged body does not serialize: {e}"))
        })?;
        *request.body_mut() = Some(merged.into());
        Ok(())
    }

    fn body_names(&self) -> String {
        self.body
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Adds the body fields to a form's fields (they replace the body's own).
    #[cfg(sends_forms)]
    pub(crate) fn merge_into(&self, map: &mut serde_json::Map<String, serde_json::Value>) {
        for (k, v) in &self.body {
            map.insert(k.clone(), v.clone());
        }
    }
}

/// Whether the extra body fields go into a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyExtras {
    /// Into its body; a request without one is refused.
    Apply,
    /// Not at all: a read that follows the request that carried them (polling, resuming).
    Skip,
}

fn is_secret_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "authorization" | "api-key" | "proxy-authorization" | "cookie" | "x-api-key"
    )
}

/// A client for the OpenAI API.
///
/// Every operation of the API is a method, generated from the OpenAPI spec (through
/// `Deref` to [`generated::Client`]); hand-written helpers sit beside them. Cloning is
/// cheap and shares the connection pool.
///
/// ```no_run
/// # async fn run() -> Result<(), openai_sdk::Error> {
/// let client = openai_sdk::Client::new()?; // OPENAI_API_KEY, OPENAI_BASE_URL, ...
/// let models = client.list_models().await?;
/// for m in &models.data {
///     println!("{}", m.id);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    api: generated::Client,
}

impl Deref for Client {
    type Target = generated::Client;
    fn deref(&self) -> &generated::Client {
        &self.api
    }
}

impl Client {
    /// A client configured from the environment: `OPENAI_API_KEY` (required),
    /// `OPENAI_BASE_URL` (default `https://api.openai.com/v1`), `OPENAI_ORG_ID` and
    /// `OPENAI_PROJECT_ID`.
    pub fn new() -> Result<Self, Error> {
        ClientBuilder::from_env().build()
    }

    /// A builder that starts from the environment (see [`Client::new`]); every setting
    /// can be overridden.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::from_env()
    }

    /// The generated client, for calling operations explicitly.
    pub fn api(&self) -> &generated::Client {
        &self.api
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.api.inner.config.base_url
    }

    /// The path Chat Completions requests go to, relative to the base URL.
    pub fn chat_path(&self) -> &str {
        &self.config().chat_path
    }

    pub(crate) fn config(&self) -> &Config {
        &self.api.inner.config
    }

    /// A client that shares this one's connections but applies `options` to every request
    /// it sends, as `client.with_options(...)` does in the official SDKs.
    ///
    /// ```
    /// use std::time::Duration;
    /// use openai_sdk::client::RequestOptions;
    /// let client = openai_sdk::Client::builder().api_key("k").build().unwrap();
    /// let patient = client.with_options(RequestOptions::new().max_retries(5).timeout(Duration::from_secs(30)));
    /// # let _ = patient;
    /// ```
    pub fn with_options(&self, options: RequestOptions) -> Client {
        let c = self.config();
        let mut retry = c.retry;
        if let Some(n) = options.max_retries {
            retry.max_retries = n;
        }
        let config = Arc::new(Config {
            api_key: c.api_key.clone(),
            api_key_provider: c.api_key_provider.clone(),
            admin_key: c.admin_key.clone(),
            base_url: c.base_url.clone(),
            organization: c.organization.clone(),
            project: c.project.clone(),
            webhook_secret: c.webhook_secret.clone(),
            default_headers: c.default_headers.clone(),
            retry,
            on_retry: c.on_retry.clone(),
            request_timeout: options.timeout.or(c.request_timeout),
            azure: c.azure.clone(),
            max_response_bytes: c.max_response_bytes,
            max_sse_event_bytes: c.max_sse_event_bytes,
            extras: c.extras.merged(&options),
            chat_path: c.chat_path.clone(),
            #[cfg(feature = "blocking")]
            blocking: std::sync::OnceLock::new(),
            #[cfg(feature = "blocking")]
            timeouts: c.timeouts,
        });
        Client {
            api: generated::Client::new_with_client(
                &c.base_url,
                self.http().clone(),
                Inner { config },
            ),
        }
    }

    /// Sends a request built with [`Client::request`] with the client's retries and
    /// tracing; an error status becomes `Error::Api`.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        self.send_with(request, BodyExtras::Apply).await
    }

    /// [`send`](Self::send) for a read that follows the request of a helper that carried
    /// the extra body fields (a poll, a resumed stream): they are not sent again.
    pub(crate) async fn send_followup(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        self.send_with(request, BodyExtras::Skip).await
    }

    async fn send_with(
        &self,
        request: reqwest::RequestBuilder,
        body: BodyExtras,
    ) -> Result<reqwest::Response, Error> {
        let mut request = request
            .build()
            .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let c = self.config();
        c.prepare_with(&mut request, body).await?;
        let resp =
            crate::retry::execute(self.http(), &c.retry, c.on_retry.as_ref(), Some(c), request)
                .await
                .map_err(Error::from_reqwest)?;
        if resp.status().is_client_error() || resp.status().is_server_error() {
            return Err(crate::error::from_response(resp).await);
        }
        // The helpers read their answers whole: the same cap as the generated methods.
        let mut resp = limit_whole_body(resp, c.max_response_bytes);
        // A stream made from this answer reads events up to the client's limit.
        resp.extensions_mut()
            .insert(crate::streaming::driver::MaxEventSize(
                c.max_sse_event_bytes,
            ));
        Ok(resp)
    }

    /// Sends a JSON request with the blocking HTTP client (feature `blocking`), the same way
    /// [`send`](Self::send) does: headers and auth, per-client timeout, Azure rewriting,
    /// request options, retries until the answer's headers, and an error status as
    /// [`Error::Api`].
    #[cfg(feature = "blocking")]
    #[cfg_attr(not(feature = "chat"), allow(dead_code))]
    pub(crate) fn send_blocking(
        &self,
        method: reqwest::Method,
        path: &str,
        accept: &str,
        body: &serde_json::Value,
    ) -> Result<reqwest::blocking::Response, Error> {
        self.send_blocking_with(
            method,
            path,
            &[],
            &[("accept", accept)],
            Some(body),
            BodyExtras::Apply,
        )
    }

    /// [`send_blocking`](Self::send_blocking) with a query, more headers and an optional body.
    #[cfg(feature = "blocking")]
    #[cfg_attr(not(feature = "chat"), allow(dead_code))]
    pub(crate) fn send_blocking_with(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        headers: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        body_extras: BodyExtras,
    ) -> Result<reqwest::blocking::Response, Error> {
        let c = self.config();
        let mut url = reqwest::Url::parse(&format!("{}{}", self.base_url(), path))
            .map_err(|e| Error::InvalidRequest(format!("the URL for {path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let bytes = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::InvalidRequest(format!("the request does not serialize: {e}")))?;
        // Prepared as an async request (the one place that knows headers, auth, Azure and
        // the request options), then carried over to the blocking one.
        let mut prepared = reqwest::Request::new(method, url);
        if let Some(bytes) = &bytes {
            *prepared.body_mut() = Some(bytes.clone().into());
            prepared.headers_mut().insert(
                reqwest::header::CONTENT_TYPE,
                reqwest::header::HeaderValue::from_static("application/json"),
            );
        }
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Error::InvalidRequest(e.to_string()))?;
            let value =
                HeaderValue::from_str(value).map_err(|e| Error::InvalidRequest(e.to_string()))?;
            prepared.headers_mut().insert(name, value);
        }
        c.prepare_blocking(&mut prepared, body_extras)?;
        let mut request =
            reqwest::blocking::Request::new(prepared.method().clone(), prepared.url().clone());
        *request.headers_mut() = prepared.headers().clone();
        // A per-request timeout wins. Otherwise, when a read timeout is set, the blocking
        // client's own timeout (the read timeout, applied to each read) must stay in force:
        // a request timeout would replace it, and a stalled stream would wait the whole
        // request timeout (600 s by default) instead of failing between events.
        *request.timeout_mut() = match (prepared.timeout(), c.timeouts.2) {
            (Some(t), _) => Some(*t),
            (None, Some(_)) => None,
            (None, None) => Some(c.timeouts.0),
        };
        if let Some(body) = prepared.body().and_then(reqwest::Body::as_bytes) {
            *request.body_mut() = Some(body.to_vec().into());
        }
        let http = c.blocking_http()?;
        let mut response =
            crate::retry::execute_blocking(http, &c.retry, c.on_retry.as_ref(), Some(c), request)
                .map_err(Error::from_reqwest)?;
        let status = response.status();
        if status.is_client_error() || status.is_server_error() {
            let rid = crate::error::request_id(response.headers());
            let url = response.url().to_string();
            let bytes = crate::error::read_error_body_blocking(response)?;
            return Err(crate::error::from_parts(status.as_u16(), url, rid, &bytes));
        }
        // The blocking stream made from this answer reads events up to the client's limit.
        response
            .extensions_mut()
            .insert(crate::streaming::driver::MaxEventSize(
                c.max_sse_event_bytes,
            ));
        Ok(response)
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        progenitor_client::ClientInfo::client(&self.api)
    }

    /// Builds a request to `path` (relative to the base URL) with the client's headers.
    /// The headers, auth, timeout and Azure rewriting are added when the request is sent
    /// ([`Client::send`] or [`Config::prepare`]).
    pub(crate) fn request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let url = format!("{}{}", self.base_url(), path);
        Ok(self.http().request(method, url))
    }
}

/// The credentials of one attempt: the API key chosen for its path, and the Entra ID
/// token's `Authorization` value (which wins over the key).
pub(crate) struct Credentials {
    key: Option<ApiKey>,
    token: Option<HeaderValue>,
}

impl Config {
    /// Everything the configuration adds to a request: headers and auth, the per-client
    /// timeout, for Azure the `api-version` query and the deployment path, and the
    /// request options' extras.
    pub(crate) async fn prepare(&self, request: &mut reqwest::Request) -> Result<(), Error> {
        self.prepare_with(request, BodyExtras::Apply).await
    }

    /// [`prepare`](Self::prepare), saying whether the extra body fields go in.
    pub(crate) async fn prepare_with(
        &self,
        request: &mut reqwest::Request,
        body: BodyExtras,
    ) -> Result<(), Error> {
        let credentials = self.credentials(request.url()).await?;
        self.prepare_resolved(request, body, credentials)
    }

    /// [`prepare_with`](Self::prepare_with) for the blocking client: an async key
    /// provider's future is driven to completion on this thread.
    #[cfg(feature = "blocking")]
    #[cfg_attr(not(feature = "chat"), allow(dead_code))]
    pub(crate) fn prepare_blocking(
        &self,
        request: &mut reqwest::Request,
        body: BodyExtras,
    ) -> Result<(), Error> {
        let credentials = futures::executor::block_on(self.credentials(request.url()))?;
        self.prepare_resolved(request, body, credentials)
    }

    /// The credentials of one attempt to `url`: the key ([`key_for`](Self::key_for)) and
    /// the Entra ID token, asking the providers.
    async fn credentials(&self, url: &reqwest::Url) -> Result<Credentials, Error> {
        let key = self.key_for(url).await?;
        let token = match self.azure.as_ref().and_then(|a| a.ad_token.as_ref()) {
            Some(token) => Some(token.bearer().await?),
            None => None,
        };
        Ok(Credentials { key, token })
    }

    /// Whether a retry must ask a provider again (an API-key or Entra ID token provider).
    pub(crate) fn asks_providers(&self) -> bool {
        self.api_key_provider.is_some()
            || self
                .azure
                .as_ref()
                .and_then(|a| a.ad_token.as_ref())
                .is_some_and(AdToken::is_provider)
    }

    /// Asks the providers again and sets the auth headers of a retry.
    pub(crate) async fn reauthorize(&self, request: &mut reqwest::Request) -> Result<(), Error> {
        let credentials = self.credentials(request.url()).await?;
        self.apply_auth(request.headers_mut(), &credentials)
    }

    /// [`reauthorize`](Self::reauthorize) for a blocking request.
    #[cfg(feature = "blocking")]
    #[cfg_attr(not(feature = "chat"), allow(dead_code))]
    pub(crate) fn reauthorize_blocking(
        &self,
        request: &mut reqwest::blocking::Request,
    ) -> Result<(), Error> {
        let credentials = futures::executor::block_on(self.credentials(request.url()))?;
        self.apply_auth(request.headers_mut(), &credentials)
    }

    /// The key for `request`: the admin key for admin paths when there is one, else the
    /// provider's answer, else the fixed key.
    async fn key_for(&self, url: &reqwest::Url) -> Result<Option<ApiKey>, Error> {
        if self.admin_key.is_some() && is_admin_path(&self.relative_path(url)) {
            return Ok(self.admin_key.clone());
        }
        match &self.api_key_provider {
            Some(provider) => {
                let key = provider()
                    .await
                    .map_err(|e| Error::Config(format!("the API key provider failed: {e}")))?;
                Ok(Some(ApiKey::new(key)))
            }
            None => Ok(self.api_key.clone()),
        }
    }

    /// The path of `url` relative to the base URL's path.
    fn relative_path(&self, url: &reqwest::Url) -> String {
        let base_path = reqwest::Url::parse(&self.base_url)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let path = url.path();
        path.strip_prefix(base_path.as_str())
            .unwrap_or(path)
            .to_owned()
    }

    fn prepare_resolved(
        &self,
        request: &mut reqwest::Request,
        body: BodyExtras,
        credentials: Credentials,
    ) -> Result<(), Error> {
        if let Some(t) = self.request_timeout {
            *request.timeout_mut() = Some(t);
        }
        self.apply_headers(request.headers_mut(), &credentials)?;
        if let Some(az) = &self.azure {
            let base_path = reqwest::Url::parse(&self.base_url)
                .map(|u| u.path().trim_end_matches('/').to_owned())
                .unwrap_or_default();
            let path = request.url().path().to_owned();
            let rel = path.strip_prefix(&base_path).unwrap_or(&path).to_owned();
            if AZURE_DEPLOYMENT_PATHS.contains(&rel.as_str()) {
                let deployment = az.deployment.clone().or_else(|| {
                    // As the official SDK does: the request's model names the deployment.
                    let body = request.body()?.as_bytes()?;
                    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
                    v.get("model")?.as_str().map(str::to_owned)
                });
                if let Some(d) = deployment {
                    let encoded = crate::path_segment("deployment", &d)?;
                    request
                        .url_mut()
                        .set_path(&format!("{base_path}/deployments/{encoded}{rel}"));
                }
            }
            request
                .url_mut()
                .query_pairs_mut()
                .append_pair("api-version", &az.api_version);
        }
        self.extras.apply(request, body)
    }

    /// [`Error::Config`] when the request options carry extra body fields: for helpers
    /// that only read (`what` names the helper), which have no body to put them in.
    #[cfg_attr(not(any(feature = "files", feature = "assistants")), allow(dead_code))]
    pub(crate) fn refuse_body_extras(&self, what: &str) -> Result<(), Error> {
        if self.extras.body.is_empty() {
            return Ok(());
        }
        Err(Error::Config(format!(
            "extra body fields ({}) given for {what}, which sends no request with a body",
            self.extras.body_names()
        )))
    }

    /// The blocking HTTP client (feature `blocking`), built on first use.
    #[cfg(feature = "blocking")]
    #[cfg_attr(not(feature = "chat"), allow(dead_code))]
    pub(crate) fn blocking_http(&self) -> Result<&reqwest::blocking::Client, Error> {
        if let Some(c) = self.blocking.get() {
            return Ok(c);
        }
        let (timeout, connect, read) = self.timeouts;
        // The blocking client's `timeout` bounds each connect, read and write: the read
        // timeout when one is set (a stalled stream fails between events), else the
        // whole-request one. The whole-request timeout is also set on each request.
        let mut builder = reqwest::blocking::Client::builder()
            .redirect(redirect_policy())
            .timeout(read.unwrap_or(timeout))
            .user_agent(concat!("openai-sdk-rust/", env!("CARGO_PKG_VERSION")));
        if let Some(c) = connect {
            builder = builder.connect_timeout(c);
        }
        let client = builder
            .build()
            .map_err(|e| Error::Config(format!("building the blocking HTTP client: {e}")))?;
        Ok(self.blocking.get_or_init(|| client))
    }

    /// Default headers and auth for a WebSocket handshake (Realtime, Responses over a
    /// WebSocket): the key provider's key when there is one, else the fixed key; the
    /// Entra ID token (asked from its provider) on Azure.
    #[cfg(feature = "websocket")]
    pub(crate) async fn websocket_headers(&self, headers: &mut HeaderMap) -> Result<(), Error> {
        let key = match &self.api_key_provider {
            Some(provider) => {
                Some(ApiKey::new(provider().await.map_err(|e| {
                    Error::Config(format!("the API key provider failed: {e}"))
                })?))
            }
            None => self.api_key.clone(),
        };
        let token = match self.azure.as_ref().and_then(|a| a.ad_token.as_ref()) {
            Some(token) => Some(token.bearer().await?),
            None => None,
        };
        self.apply_headers(headers, &Credentials { key, token })
    }

    /// Adds default headers and auth (the [`credentials`](Self::credentials) of this
    /// attempt) to a request's headers.
    fn apply_headers(
        &self,
        headers: &mut HeaderMap,
        credentials: &Credentials,
    ) -> Result<(), Error> {
        for (k, v) in &self.default_headers {
            if !headers.contains_key(k) {
                headers.insert(k.clone(), v.clone());
            }
        }
        self.apply_auth(headers, credentials)?;
        if let Some(org) = &self.organization {
            headers.insert(
                HeaderName::from_static("openai-organization"),
                HeaderValue::from_str(org).map_err(|_| {
                    Error::Config("the organization id is not a valid header value".into())
                })?,
            );
        }
        if let Some(p) = &self.project {
            headers.insert(
                HeaderName::from_static("openai-project"),
                HeaderValue::from_str(p).map_err(|_| {
                    Error::Config("the project id is not a valid header value".into())
                })?,
            );
        }
        Ok(())
    }

    /// Sets the auth header: the Entra ID token, else the key (`api-key` on Azure).
    fn apply_auth(&self, headers: &mut HeaderMap, credentials: &Credentials) -> Result<(), Error> {
        let invalid = |_| Error::Config("the API key is not a valid header value".into());
        match (&self.azure, &credentials.token, credentials.key.as_ref()) {
            (_, Some(token), _) => {
                headers.insert(AUTHORIZATION, token.clone());
            }
            (Some(_), None, Some(key)) => {
                let mut v = HeaderValue::from_str(key.expose()).map_err(invalid)?;
                v.set_sensitive(true);
                headers.insert(HeaderName::from_static("api-key"), v);
            }
            (None, None, Some(key)) => {
                let mut v =
                    HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(invalid)?;
                v.set_sensitive(true);
                headers.insert(AUTHORIZATION, v);
            }
            (_, None, None) => {}
        }
        Ok(())
    }
}

/// The default of [`ClientBuilder::max_response_bytes`]: 512 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 512 * 1024 * 1024;

/// Caps a JSON or text body (what the generated methods read whole) at `max` bytes: past
/// it, reading fails and the error is [`Error::ResponseTooLarge`]. Binary bodies (file
/// contents, audio, video) are streamed to the caller and are not capped. Content types
/// are compared case-insensitively (`Application/JSON` is JSON).
pub(crate) fn limit_body(response: reqwest::Response, max: u64) -> reqwest::Response {
    let capped = content_type(&response)
        .is_none_or(|t| t.contains("json") || (t.starts_with("text/") && !is_event_stream(&t)));
    if capped {
        cap_body(response, max)
    } else {
        response
    }
}

/// Caps every body but an event stream's at `max` bytes: the hand-written helpers read
/// their answers whole whatever the content type (JSON, SDP text, ...). Event streams are
/// bounded per event instead (by the SSE decoder).
pub(crate) fn limit_whole_body(response: reqwest::Response, max: u64) -> reqwest::Response {
    if content_type(&response).is_some_and(|t| is_event_stream(&t)) {
        response
    } else {
        cap_body(response, max)
    }
}

fn content_type(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
}

fn is_event_stream(lowercase_type: &str) -> bool {
    lowercase_type.contains("event-stream")
}

fn cap_body(response: reqwest::Response, max: u64) -> reqwest::Response {
    use reqwest::ResponseBuilderExt;
    // Error answers are read only up to 1 MiB anyway (`error::from_response`).
    if response.status().is_client_error() || response.status().is_server_error() {
        return response;
    }
    if response.content_length().is_some_and(|n| n <= max) {
        return response;
    }
    let url = response.url().clone();
    let (mut parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    let limited = http_body_util::BodyExt::map_err(
        http_body_util::Limited::new(body, usize::try_from(max).unwrap_or(usize::MAX)),
        move |e| -> Box<dyn std::error::Error + Send + Sync> {
            if e.is::<http_body_util::LengthLimitError>() {
                Box::new(crate::error::BodyTooLarge(max))
            } else {
                e
            }
        },
    );
    let (with_url, ()) = http::Response::builder()
        .url(url)
        .body(())
        .unwrap_or_default()
        .into_parts();
    parts.extensions.extend(with_url.extensions);
    reqwest::Response::from(http::Response::from_parts(
        parts,
        reqwest::Body::wrap(limited),
    ))
}

impl progenitor_client::ClientHooks<Inner> for generated::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &progenitor_client::OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        self.inner.config.prepare(request).await.map_err(|e| {
            progenitor_client::Error::Custom(match e {
                // Mapped back to `Error::Config` by `error::from_generated`.
                Error::Config(message) => message,
                other => other.to_string(),
            })
        })
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &progenitor_client::OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let c = &self.inner.config;
        let response = crate::retry::execute(
            &self.client,
            &c.retry,
            c.on_retry.as_ref(),
            Some(c),
            request,
        )
        .await?;
        Ok(limit_body(response, c.max_response_bytes))
    }
}

/// Configures a [`Client`].
///
/// ```
/// use std::time::Duration;
/// let client = openai_sdk::Client::builder()
///     .api_key("sk-test")
///     .base_url("http://127.0.0.1:4010/v1")
///     .timeout(Duration::from_secs(30))
///     .header("x-team", "search")
///     .build()
///     .unwrap();
/// assert_eq!(client.base_url(), "http://127.0.0.1:4010/v1");
/// assert!(!format!("{client:?}").contains("sk-test"));
/// ```
#[must_use]
pub struct ClientBuilder {
    api_key: Option<ApiKey>,
    api_key_provider: Option<ApiKeyProvider>,
    admin_key: Option<ApiKey>,
    base_url: Option<String>,
    organization: Option<String>,
    project: Option<String>,
    webhook_secret: Option<ApiKey>,
    http: Option<reqwest::Client>,
    default_headers: Vec<(String, String)>,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    chat_path: String,
    read_timeout: Option<Duration>,
    max_response_bytes: u64,
    max_sse_event_bytes: usize,
    retry: RetryPolicy,
    on_retry: Option<RetryHook>,
    azure: Option<Azure>,
    /// Whether `api_key` came from `OPENAI_API_KEY` (then `azure()` does not keep it).
    api_key_from_env: bool,
    /// Whether `admin_key` came from `OPENAI_ADMIN_KEY` (then `azure()` does not keep it).
    admin_key_from_env: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key)
            .field("admin_key", &self.admin_key)
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl ClientBuilder {
    /// A builder with nothing set: no key, the default base URL.
    pub fn empty() -> Self {
        ClientBuilder {
            api_key: None,
            api_key_provider: None,
            admin_key: None,
            base_url: None,
            organization: None,
            project: None,
            webhook_secret: None,
            http: None,
            default_headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            read_timeout: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_sse_event_bytes: crate::sse::DEFAULT_MAX_EVENT_SIZE,
            retry: RetryPolicy::default(),
            on_retry: None,
            azure: None,
            chat_path: DEFAULT_CHAT_PATH.to_owned(),
            api_key_from_env: false,
            admin_key_from_env: false,
        }
    }

    /// A builder filled in from `OPENAI_API_KEY`, `OPENAI_ADMIN_KEY`, `OPENAI_BASE_URL`,
    /// `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID` and `OPENAI_WEBHOOK_SECRET`.
    pub fn from_env() -> Self {
        let mut b = Self::empty();
        b.api_key = env("OPENAI_API_KEY").map(ApiKey::new);
        b.api_key_from_env = b.api_key.is_some();
        b.admin_key = env("OPENAI_ADMIN_KEY").map(ApiKey::new);
        b.admin_key_from_env = b.admin_key.is_some();
        b.base_url = env("OPENAI_BASE_URL");
        b.organization = env("OPENAI_ORG_ID");
        b.project = env("OPENAI_PROJECT_ID");
        b.webhook_secret = env("OPENAI_WEBHOOK_SECRET").map(ApiKey::new);
        b
    }

    /// The API key sent as `Authorization: Bearer ...`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self.api_key_from_env = false;
        self
    }

    /// An API-key provider, asked before every request (as the Azure token provider is),
    /// so that a rotated key is picked up without building a new client. It wins over
    /// [`api_key`](Self::api_key). It may be async (a secret manager's client); cache inside
    /// it, since it runs on the request path. When it fails, the request is not sent and
    /// the error is [`Error::Config`] with its message. The blocking streams (feature
    /// `blocking`) drive its future on their own thread, so it must not need a Tokio
    /// runtime there.
    ///
    /// ```
    /// use std::sync::{Arc, RwLock};
    /// let current = Arc::new(RwLock::new(String::from("sk-first")));
    /// let source = current.clone();
    /// let client = openai_sdk::ClientBuilder::empty()
    ///     .api_key_provider(move || {
    ///         let key = source.read().unwrap().clone();
    ///         async move { Ok(key) }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// *current.write().unwrap() = "sk-rotated".into(); // the next request sends this one
    /// # let _ = client;
    /// ```
    pub fn api_key_provider<F, Fut>(mut self, provider: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<String, TokenError>> + Send + 'static,
    {
        self.api_key_provider = Some(Arc::new(move || Box::pin(provider())));
        self
    }

    /// The admin key (`OPENAI_ADMIN_KEY` by default), sent instead of the API key to the
    /// operations the spec marks `AdminApiKeyAuth`: the `/organization/...` paths and the
    /// project role operations ([`is_admin_path`]). Without it those operations get the
    /// API key, as every other one does. Never in `Debug`.
    pub fn admin_key(mut self, key: impl Into<String>) -> Self {
        self.admin_key = Some(ApiKey::new(key));
        self.admin_key_from_env = false;
        self
    }

    /// The base URL, such as `https://api.openai.com/v1` or a compatible server's.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The `OpenAI-Organization` header.
    pub fn organization(mut self, org: impl Into<String>) -> Self {
        self.organization = Some(org.into());
        self
    }

    /// The `OpenAI-Project` header.
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// The secret that webhook deliveries are signed with (`whsec_...`), for
    /// `client.webhooks()` (feature `webhooks`). Never sent to the API, never in `Debug`.
    pub fn webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.webhook_secret = Some(ApiKey::new(secret));
        self
    }

    /// A header sent on every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.default_headers.push((name.into(), value.into()));
        self
    }

    /// Use this `reqwest::Client` (its own timeouts, proxies, TLS settings and redirect
    /// policy apply; the builder's timeouts are then not used). Build it with
    /// `.redirect(openai_sdk::client::redirect_policy())` so that credentials never follow a
    /// redirect to another origin, as with the SDK's own client (see [`redirect_policy`]).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The timeout of a whole request (default 600 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The timeout for opening a connection (default: no separate limit).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The longest wait for the next bytes of a response: on a stream, the longest gap
    /// between two reads (default: no separate limit).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = Some(timeout);
        self
    }

    /// Retries after the first attempt (default 2; 0 turns retries off).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.retry.max_retries = n;
        self
    }

    /// The whole retry policy: count and backoff bounds.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Called before each retry with the attempt, the delay and the reason: for metrics.
    pub fn on_retry(
        mut self,
        hook: impl Fn(&crate::retry::RetryEvent) + Send + Sync + 'static,
    ) -> Self {
        self.on_retry = Some(Arc::new(hook));
        self
    }

    /// Retries still happen and their delays are still computed and reported to
    /// [`on_retry`](Self::on_retry), but the client does not wait them out: for testing
    /// retry behaviour offline without slow tests or a paused clock.
    #[cfg(feature = "testing")]
    pub fn skip_retry_waits(mut self) -> Self {
        self.retry.skip_waits = true;
        self
    }

    /// Azure OpenAI: requests go to `{endpoint}/openai/...` with `?api-version=...`, the key
    /// is sent as `api-key` (or set [`azure_ad_token`](Self::azure_ad_token)), and the
    /// deployment operations (chat, completions, embeddings, audio, images) go to
    /// `/deployments/{deployment}/...`, the deployment being [`azure_deployment`](Self::azure_deployment)
    /// or else the request's `model`.
    ///
    /// The key: one set with [`api_key`](Self::api_key), before or after this call, is kept;
    /// else `AZURE_OPENAI_API_KEY`. `OPENAI_API_KEY` (read by [`Client::builder`]) is never
    /// sent to Azure: without an Azure key, a key provider or an Entra ID token,
    /// [`build`](Self::build) fails. Likewise `OPENAI_ADMIN_KEY` from the environment is
    /// dropped here (an admin key set with [`admin_key`](Self::admin_key) is kept).
    ///
    /// ```
    /// let client = openai_sdk::ClientBuilder::empty()
    ///     .azure("https://my-resource.openai.azure.com", "2024-10-21")
    ///     .azure_deployment("gpt-4o-prod")
    ///     .api_key("azure-key")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(client.base_url(), "https://my-resource.openai.azure.com/openai");
    /// ```
    pub fn azure(mut self, endpoint: impl Into<String>, api_version: impl Into<String>) -> Self {
        let endpoint = endpoint.into();
        self.base_url = Some(format!("{}/openai", endpoint.trim_end_matches('/')));
        if self.api_key.is_none() || self.api_key_from_env {
            // An OpenAI key from the environment is not for this host.
            self.api_key = env("AZURE_OPENAI_API_KEY").map(ApiKey::new);
            self.api_key_from_env = self.api_key.is_some();
        }
        if self.admin_key_from_env {
            // Nor is an OpenAI admin key from the environment.
            self.admin_key = None;
            self.admin_key_from_env = false;
        }
        self.azure = Some(Azure {
            api_version: api_version.into(),
            deployment: None,
            ad_token: None,
        });
        self
    }

    /// The Azure deployment that serves the deployment operations (see [`azure`](Self::azure)).
    pub fn azure_deployment(mut self, deployment: impl Into<String>) -> Self {
        if let Some(az) = &mut self.azure {
            az.deployment = Some(deployment.into());
        }
        self
    }

    /// An Entra ID (Azure AD) token, sent as `Authorization: Bearer ...` instead of the
    /// `api-key` header; with it no API key is needed.
    pub fn azure_ad_token(mut self, token: impl Into<String>) -> Self {
        if let Some(az) = &mut self.azure {
            az.ad_token = Some(AdToken::Fixed(ApiKey::new(token)));
        }
        self
    }

    /// An Entra ID (Azure AD) token provider, asked before every attempt of every request
    /// (retries included), so that a token refreshed by the provider is picked up without
    /// rebuilding the client. It runs on the request path, on the async runtime's thread:
    /// keep it fast (cache inside it), and use
    /// [`azure_ad_token_provider_async`](Self::azure_ad_token_provider_async) for a provider
    /// that does I/O. When it fails, the request is not sent and the error is
    /// [`Error::Config`] with the provider's message; when it fails before a retry, the
    /// retry is not made and the previous attempt's error is returned.
    ///
    /// ```
    /// let client = openai_sdk::ClientBuilder::empty()
    ///     .azure("https://my-resource.openai.azure.com", "2024-10-21")
    ///     .azure_ad_token_provider(|| Ok(std::env::var("ENTRA_TOKEN")?))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn azure_ad_token_provider(
        mut self,
        provider: impl Fn() -> Result<String, TokenError> + Send + Sync + 'static,
    ) -> Self {
        if let Some(az) = &mut self.azure {
            az.ad_token = Some(AdToken::Provider(Arc::new(provider)));
        }
        self
    }

    /// An async Entra ID (Azure AD) token provider, awaited before every attempt of every
    /// request (retries included), for a provider that fetches or refreshes tokens over
    /// the network without blocking the runtime. Errors as for
    /// [`azure_ad_token_provider`](Self::azure_ad_token_provider). The blocking streams
    /// (feature `blocking`) drive its future with `futures::executor::block_on`, so there
    /// it must not need a Tokio runtime.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// // A cache the provider refreshes; a real one would call the identity endpoint when
    /// // the token is about to expire.
    /// let cache = Arc::new(Mutex::new(String::from("token-1")));
    /// let client = openai_sdk::ClientBuilder::empty()
    ///     .azure("https://my-resource.openai.azure.com", "2024-10-21")
    ///     .azure_ad_token_provider_async(move || {
    ///         let cache = cache.clone();
    ///         async move { Ok(cache.lock().unwrap().clone()) }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn azure_ad_token_provider_async<F, Fut>(mut self, provider: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<String, TokenError>> + Send + 'static,
    {
        if let Some(az) = &mut self.azure {
            let provider: AzureAdTokenProviderAsync = Arc::new(move || Box::pin(provider()));
            az.ad_token = Some(AdToken::AsyncProvider(provider));
        }
        self
    }

    /// The path of Chat Completions relative to the base URL (default
    /// `/chat/completions`), for compatible providers that use another one, such as
    /// Writer's `/chat`.
    ///
    /// ```
    /// let client = openai_sdk::Client::builder()
    ///     .api_key("key")
    ///     .base_url("https://api.writer.com/v1")
    ///     .chat_path("/chat")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(client.chat_path(), "/chat");
    /// ```
    pub fn chat_path(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.chat_path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        self
    }

    /// The largest JSON or text answer a method reads whole, in bytes (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`], 512 MiB). A larger answer fails with
    /// [`Error::ResponseTooLarge`] instead of filling memory. It covers every answer read
    /// whole: the generated methods' JSON and text answers, and every answer of the
    /// hand-written helpers (structured-output parsing, tool loops, embeddings, polling,
    /// uploads, the generic `get`/`post`/`call`), async and blocking. Streams are not
    /// concerned: they are read event by event, each event capped by
    /// [`max_sse_event_bytes`](Self::max_sse_event_bytes); nor are the binary answers of
    /// the generated methods (file contents, audio), which are handed over as byte
    /// streams. Error answers are read up to [`MAX_ERROR_BODY`](crate::error::MAX_ERROR_BODY)
    /// (1 MiB), enough for their message.
    ///
    /// ```
    /// let client = openai_sdk::Client::builder()
    ///     .api_key("sk-test")
    ///     .max_response_bytes(16 * 1024 * 1024)
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// ```
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The largest event of an event stream, in bytes (default
    /// [`DEFAULT_MAX_EVENT_SIZE`](crate::sse::DEFAULT_MAX_EVENT_SIZE), 64 MiB): the data of
    /// one server-sent event, and any one line of the stream. It applies to every stream
    /// the client reads, async and blocking: chat, Responses, Assistants and the typed
    /// [`EventStream`](crate::streaming::EventStream)s (`stream_events`, the raw chunk
    /// streams). An event over it ends the stream with [`Error::Stream`] of kind
    /// [`TooLarge`](crate::StreamErrorKind::TooLarge), which gives the limit, the event's
    /// number and the byte offset where the over-long line (or event data) starts; what was
    /// read before it stays readable (the stream's snapshot). The decoder never holds much more than the limit plus one
    /// network chunk.
    ///
    /// ```
    /// let client = openai_sdk::Client::builder()
    ///     .api_key("sk-test")
    ///     .max_sse_event_bytes(8 * 1024 * 1024)
    ///     .build()
    ///     .unwrap();
    /// # drop(client);
    /// ```
    pub fn max_sse_event_bytes(mut self, bytes: usize) -> Self {
        self.max_sse_event_bytes = bytes;
        self
    }

    /// Builds the client. Fails when no API key is set, or a header is invalid.
    pub fn build(self) -> Result<Client, Error> {
        let has_token = self.azure.as_ref().is_some_and(|a| a.ad_token.is_some());
        let has_key =
            self.api_key.is_some() || self.api_key_provider.is_some() || self.admin_key.is_some();
        if !has_key && !has_token {
            return Err(Error::Config(if self.azure.is_some() {
                "no Azure API key: set AZURE_OPENAI_API_KEY, call ClientBuilder::api_key or \
                 api_key_provider, or give an Entra ID token (OPENAI_API_KEY is not sent to Azure)"
                    .into()
            } else {
                "no API key: set OPENAI_API_KEY (or OPENAI_ADMIN_KEY), or call ClientBuilder::api_key or api_key_provider".into()
            }));
        }
        let base_url = self
            .base_url
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
            .trim_end_matches('/')
            .to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "base URL must start with http:// or https://: {}",
                crate::error::redact_url_text(&base_url)
            )));
        }
        let mut default_headers = HeaderMap::new();
        for (k, v) in &self.default_headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| Error::Config(format!("invalid header name {k:?}")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| Error::Config(format!("invalid value for header {k}")))?;
            default_headers.append(name, value);
        }
        let http = match self.http {
            Some(h) => h,
            None => {
                let mut b = reqwest::Client::builder()
                    .redirect(redirect_policy())
                    .timeout(self.timeout)
                    .user_agent(concat!("openai-sdk-rust/", env!("CARGO_PKG_VERSION")));
                if let Some(c) = self.connect_timeout {
                    b = b.connect_timeout(c);
                }
                if let Some(r) = self.read_timeout {
                    b = b.read_timeout(r);
                }
                b.build()
                    .map_err(|e| Error::Config(format!("building the HTTP client: {e}")))?
            }
        };
        let config = Arc::new(Config {
            api_key: self.api_key,
            api_key_provider: self.api_key_provider,
            admin_key: self.admin_key,
            base_url: base_url.clone(),
            organization: self.organization,
            project: self.project,
            webhook_secret: self.webhook_secret,
            default_headers,
            retry: self.retry,
            on_retry: self.on_retry,
            request_timeout: None,
            azure: self.azure,
            max_response_bytes: self.max_response_bytes,
            max_sse_event_bytes: self.max_sse_event_bytes,
            extras: Extras::default(),
            chat_path: self.chat_path,
            #[cfg(feature = "blocking")]
            blocking: std::sync::OnceLock::new(),
            #[cfg(feature = "blocking")]
            timeouts: (self.timeout, self.connect_timeout, self.read_timeout),
        });
        Ok(Client {
            api: generated::Client::new_with_client(&base_url, http, Inner { config }),
        })
    }
}
