//! Multipart uploads: [`FilePart`] and the operations whose body is `multipart/form-data`.
//!
//! The generated request types (such as [`types::CreateFileRequest`](crate::types)) hold a
//! [`FilePart`] wherever the API takes a file. A part comes from bytes, a path (streamed,
//! not read into memory) or any async reader, and its content type is guessed from the
//! file name unless set.
//!
//! Non-file fields are encoded the way the official SDKs do: scalars as text, lists as
//! repeated `name[]` fields, objects in bracket notation (`expires_after[anchor]`).

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncRead;

// Sending a form: only the API groups with multipart operations (`operations.rs`) compile it.
#[cfg(sends_forms)]
use crate::{Client, Error, ResponseValue};
#[cfg(sends_forms)]
use reqwest::multipart::{Form, Part};
#[cfg(sends_forms)]
use serde::de::DeserializeOwned;
#[cfg(sends_forms)]
use serde_json::Value;

type Reader = Pin<Box<dyn AsyncRead + Send + Sync>>;

#[derive(Clone)]
enum Source {
    Bytes(Bytes),
    Path(PathBuf),
    /// Readable once; a retry of a request built from it fails with a clear error.
    Reader(Arc<Mutex<Option<Reader>>>),
}

/// A file sent in a multipart body.
///
/// ```
/// use openai_sdk::multipart::FilePart;
/// let part = FilePart::bytes("notes.jsonl", b"{\"a\":1}\n".to_vec());
/// assert_eq!(part.file_name(), "notes.jsonl");
/// assert_eq!(part.mime_type(), "application/jsonl");
/// let audio = FilePart::path("speech.mp3");
/// assert_eq!(audio.mime_type(), "audio/mpeg");
/// ```
#[derive(Clone)]
pub struct FilePart {
    file_name: String,
    content_type: Option<String>,
    source: Source,
}

impl FilePart {
    /// A file from bytes in memory.
    pub fn bytes(file_name: impl Into<String>, data: impl Into<Bytes>) -> Self {
        FilePart {
            file_name: file_name.into(),
            content_type: None,
            source: Source::Bytes(data.into()),
        }
    }

    /// A file on disk, streamed when the request is sent. Its name is the path's last part.
    pub fn path(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_path_buf();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_owned());
        FilePart {
            file_name,
            content_type: None,
            source: Source::Path(path),
        }
    }

    /// A file read from an async reader, such as a network stream. It can be sent once.
    pub fn reader(
        file_name: impl Into<String>,
        reader: impl AsyncRead + Send + Sync + 'static,
    ) -> Self {
        FilePart {
            file_name: file_name.into(),
            content_type: None,
            source: Source::Reader(Arc::new(Mutex::new(Some(Box::pin(reader))))),
        }
    }

    /// Sets the content type instead of guessing it from the name.
    #[must_use]
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Sets the file name sent to the server.
    #[must_use]
    pub fn with_file_name(mut self, file_name: impl Into<String>) -> Self {
        self.file_name = file_name.into();
        self
    }

    /// The file name sent to the server.
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The content type sent: the one set, or a guess from the file name.
    pub fn mime_type(&self) -> String {
        if let Some(ct) = &self.content_type {
            return ct.clone();
        }
        let ext = self
            .file_name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref() {
            // Not in every mime table, and the API cares about them.
            Some("jsonl") => "application/jsonl".to_owned(),
            Some("mpga") => "audio/mpeg".to_owned(),
            Some("m4a") => "audio/mp4".to_owned(),
            _ => mime_guess::from_path(&self.file_name)
                .first_or_octet_stream()
                .essence_str()
                .to_owned(),
        }
    }

    #[cfg(sends_forms)]
    async fn into_part(self) -> Result<Part, Error> {
        let mime = self.mime_type();
        let part = match self.source {
            Source::Bytes(b) => {
                Part::stream_with_length(reqwest::Body::from(b.clone()), b.len() as u64)
            }
            Source::Path(p) => {
                let file = tokio::fs::File::open(&p).await.map_err(|e| {
                    Error::InvalidRequest(format!("cannot open {} for upload: {e}", p.display()))
                })?;
                let len = file.metadata().await.map(|m| m.len()).ok();
                let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
                match len {
                    Some(n) => Part::stream_with_length(body, n),
                    None => Part::stream(body),
                }
            }
            Source::Reader(r) => {
                let reader = r
                    .lock()
                    .map_err(|_| Error::InvalidRequest("file reader lock poisoned".into()))?
                    .take()
                    .ok_or_else(|| {
                        Error::InvalidRequest(format!(
                            "the reader of {} was already sent; a reader can be uploaded once \
                             (use FilePart::path or FilePart::bytes to allow retries)",
                            self.file_name
                        ))
                    })?;
                Part::stream(reqwest::Body::wrap_stream(
                    tokio_util::io::ReaderStream::new(reader),
                ))
            }
        };
        part.file_name(self.file_name)
            .mime_str(&mime)
            .map_err(|e| Error::InvalidRequest(format!("invalid content type {mime:?}: {e}")))
    }
}

