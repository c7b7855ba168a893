//! Helpers for the Files API (feature `files`): waiting until an uploaded file is processed.

use std::time::Duration;

use serde_json::Value;

use crate::polling::{self, poll_until, status_of, with_timeout, PollOptions};
use crate::types;
use crate::{Client, Error, ResponseValue};

/// The wait between two reads when neither the options nor the server say (the Python
/// SDK's `poll_interval` default).
pub const DEFAULT_PROCESSING_INTERVAL: Duration = Duration::from_secs(5);
/// How long [`Files::wait_for_processing`] waits when the options set no timeout (the
/// Python SDK's `max_wait_seconds` default).
pub const DEFAULT_PROCESSING_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The Files helpers of a [`Client`]; the endpoints themselves are the client's generated
/// methods (`create_file`, `retrieve_file`, ...).
#[derive(Clone, Copy, Debug)]
pub struct Files<'a> {
    client: &'a Client,
}

impl Client {
    /// The Files helpers.
    pub fn files(&self) -> Files<'_> {
        Files { client: self }
    }
}

fn processing(file: &Value) -> bool {
    !matches!(status_of(file), "processed" | "error" | "deleted")
}

impl Files<'_> {
    /// Reads file `file_id` until its status is `processed`, `error` or `deleted`
    /// (Python: `client.files.wait_for_processing`), and returns it. A file that failed
    /// is returned too: check `status` and `status_details`. It comes as the last read's
    /// [`ResponseValue`] (derefs to the file): its status and headers, and with
    /// [`ResponseExt`](crate::ResponseExt) its request id and rate limits.
    ///
    /// Waits the server's `openai-poll-after-ms` when it sends one, else the interval of
    /// `options`, or 5 s when it sets none; gives up with [`Error::Timeout`] after the
    /// timeout of `options`, or 30 minutes when it sets none.
    ///
    /// ```no_run
    /// # async fn run(client: openai_sdk::Client) -> Result<(), openai_sdk::Error> {
    /// use openai_sdk::polling::PollOptions;
    ///
    /// let file = client.files().wait_for_processing("file-abc123", &PollOptions::new()).await?;
    /// println!("{}: {:?}", file.id, file.status);
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_processing(
        &self,
        file_id: &str,
        options: &PollOptions,
    ) -> Result<ResponseValue<types::OpenAiFile>, Error> {
        let mut options = options.clone();
        if !options.interval_given {
            // Not `interval()`: the server is told of intervals the caller chose only.
            options.interval = DEFAULT_PROCESSING_INTERVAL;
        }
        options.timeout.get_or_insert(DEFAULT_PROCESSING_TIMEOUT);
        self.client
            .config()
            .refuse_body_extras("files().wait_for_processing")?;
        let path = format!("/files/{}", crate::path_segment("file_id", file_id)?);
        let read = || {
            polling::call(
                self.client,
                reqwest::Method::GET,
                &path,
                None,
                &options,
                None,
            )
        };
        let last = with_timeout(&options, async {
            let first = read().await?;
            poll_until(&options, first, processing, read).await
        })
        .await?;
        let file = crate::error::decode_value(&last.object, "the file (OpenAiFile)")?;
        Ok(last.metadata.into_value(file))
    }
}
