//! The `*_and_poll` helpers (see the assistants module docs, "Polling").

use serde::Serialize;
use serde_json::Value;

use super::handler::{Run, Snapshot};
use super::{Assistants, BETA_HEADER};
use crate::polling::PollOptions;
use crate::polling::{self, poll_until, status_of, with_timeout, Answer};
use crate::types;
use crate::{Client, Error};

fn run_keeps_polling(run: &Value) -> bool {
    matches!(status_of(run), "queued" | "in_progress" | "cancelling")
}

#[cfg(feature = "vector-stores")]
fn in_progress(object: &Value) -> bool {
    status_of(object) == "in_progress"
}

fn id_of(object: &Value, what: &str) -> Result<String, Error> {
    object
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::Decode {
            what: what.into(),
            path: ".id".into(),
            message: "no string `id`".into(),
            snippet: crate::error::snippet(object.to_string().as_bytes()),
        })
}

/// A JSON request with the Assistants beta header and the poll-helper headers; returns
/// the decoded answer with its metadata.
async fn call(
    client: &Client,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
    options: &PollOptions,
) -> Result<Answer, Error> {
    polling::call(client, method, path, body, options, Some(BETA_HEADER)).await
}

fn to_body<B: Serialize>(body: &B) -> Result<Value, Error> {
    serde_json::to_value(body)
        .map_err(|e| Error::InvalidRequest(format!("the request does not serialize: {e}")))
}

/// Reads `{collection}/{id}` again (the id of `first`, the object as created, named
/// `what` in errors) until `keep_polling` says its status is final.
async fn poll_object<T>(
    client: &Client,
    collection: &str,
    what: &str,
    first: Answer,
    keep_polling: fn(&Value) -> bool,
    options: &PollOptions,
) -> Result<Snapshot<T>, Error> {
    let id = id_of(&first.object, what)?;
    let path = format!("{collection}/{}", crate::path_segment("id", &id)?);
    poll_until(options, first, keep_polling, || {
        call(client, reqwest::Method::GET, &path, None, options)
    })
    .await
    .map(|last| Snapshot::new(last.object).with_metadata(last.metadata))
}

/// Creates an object (`POST {collection}` with `body`), then polls it with
/// [`poll_object`].
async fn create_and_poll<T>(
    client: &Client,
    collection: &str,
    what: &str,
    body: &Value,
    keep_polling: fn(&Value) -> bool,
    options: &PollOptions,
) -> Result<Snapshot<T>, Error> {
    let first = call(
        client,
        reqwest::Method::POST,
        collection,
        Some(body),
        options,
    )
    .await?;
    poll_object(client, collection, what, first, keep_polling, options).await
}

impl Assistants<'_> {
    async fn poll_run(
        &self,
        thread_id: &str,
        first: Answer,
        options: &PollOptions,
    ) -> Result<Run, Error> {
        let runs = super::thread_runs_path(thread_id)?;
        poll_object(
            self.client,
            &runs,
            "the run",
            first,
            run_keeps_polling,
            options,
        )
        .await
    }

    /// Reads run `run_id` until its status is final (see the [module docs](crate::assistants#polling)).
    pub async fn poll_run_until_final(
        &self,
        thread_id: &str,
        run_id: &str,
        options: &PollOptions,
    ) -> Result<Run, Error> {
        self.client
            .config()
            .refuse_body_extras("assistants().poll_run_until_final")?;
        with_timeout(options, async {
            let path = format!(
                "/threads/{}/runs/{}",
                crate::path_segment("thread_id", thread_id)?,
                crate::path_segment("run_id", run_id)?
            );
            let first = call(self.client, reqwest::Method::GET, &path, None, options).await?;
            self.poll_run(thread_id, first, options).await
        })
        .await
    }

    /// Creates a run (`POST /threads/{thread_id}/runs`) and polls it until its status is
    /// final: `requires_action`, `completed`, `failed`, ...
    ///
    /// ```no_run
    /// # async fn run(client: openai_sdk::Client) -> Result<(), openai_sdk::Error> {
    /// use std::time::Duration;
    /// use openai_sdk::polling::PollOptions;
    ///
    /// let request = serde_json::from_value(serde_json::json!({"assistant_id": "asst_123"})).unwrap();
    /// let options = PollOptions::new().interval(Duration::from_millis(500)).timeout(Duration::from_secs(120));
    /// let run = client.assistants().create_run_and_poll("thread_123", &request, &options).await?;
    /// println!("{:?}", run.status());
    /// # Ok(()) }
    /// ```
    pub async fn create_run_and_poll(
        &self,
        thread_id: &str,
        request: &types::CreateRunRequest,
        options: &PollOptions,
    ) -> Result<Run, Error> {
        with_timeout(options, async {
            let runs = super::thread_runs_path(thread_id)?;
            let body = to_body(request)?;
            create_and_poll(
                self.client,
                &runs,
                "the run",
                &body,
                run_keeps_polling,
                options,
            )
            .await
        })
        .await
    }

    /// Creates a thread and runs it (`POST /threads/runs`), then polls the run until its
    /// status is final.
    pub async fn create_thread_and_run_poll(
        &self,
        request: &types::CreateThreadAndRunRequest,
        options: &PollOptions,
    ) -> Result<Run, Error> {
        with_timeout(options, async {
            let body = to_body(request)?;
            let first = call(
                self.client,
                reqwest::Method::POST,
                "/threads/runs",
                Some(&body),
                options,
            )
            .await?;
            let thread_id = first
                .object
                .get("thread_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Error::Decode {
                    what: "the run".into(),
                    path: ".thread_id".into(),
                    message: "no string `thread_id`".into(),
                    snippet: crate::error::snippet(first.object.to_string().as_bytes()),
                })?;
            self.poll_run(&thread_id, first, options).await
        })
        .await
    }

    /// Submits tool outputs (`POST /threads/{thread_id}/runs/{run_id}/submit_tool_outputs`),
    /// then polls the run until its status is final.
    pub async fn submit_tool_outputs_and_poll(
        &self,
        thread_id: &str,
        run_id: &str,
        request: &types::SubmitToolOutputsRunRequest,
        options: &PollOptions,
    ) -> Result<Run, Error> {
        with_timeout(options, async {
            let body = to_body(request)?;
            let path = super::submit_path(thread_id, run_id)?;
            let first = call(
                self.client,
                reqwest::Method::POST,
                &path,
                Some(&body),
                options,
            )
            .await?;
            self.poll_run(thread_id, first, options).await
        })
        .await
    }
}