impl fmt::Debug for FilePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Bytes(b) => format!("{} bytes", b.len()),
            Source::Path(p) => format!("path {}", p.display()),
            Source::Reader(_) => "reader".to_owned(),
        };
        f.debug_struct("FilePart")
            .field("file_name", &self.file_name)
            .field("content_type", &self.mime_type())
            .field("source", &source)
            .finish()
    }
}

impl PartialEq for FilePart {
    fn eq(&self, other: &Self) -> bool {
        self.file_name == other.file_name
            && self.content_type == other.content_type
            && match (&self.source, &other.source) {
                (Source::Bytes(a), Source::Bytes(b)) => a == b,
                (Source::Path(a), Source::Path(b)) => a == b,
                (Source::Reader(a), Source::Reader(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

thread_local! {
    /// Parts met while serializing a request for a multipart body (see `Serialize`).
    static COLLECTING: RefCell<Option<Vec<FilePart>>> = const { RefCell::new(None) };
}

const MARKER: &str = "\u{0}openai-sdk-file-part:";

/// Outside a multipart encoding a part serializes as its file name (for logs). While the
/// SDK encodes a form, it serializes as a marker that the encoder swaps for the file.
impl Serialize for FilePart {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let index = COLLECTING.with(|c| {
            c.borrow_mut().as_mut().map(|parts| {
                parts.push(self.clone());
                parts.len() - 1
            })
        });
        match index {
            Some(i) => s.serialize_str(&format!("{MARKER}{i}")),
            None => s.serialize_str(&self.file_name),
        }
    }
}

/// Request types are deserializable (for logging and replay); a part read back holds its
/// file name and no content.
impl<'de> Deserialize<'de> for FilePart {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(FilePart::bytes(name, Bytes::new()))
    }
}

#[cfg(sends_forms)]
/// How nested objects are written into the form.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(not(feature = "full"), allow(dead_code))] // used by some API groups only
pub(crate) enum Objects {
    /// `key[sub]=value`, as the official SDKs do.
    Brackets,
    /// `key=<the object as JSON>`, for the endpoints that take JSON in a field.
    #[cfg_attr(not(feature = "realtime"), allow(dead_code))]
    Json,
}

/// Encodes a request type into a multipart form.
#[cfg(test)]
#[cfg(sends_forms)]
pub(crate) async fn to_form<T: Serialize>(body: &T, objects: Objects) -> Result<Form, Error> {
    to_form_with(body, objects, None).await
}

#[cfg(sends_forms)]
/// [`to_form`] with extra top-level fields (the request options' body fields), which
/// replace the body's own fields of the same name.
pub(crate) async fn to_form_with<T: Serialize>(
    body: &T,
    objects: Objects,
    extra: Option<&crate::client::Extras>,
) -> Result<Form, Error> {
    COLLECTING.with(|c| *c.borrow_mut() = Some(Vec::new()));
    let value = serde_json::to_value(body);
    let parts = COLLECTING
        .with(|c| c.borrow_mut().take())
        .unwrap_or_default();
    let value = value.map_err(|e| Error::InvalidRequest(format!("encoding the form: {e}")))?;
    let Value::Object(mut map) = value else {
        return Err(Error::InvalidRequest(
            "a multipart body must be an object".into(),
        ));
    };
    if let Some(extra) = extra {
        extra.merge_into(&mut map);
    }
    let mut fields = Vec::new();
    for (k, v) in map {
        flatten(&k, v, objects, &mut fields);
    }
    let mut parts: Vec<Option<FilePart>> = parts.into_iter().map(Some).collect();
    let mut form = Form::new();
    for (name, value) in fields {
        match value
            .strip_prefix(MARKER)
            .and_then(|i| i.parse::<usize>().ok())
        {
            Some(i) => {
                let part = parts.get_mut(i).and_then(Option::take).ok_or_else(|| {
                    Error::InvalidRequest(format!("file part {i} of field {name} missing"))
                })?;
                form = form.part(name, part.into_part().await?);
            }
            None => form = form.text(name, value),
        }
    }
    Ok(form)
}

#[cfg(sends_forms)]
fn flatten(key: &str, v: Value, objects: Objects, out: &mut Vec<(String, String)>) {
    match v {
        Value::Null => {}
        Value::String(s) => out.push((key.to_owned(), s)),
        Value::Bool(b) => out.push((key.to_owned(), b.to_string())),
        Value::Number(n) => out.push((key.to_owned(), n.to_string())),
        Value::Array(items) => {
            let k = format!("{key}[]");
            for item in items {
                match (objects, &item) {
                    (Objects::Json, Value::Object(_) | Value::Array(_)) => {
                        out.push((k.clone(), item.to_string()))
                    }
                    _ => flatten(&k, item, objects, out),
                }
            }
        }
        Value::Object(m) => match objects {
            Objects::Json => out.push((key.to_owned(), Value::Object(m).to_string())),
            Objects::Brackets => {
                for (sub, x) in m {
                    flatten(&format!("{key}[{sub}]"), x, objects, out);
                }
            }
        },
    }
}

#[cfg(sends_forms)]
impl Client {
    /// Sends a multipart request, rebuilding the form for each retry (a file from bytes or
    /// a path can be sent again; a reader cannot, so that request is sent once).
    pub(crate) async fn send_form<T: Serialize + Sync>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &T,
        objects: Objects,
    ) -> Result<reqwest::Response, Error> {
        let first = self
            .build_form_request(&method, path, body, objects)
            .await?;
        let rebuild: crate::retry::Rebuild<'_> = Box::new(move || {
            let method = method.clone();
            Box::pin(async move {
                self.build_form_request(&method, path, body, objects)
                    .await
                    .ok()
            })
        });
        let c = self.config();
        let resp = crate::retry::execute_rebuilt(
            self.http(),
            &c.retry,
            c.on_retry.as_ref(),
            first,
            rebuild,
        )
        .await
        .map_err(Error::from_reqwest)?;
        if resp.status().is_client_error() || resp.status().is_server_error() {
            return Err(crate::error::from_response(resp).await);
        }
        // Read whole by the callers (JSON or text): the client's body cap.
        Ok(crate::client::limit_whole_body(
            resp,
            self.config().max_response_bytes,
        ))
    }

