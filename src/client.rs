//! Client configuration and the hooks every generated request goes through.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};

use crate::generated;
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

/// The resolved configuration of a [`Client`].
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) api_key: Option<ApiKey>,
    pub(crate) base_url: String,
    pub(crate) organization: Option<String>,
    pub(crate) project: Option<String>,
    /// Sent on every request; the auth headers are added after these and win.
    pub(crate) default_headers: HeaderMap,
    /// The path of Chat Completions, relative to the base URL.
    pub(crate) chat_path: String,
    /// The blocking HTTP client, made on first use.
    #[cfg(feature = "blocking")]
    #[cfg_attr(not(feature = "chat"), allow(dead_code))]
    pub(crate) blocking: std::sync::OnceLock<reqwest::blocking::Client>,
    #[cfg(feature = "blocking")]
    #[cfg_attr(not(feature = "chat"), allow(dead_code))]
    pub(crate) timeout: Duration,
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

    pub(crate) fn http(&self) -> &reqwest::Client {
        progenitor_client::ClientInfo::client(&self.api)
    }

    /// Builds a request to `path` (relative to the base URL) with the client's headers.
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> Result<reqwest::RequestBuilder, Error> {
        let url = format!("{}{}", self.base_url(), path);
        let mut headers = HeaderMap::new();
        self.config().apply_headers(&mut headers)?;
        Ok(self.http().request(method, url).headers(headers))
    }
}

impl Config {
    /// The blocking HTTP client (feature `blocking`), built on first use.
    #[cfg(feature = "blocking")]
    #[cfg_attr(not(feature = "chat"), allow(dead_code))]
    pub(crate) fn blocking_http(&self) -> Result<&reqwest::blocking::Client, Error> {
        if let Some(c) = self.blocking.get() {
            return Ok(c);
        }
        install_crypto_provider();
        let client = reqwest::blocking::Client::builder()
            .timeout(self.timeout)
            .user_agent(concat!("openai-sdk-rust/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("building the blocking HTTP client: {e}")))?;
        Ok(self.blocking.get_or_init(|| client))
    }

    /// Adds default headers and auth to a request's headers.
    pub(crate) fn apply_headers(&self, headers: &mut HeaderMap) -> Result<(), Error> {
        for (k, v) in &self.default_headers {
            if !headers.contains_key(k) {
                headers.insert(k.clone(), v.clone());
            }
        }
        if let Some(key) = &self.api_key {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
                .map_err(|_| Error::Config("the API key is not a valid header value".into()))?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        if let Some(org) = &self.organization {
            headers.insert(
                HeaderName::from_static("openai-organization"),
                HeaderValue::from_str(org)
                    .map_err(|_| Error::Config("the organization id is not a valid header value".into()))?,
            );
        }
        if let Some(p) = &self.project {
            headers.insert(
                HeaderName::from_static("openai-project"),
                HeaderValue::from_str(p)
                    .map_err(|_| Error::Config("the project id is not a valid header value".into()))?,
            );
        }
        Ok(())
    }
}

impl progenitor_client::ClientHooks<Inner> for generated::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &progenitor_client::OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        self.inner
            .config
            .apply_headers(request.headers_mut())
            .map_err(|e| progenitor_client::Error::Custom(e.to_string()))
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
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    api_key: Option<ApiKey>,
    base_url: Option<String>,
    organization: Option<String>,
    project: Option<String>,
    http: Option<reqwest::Client>,
    default_headers: Vec<(String, String)>,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    chat_path: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl ClientBuilder {
    /// A builder with nothing set: no key, the default base URL.
    pub fn empty() -> Self {
        ClientBuilder {
            api_key: None,
            base_url: None,
            organization: None,
            project: None,
            http: None,
            default_headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            chat_path: DEFAULT_CHAT_PATH.to_owned(),
        }
    }

    /// A builder filled in from `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_ORG_ID` and
    /// `OPENAI_PROJECT_ID`.
    pub fn from_env() -> Self {
        let mut b = Self::empty();
        b.api_key = env("OPENAI_API_KEY").map(ApiKey::new);
        b.base_url = env("OPENAI_BASE_URL");
        b.organization = env("OPENAI_ORG_ID");
        b.project = env("OPENAI_PROJECT_ID");
        b
    }

    /// The API key sent as `Authorization: Bearer ...`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
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

    /// A header sent on every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.default_headers.push((name.into(), value.into()));
        self
    }

    /// Use this `reqwest::Client` (its own timeouts, proxies and TLS settings apply; the
    /// builder's timeouts are then not used).
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
        self.chat_path = if path.starts_with('/') { path } else { format!("/{path}") };
        self
    }

    /// Builds the client. Fails when no API key is set, or a header is invalid.
    pub fn build(self) -> Result<Client, Error> {
        let api_key = self.api_key.ok_or_else(|| {
            Error::Config(
                "no API key: set OPENAI_API_KEY or call ClientBuilder::api_key".into(),
            )
        })?;
        let base_url = self
            .base_url
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
            .trim_end_matches('/')
            .to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(Error::Config(format!("base URL must start with http:// or https://: {base_url}")));
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
                install_crypto_provider();
                let mut b = reqwest::Client::builder()
                    .timeout(self.timeout)
                    .user_agent(concat!("openai-sdk-rust/", env!("CARGO_PKG_VERSION")));
                if let Some(c) = self.connect_timeout {
                    b = b.connect_timeout(c);
                }
                b.build().map_err(|e| Error::Config(format!("building the HTTP client: {e}")))?
            }
        };
        let config = Arc::new(Config {
            api_key: Some(api_key),
            base_url: base_url.clone(),
            organization: self.organization,
            project: self.project,
            default_headers,
            chat_path: self.chat_path,
            #[cfg(feature = "blocking")]
            blocking: std::sync::OnceLock::new(),
            #[cfg(feature = "blocking")]
            timeout: self.timeout,
        });
        Ok(Client { api: generated::Client::new_with_client(&base_url, http, Inner { config }) })
    }
}

/// rustls needs a process-wide crypto provider; we ship ring. If the application
/// installed one already, that one stays.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