/// The vector-store polling helpers of a [`Client`]: `client.vector_store_polling()`
/// (features `assistants` and `vector-stores`; the uploads also need `files`).
#[cfg(feature = "vector-stores")]
#[derive(Clone, Copy, Debug)]
pub struct VectorStorePolling<'a> {
    client: &'a Client,
}

#[cfg(feature = "vector-stores")]
impl Client {
    /// The vector store file and file batch `*_and_poll` helpers.
    pub fn vector_store_polling(&self) -> VectorStorePolling<'_> {
        VectorStorePolling { client: self }
    }
}

#[cfg(feature = "vector-stores")]
impl VectorStorePolling<'_> {
    /// Adds a file to a vector store (`POST /vector_stores/{id}/files`) and polls it until
    /// it is no longer `in_progress`.
    pub async fn create_file_and_poll(
        &self,
        vector_store_id: &str,
        request: &types::CreateVectorStoreFileRequest,
        options: &PollOptions,
    ) -> Result<Snapshot<types::VectorStoreFileObject>, Error> {
        with_timeout(options, async {
            let files = format!(
                "/vector_stores/{}/files",
                crate::path_segment("vector_store_id", vector_store_id)?
            );
            let body = to_body(request)?;
            create_and_poll(
                self.client,
                &files,
                "the vector store file",
                &body,
                in_progress,
                options,
            )
            .await
        })
        .await
    }

    /// Creates a file batch (`POST /vector_stores/{id}/file_batches`) and polls it until
    /// it is no longer `in_progress`.
    pub async fn create_file_batch_and_poll(
        &self,
        vector_store_id: &str,
        request: &types::CreateVectorStoreFileBatchRequest,
        options: &PollOptions,
    ) -> Result<Snapshot<types::VectorStoreFileBatchObject>, Error> {
        with_timeout(
            options,
            self.batch_and_poll(vector_store_id, to_body(request), options),
        )
        .await
    }

    /// Reads file `file_id` of a vector store
    /// (`GET /vector_stores/{vector_store_id}/files/{file_id}`) until it is no longer
    /// `in_progress` (Python: `vector_stores.files.poll`).
    pub async fn poll_file(
        &self,
        vector_store_id: &str,
        file_id: &str,
        options: &PollOptions,
    ) -> Result<Snapshot<types::VectorStoreFileObject>, Error> {
        let files = format!(
            "/vector_stores/{}/files",
            crate::path_segment("vector_store_id", vector_store_id)?
        );
        self.poll_existing(&files, file_id, "the vector store file", options)
            .await
    }

    /// Reads file batch `batch_id` of a vector store
    /// (`GET /vector_stores/{vector_store_id}/file_batches/{batch_id}`) until it is no longer
    /// `in_progress` (Python: `vector_stores.file_batches.poll`).
    pub async fn poll_file_batch(
        &self,
        vector_store_id: &str,
        batch_id: &str,
        options: &PollOptions,
    ) -> Result<Snapshot<types::VectorStoreFileBatchObject>, Error> {
        let batches = format!(
            "/vector_stores/{}/file_batches",
            crate::path_segment("vector_store_id", vector_store_id)?
        );
        self.poll_existing(&batches, batch_id, "the file batch", options)
            .await
    }

    async fn poll_existing<T>(
        &self,
        collection: &str,
        id: &str,
        what: &str,
        options: &PollOptions,
    ) -> Result<Snapshot<T>, Error> {
        self.client.config().refuse_body_extras(what)?;
        with_timeout(options, async {
            let path = format!("{collection}/{}", crate::path_segment("id", id)?);
            let first = call(self.client, reqwest::Method::GET, &path, None, options).await?;
            poll_object(self.client, collection, what, first, in_progress, options).await
        })
        .await
    }

    async fn batch_and_poll(
        &self,
        vector_store_id: &str,
        body: Result<Value, Error>,
        options: &PollOptions,
    ) -> Result<Snapshot<types::VectorStoreFileBatchObject>, Error> {
        let batches = format!(
            "/vector_stores/{}/file_batches",
            crate::path_segment("vector_store_id", vector_store_id)?
        );
        create_and_poll(
            self.client,
            &batches,
            "the file batch",
            &body?,
            in_progress,
            options,
        )
        .await
    }

    /// Uploads a file (`POST /files`, purpose `assistants`), adds it to the vector store
    /// and polls it until it is no longer `in_progress`.
    #[cfg(feature = "files")]
    pub async fn upload_file_and_poll(
        &self,
        vector_store_id: &str,
        file: crate::multipart::FilePart,
        options: &PollOptions,
    ) -> Result<Snapshot<types::VectorStoreFileObject>, Error> {
        with_timeout(options, async {
            // Checked before the upload: a bad id must not leave an orphan file behind.
            crate::path_segment("vector_store_id", vector_store_id)?;
            let uploaded = self.upload(file).await?;
            let request = serde_json::json!({"file_id": uploaded});
            let request: types::CreateVectorStoreFileRequest = serde_json::from_value(request)
                .map_err(|e| {
                    Error::InvalidRequest(format!("building the vector store file request: {e}"))
                })?;
            // The overall timeout is already running: poll without a second one.
            let inner = PollOptions {
                timeout: None,
                ..options.clone()
            };
            self.create_file_and_poll(vector_store_id, &request, &inner)
                .await
        })
        .await
    }

    /// Uploads a file (`POST /files`, purpose `assistants`) and adds it to the vector store,
    /// without waiting for it to be processed (Python: `vector_stores.files.upload`; see
    /// [`upload_file_and_poll`](Self::upload_file_and_poll) to wait).
    #[cfg(feature = "files")]
    pub async fn upload_file(
        &self,
        vector_store_id: &str,
        file: crate::multipart::FilePart,
    ) -> Result<Snapshot<types::VectorStoreFileObject>, Error> {
        // Checked before the upload: a bad id must not leave an orphan file behind.
        let files = format!(
            "/vector_stores/{}/files",
            crate::path_segment("vector_store_id", vector_store_id)?
        );
        let uploaded = self.upload(file).await?;
        let body = serde_json::json!({"file_id": uploaded});
        let request = self
            .client
            .request(reqwest::Method::POST, &files)?
            .header(BETA_HEADER.0, BETA_HEADER.1)
            .json(&body);
        let response = self.client.send(request).await?;
        let metadata = crate::ResponseMetadata::of(&response);
        Ok(Snapshot::new(
            crate::error::decode_json::<Value>(response)
                .await?
                .into_inner(),
        )
        .with_metadata(metadata))
    }

    #[cfg(feature = "files")]
    async fn upload(&self, file: crate::multipart::FilePart) -> Result<String, Error> {
        let uploaded = self
            .client
            .create_file(&types::CreateFileRequest {
                file,
                purpose: types::CreateFileRequestPurpose::Assistants,
                expires_after: None,
                extra: Default::default(),
            })
            .await?;
        Ok(uploaded.into_inner().id)
    }

    /// Uploads `files` (at most [`PollOptions::max_concurrency`] at once; the first failed
    /// upload stops the others), creates a file batch of them and of `file_ids` (files
    /// already uploaded), and polls it until it is no longer `in_progress`.
    #[cfg(feature = "files")]
    pub async fn upload_file_batch_and_poll(
        &self,
        vector_store_id: &str,
        files: Vec<crate::multipart::FilePart>,
        file_ids: Vec<String>,
        options: &PollOptions,
    ) -> Result<Snapshot<types::VectorStoreFileBatchObject>, Error> {
        use futures::{StreamExt, TryStreamExt};
        with_timeout(options, async {
            if files.is_empty() && file_ids.is_empty() {
                return Err(Error::InvalidRequest("no files to add to the batch".into()));
            }
            crate::path_segment("vector_store_id", vector_store_id)?;
            let uploaded: Vec<String> =
                futures::stream::iter(files.into_iter().map(|f| self.upload(f)))
                    .buffered(options.max_concurrency)
                    .try_collect()
                    .await?;
            let mut ids = file_ids;
            ids.extend(uploaded);
            self.batch_and_poll(
                vector_store_id,
                Ok(serde_json::json!({"file_ids": ids})),
                options,
            )
            .await
        })
        .await
    }
}
