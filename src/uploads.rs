//! Helpers for the Uploads API (feature `uploads`): a large file in parts.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::stream::{FuturesOrdered, StreamExt};
use tokio::io::AsyncReadExt;

use crate::multipart::FilePart;
use crate::types;
use crate::{Client, Error};

/// The default part size of [`Uploads::upload_file_chunked`]: 64 MiB, as in the Python SDK
/// (the API takes parts of up to 64 MB).
pub const DEFAULT_PART_SIZE: usize = 64 * 1024 * 1024;

/// What [`Uploads::upload_file_chunked`] sends: a file on disk (read one part at a time)
/// or bytes in memory.
#[derive(Clone, Debug)]
pub struct ChunkedUpload {
    source: Source,
    filename: Option<String>,
    mime_type: String,
    purpose: types::CreateUploadRequestPurpose,
    part_size: usize,
    md5: Option<String>,
    max_concurrency: usize,
}

#[derive(Clone, Debug)]
enum Source {
    Path(PathBuf),
    Bytes(Bytes),
}

impl ChunkedUpload {
    /// The file at `path`, named after its last component unless
    /// [`filename`](Self::filename) says otherwise. Its size is read when the upload starts.
    pub fn path(
        path: impl AsRef<Path>,
        mime_type: impl Into<String>,
        purpose: types::CreateUploadRequestPurpose,
    ) -> Self {
        Self::new(
            Source::Path(path.as_ref().to_owned()),
            None,
            mime_type.into(),
            purpose,
        )
    }

    /// Bytes in memory, uploaded as `filename`.
    pub fn bytes(
        filename: impl Into<String>,
        data: impl Into<Bytes>,
        mime_type: impl Into<String>,
        purpose: types::CreateUploadRequestPurpose,
    ) -> Self {
        Self::new(
            Source::Bytes(data.into()),
            Some(filename.into()),
            mime_type.into(),
            purpose,
        )
    }

    fn new(
        source: Source,
        filename: Option<String>,
        mime_type: String,
        purpose: types::CreateUploadRequestPurpose,
    ) -> Self {
        ChunkedUpload {
            source,
            filename,
            mime_type,
            purpose,
            part_size: DEFAULT_PART_SIZE,
            md5: None,
            max_concurrency: 1,
        }
    }

    /// The file name the upload gets.
    pub fn filename(mut self, filename: impl Into<String>) -> Self {
        self.filename = Some(filename.into());
        self
    }

    /// The size of each part but the last (default [`DEFAULT_PART_SIZE`]; at least 1).
    /// One part is held in memory at a time.
    pub fn part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(1);
        self
    }

    /// How many parts are sent at once (default 1: one after the other, as the Python SDK
    /// does; at least 1). The API orders parts by the ids given on completion, so they may
    /// arrive in any order; memory holds up to this many parts.
    pub fn max_concurrency(mut self, parts: usize) -> Self {
        self.max_concurrency = parts.max(1);
        self
    }

    /// The MD5 checksum of the whole file (hex), for the API to check on completion.
    pub fn md5(mut self, md5: impl Into<String>) -> Self {
        self.md5 = Some(md5.into());
        self
    }
}

/// The Uploads helpers of a [`Client`]; the endpoints themselves are the client's methods
/// (`create_upload`, `add_upload_part`, `complete_upload`, `cancel_upload`).
#[derive(Clone, Copy, Debug)]
pub struct Uploads<'a> {
    client: &'a Client,
}

impl Client {
    /// The Uploads helpers.
    pub fn uploads(&self) -> Uploads<'_> {
        Uploads { client: self }
    }
}