    async fn build_form_request<T: Serialize + Sync>(
        &self,
        method: &reqwest::Method,
        path: &str,
        body: &T,
        objects: Objects,
    ) -> Result<reqwest::Request, Error> {
        let form = to_form_with(body, objects, Some(&self.config().extras)).await?;
        let mut r = self
            .request(method.clone(), path)?
            .multipart(form)
            .build()
            .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        self.config().prepare(&mut r).await?;
        Ok(r)
    }

    /// Sends a multipart request and decodes a JSON answer.
    #[cfg_attr(not(feature = "full"), allow(dead_code))] // used by some API groups only
    pub(crate) async fn send_multipart<T: Serialize + Sync, R: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &T,
        objects: Objects,
    ) -> Result<ResponseValue<R>, Error> {
        let resp = self.send_form(method, path, body, objects).await?;
        crate::error::decode_json(resp).await
    }

    /// Sends a multipart request and returns the answer's text.
    #[cfg_attr(not(feature = "realtime"), allow(dead_code))]
    pub(crate) async fn send_multipart_text<T: Serialize + Sync>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &T,
        objects: Objects,
    ) -> Result<ResponseValue<String>, Error> {
        let resp = self.send_form(method, path, body, objects).await?;
        crate::error::read_text(resp).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Req {
        file: FilePart,
        purpose: &'static str,
        expires_after: Option<Value>,
        include: Vec<&'static str>,
        images: Vec<FilePart>,
        n: u32,
    }

    #[test]
    fn flattens_like_the_official_sdks() {
        let mut out = Vec::new();
        let v = serde_json::json!({"expires_after": {"anchor": "created_at", "seconds": 3600}, "include": ["a", "b"], "x": null, "t": true});
        let Value::Object(m) = v else { unreachable!() };
        for (k, v) in m {
            flatten(&k, v, Objects::Brackets, &mut out);
        }
        out.sort();
        assert_eq!(
            out,
            vec![
                ("expires_after[anchor]".to_owned(), "created_at".to_owned()),
                ("expires_after[seconds]".to_owned(), "3600".to_owned()),
                ("include[]".to_owned(), "a".to_owned()),
                ("include[]".to_owned(), "b".to_owned()),
                ("t".to_owned(), "true".to_owned()),
            ]
        );
        let mut json = Vec::new();
        flatten(
            "session",
            serde_json::json!({"type": "realtime"}),
            Objects::Json,
            &mut json,
        );
        assert_eq!(
            json,
            vec![("session".to_owned(), r#"{"type":"realtime"}"#.to_owned())]
        );
    }

    #[tokio::test]
    async fn file_parts_become_parts_and_serialize_as_names_elsewhere() {
        let req = Req {
            file: FilePart::bytes("a.jsonl", &b"{}\n"[..]),
            purpose: "batch",
            expires_after: None,
            include: vec![],
            images: vec![
                FilePart::bytes("x.png", &b"png"[..]),
                FilePart::bytes("y.png", &b"png"[..]),
            ],
            n: 2,
        };
        let form = to_form(&req, Objects::Brackets).await.unwrap();
        let boundary = form.boundary().to_owned();
        // Outside an encoding, a part is its file name.
        let plain = serde_json::to_value(&req).unwrap();
        assert_eq!(plain["file"], "a.jsonl");
        assert_eq!(plain["images"][1], "y.png");
        assert!(!boundary.is_empty());
    }

    #[test]
    fn guesses_content_types() {
        assert_eq!(
            FilePart::bytes("a.png", Bytes::new()).mime_type(),
            "image/png"
        );
        assert_eq!(
            FilePart::bytes("a.wav", Bytes::new()).mime_type(),
            "audio/wav"
        );
        assert_eq!(
            FilePart::bytes("noext", Bytes::new()).mime_type(),
            "application/octet-stream"
        );
        assert_eq!(
            FilePart::bytes("a.bin", Bytes::new())
                .with_content_type("audio/ogg")
                .mime_type(),
            "audio/ogg"
        );
    }
}
