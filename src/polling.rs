//! Polling shared by the `*_and_poll` helpers (Assistants runs, vector store files, file
//! batches) and `files().wait_for_processing`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::{Client, Error, ResponseMetadata};

/// A function that waits (the default is `tokio::time::sleep`).
pub type Sleeper = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;

/// How a `*_and_poll` helper polls.
#[derive(Clone)]
pub struct PollOptions {
    pub(crate) interval: Duration,
    pub(crate) interval_given: bool,
    pub(crate) timeout: Option<Duration>,
    pub(crate) sleeper: Option<Sleeper>,
    pub(crate) max_concurrency: usize,
}

impl std::fmt::Debug for PollOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollOptions")
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .field("custom_sleeper", &self.sleeper.is_some())
            .field("max_concurrency", &self.max_concurrency)
            .finish()
    }
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            interval: Duration::from_millis(1000),
            interval_given: false,
            timeout: None,
            sleeper: None,
            max_concurrency: 5,
        }
    }
}

impl PollOptions {
    /// Poll every second (or as the server says), with no timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// The wait between two reads when the server sends no `openai-poll-after-ms`.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self.interval_given = true;
        self
    }

    /// Gives up with [`Error::Timeout`] after this long in all.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Waits with this function instead of `tokio::time::sleep` (for tests, or another
    /// runtime's timer).
    pub fn sleeper(
        mut self,
        sleeper: impl Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync + 'static,
    ) -> Self {
        self.sleeper = Some(Arc::new(sleeper));
        self
    }

    /// How many files `upload_and_poll` of file batches uploads at once (default 5, at
    /// least 1).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n.max(1);
        self
    }

    async fn sleep(&self, d: Duration) {
        match &self.sleeper {
            Some(s) => s(d).await,
            None => tokio::time::sleep(d).await,
        }
    }
}

/// The longest wait an `openai-poll-after-ms` header can ask for: a larger value is cut to
/// it, so a broken or hostile server cannot park a poll helper for days.
pub const MAX_POLL_AFTER: Duration = Duration::from_secs(60);

/// The `openai-poll-after-ms` header, at most [`MAX_POLL_AFTER`]; a value that is not a
/// whole number of milliseconds is ignored (the interval of the options applies).
pub(crate) fn poll_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let ms: u64 = headers
        .get("openai-poll-after-ms")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_millis(ms).min(MAX_POLL_AFTER))
}

pub(crate) fn status_of(object: &Value) -> &str {
    object.get("status").and_then(Value::as_str).unwrap_or("")
}

/// One answer of a poll helper: the object, with the answer's status and headers.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) object: Value,
    pub(crate) metadata: ResponseMetadata,
}

impl Answer {
    /// The answer's `openai-poll-after-ms`.
    fn after(&self) -> Option<Duration> {
        poll_after(self.metadata.headers())
    }
}

/// A JSON request with the poll-helper headers (and `extra_header`, such as the Assistants
/// beta header); returns the decoded answer with its metadata.
pub(crate) async fn call(
    client: &Client,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
    options: &PollOptions,
    extra_header: Option<(&str, &str)>,
) -> Result<Answer, Error> {
    let mut request = client
        .request(method, path)?
        .header("X-Stainless-Poll-Helper", "true");
    if let Some((name, value)) = extra_header {
        request = request.header(name, value);
    }
    if options.interval_given {
        request = request.header(
            "X-Stainless-Custom-Poll-Interval",
            options.interval.as_millis().to_string(),
        );
    }
    let response = match body {
        Some(body) => client.send(request.json(body)).await?,
        // A read of what the helper created: the extra body fields went with the creation
        // (helpers that only read refuse them first, `Config::refuse_body_extras`).
        None => client.send_followup(request).await?,
    };
    let metadata = ResponseMetadata::of(&response);
    let object = crate::error::decode_json::<Value>(response)
        .await?
        .into_inner();
    Ok(Answer { object, metadata })
}

/// The poll loop: `first` is the answer that created the object (its
/// `openai-poll-after-ms` says when to read again); `read` reads it again. The last
/// answer, whose object's status is final.
pub(crate) async fn poll_until<F, Fut>(
    options: &PollOptions,
    first: Answer,
    keep_polling: fn(&Value) -> bool,
    mut read: F,
) -> Result<Answer, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Answer, Error>>,
{
    let start = tokio::time::Instant::now();
    let mut answer = first;
    let mut reads = 0u64;
    while keep_polling(&answer.object) {
        let wait = answer.after().unwrap_or(options.interval);
        if let Some(timeout) = options.timeout
            && start.elapsed() + wait > timeout
        {
            return Err(Error::Timeout {
                    message: format!(
                        "polling gave up after {reads} reads: the object was still `{}` and the next wait ({} ms) would pass the timeout of {} ms",
                        status_of(&answer.object),
                        wait.as_millis(),
                        timeout.as_millis()
                    ),
                });
        }
        options.sleep(wait).await;
        answer = read().await?;
        reads += 1;
    }
    Ok(answer)
}

/// Runs `fut` under the overall timeout of `options`.
pub(crate) async fn with_timeout<T>(
    options: &PollOptions,
    fut: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match options.timeout {
        None => fut.await,
        Some(t) => match tokio::time::timeout(t, fut).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout {
                message: format!("the poll helper did not finish within {} ms", t.as_millis()),
            }),
        },
    }
}