impl Uploads<'_> {
    /// Uploads a file in parts (Python: `client.uploads.upload_file_chunked`): creates an
    /// upload of the file's size, adds its parts (one after the other, or
    /// [`max_concurrency`](ChunkedUpload::max_concurrency) at once), then completes it with
    /// their ids in the file's order, and returns the completed upload (its `file` is the
    /// new file).
    ///
    /// A file whose size changes while it is read is refused with
    /// [`Error::InvalidRequest`] before the upload is completed (the parts expire with the
    /// upload, after an hour).
    ///
    /// ```no_run
    /// # async fn run(client: openai_sdk::Client) -> Result<(), openai_sdk::Error> {
    /// use openai_sdk::types::CreateUploadRequestPurpose;
    /// use openai_sdk::uploads::ChunkedUpload;
    ///
    /// let upload = client
    ///     .uploads()
    ///     .upload_file_chunked(ChunkedUpload::path("paper.pdf", "application/pdf", CreateUploadRequestPurpose::Assistants))
    ///     .await?;
    /// println!("{}", upload.file.map(|f| f.id).unwrap_or_default());
    /// # Ok(()) }
    /// ```
    pub async fn upload_file_chunked(&self, upload: ChunkedUpload) -> Result<types::Upload, Error> {
        let ChunkedUpload {
            source,
            filename,
            mime_type,
            purpose,
            part_size,
            md5,
            max_concurrency,
        } = upload;
        let (filename, size, mut parts) = match source {
            Source::Bytes(data) => (
                filename.unwrap_or_default(),
                data.len() as u64,
                Parts::Memory(data),
            ),
            Source::Path(path) => {
                let file = tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| read_error(&path, e))?;
                let size = file
                    .metadata()
                    .await
                    .map_err(|e| read_error(&path, e))?
                    .len();
                let name = filename.unwrap_or_else(|| {
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                });
                (
                    name,
                    size,
                    Parts::File {
                        path,
                        file,
                        left: size,
                    },
                )
            }
        };
        let created = self
            .client
            .create_upload(&types::CreateUploadRequest {
                bytes: i64::try_from(size).map_err(|_| {
                    Error::InvalidRequest(format!("a file of {size} bytes is too large"))
                })?,
                expires_after: None,
                filename: filename.clone(),
                mime_type,
                purpose,
                extra: Default::default(),
            })
            .await?
            .into_inner();
        let id = created.id;

        // Parts are read in order, one at a time; at most `max_concurrency` are in flight
        // (and in memory). `FuturesOrdered` gives the ids in the parts' order whatever order
        // the answers come in; returning on the first error drops the other requests.
        let mut in_flight = FuturesOrdered::new();
        let mut part_ids = Vec::new();
        let mut sent = 0u64;
        let mut reading = true;
        loop {
            while reading && in_flight.len() < max_concurrency {
                let part = parts.next(part_size).await?;
                if part.is_empty() {
                    reading = false;
                    break;
                }
                sent += part.len() as u64;
                if sent > size {
                    return Err(changed(size, &format!("more than {size}"), &id));
                }
                in_flight.push_back(add_part(self.client, &id, &filename, part));
            }
            match in_flight.next().await {
                Some(result) => part_ids.push(result?),
                None => break,
            }
        }
        if sent != size {
            return Err(changed(size, &sent.to_string(), &id));
        }
        let completed = self
            .client
            .complete_upload(
                &id,
                &types::CompleteUploadRequest {
                    md5,
                    part_ids,
                    extra: Default::default(),
                },
            )
            .await?
            .into_inner();
        Ok(completed)
    }
}

async fn add_part(client: &Client, id: &str, filename: &str, part: Bytes) -> Result<String, Error> {
    let body = types::AddUploadPartRequest {
        data: FilePart::bytes(filename.to_owned(), part),
        extra: Default::default(),
    };
    Ok(client.add_upload_part(id, &body).await?.into_inner().id)
}

fn changed(size: u64, read: &str, id: &str) -> Error {
    Error::InvalidRequest(format!(
        "the file changed while it was uploaded: {size} bytes when the upload started, {read} read; upload {id} was not completed"
    ))
}

fn read_error(path: &Path, e: std::io::Error) -> Error {
    Error::InvalidRequest(format!("reading {}: {e}", path.display()))
}

/// Where the parts come from.
enum Parts {
    Memory(Bytes),
    /// `left`: the bytes of the file not read yet, as its size said (a capacity hint).
    File {
        path: PathBuf,
        file: tokio::fs::File,
        left: u64,
    },
}

impl Parts {
    /// The next part: up to `size` bytes, fewer only at the end, empty after it.
    async fn next(&mut self, size: usize) -> Result<Bytes, Error> {
        match self {
            Parts::Memory(data) => Ok(data.split_to(size.min(data.len()))),
            Parts::File { path, file, left } => {
                let hint = usize::try_from(*left).unwrap_or(usize::MAX).min(size);
                let mut buf = Vec::with_capacity(hint);
                (&mut *file)
                    .take(size as u64)
                    .read_to_end(&mut buf)
                    .await
                    .map_err(|e| read_error(path, e))?;
                *left = left.saturating_sub(buf.len() as u64);
                Ok(Bytes::from(buf))
            }
        }
    }
}
