//! Generic calls: any method and path, for endpoints newer than the spec and for
//! compatible providers' own endpoints.
//!
//! They go the way the generated operations go: the client's auth (the admin key for
//! admin paths, the API-key provider), default headers, [`RequestOptions`](crate::RequestOptions),
//! retries, timeouts, the response size cap, the `openai.request` tracing span, and the
//! typed errors ([`Error::Api`] for an error status, [`Error::Decode`] with the JSON path
//! when the answer does not fit `T`). They return a [`ResponseValue`], whose status and
//! headers are there as for a generated operation (see [`metadata`](crate::metadata)).
//!
//! `T` can be any `DeserializeOwned` type, or `serde_json::Value` for the untyped form.
//!
//! ```no_run
//! # async fn run(client: openai_sdk::Client) -> Result<(), openai_sdk::Error> {
//! use serde_json::{json, Value};
//!
//! #[derive(serde::Deserialize)]
//! struct Agent { id: String, name: String }
//!
//! // Typed:
//! let agent = client.get::<Agent>("/agents/agent_123").await?;
//! println!("{} ({})", agent.name, agent.id);
//! // Untyped:
//! let echoed = client.post::<_, Value>("/probe/echo", &json!({"hello": "world"})).await?;
//! println!("{}", echoed.into_inner());
//! # Ok(()) }
//! ```

use futures::FutureExt;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::pagination::{PageFuture, PageParts, Paginator};
use crate::streaming::EventStream;
use crate::{Client, Error, ResponseValue};

impl Client {
    /// `GET path` (relative to the base URL, with or without a query; a full `http(s)://`
    /// URL is used as it is), the answer decoded as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<ResponseValue<T>, Error> {
        self.call_json(Method::GET, path, None).await
    }

    /// `POST path` with `body` as JSON, the answer decoded as `T`
    /// (`client.post::<_, serde_json::Value>(..)` for the untyped form).
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<ResponseValue<T>, Error> {
        let body = to_json(body)?;
        self.call_json(Method::POST, path, Some(body)).await
    }

    /// `DELETE path`, the answer decoded as `T`.
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<ResponseValue<T>, Error> {
        self.call_json(Method::DELETE, path, None).await
    }

    /// Any method, with an optional JSON body, the answer decoded as `T`. An empty answer
    /// (`204`) decodes as JSON `null` (so `T` can be `()` or an `Option`).
    ///
    /// ```no_run
    /// # async fn run(client: openai_sdk::Client) -> Result<(), openai_sdk::Error> {
    /// let patched = client
    ///     .call::<serde_json::Value>(reqwest::Method::PATCH, "/agents/agent_123", Some(&serde_json::json!({"name": "new"})))
    ///     .await?;
    /// # let _ = patched; Ok(()) }
    /// ```
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<ResponseValue<T>, Error> {
        let body = body.map(to_json).transpose()?;
        self.call_json(method, path, body).await
    }

    /// Every item of a cursor-paginated list at `path` (`{"data": [...], "has_more": ...,
    /// "last_id": ...}`, the shape of every OpenAI list), fetched page by page as they are
    /// read, the next page asked with `after=<last_id or the last item's id>`. An item
    /// that does not fit `T` is [`Error::Decode`] at `data[i]...`.
    ///
    /// ```no_run
    /// # async fn run(client: openai_sdk::Client) -> Result<(), openai_sdk::Error> {
    /// let all = client
    ///     .get_paginated::<serde_json::Value>("/agents?limit=50")
    ///     .collect_all()
    ///     .await?;
    /// println!("{} agents", all.len());
    /// # Ok(()) }
    /// ```
    pub fn get_paginated<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
    ) -> Paginator<'_, T> {
        let path = path.to_owned();
        Paginator::new(move |cursor: Option<String>| {
            let path = path.clone();
            let page: PageFuture<'_, T> = async move {
                let mut url = self.url_of(&path)?;
                if let Some(after) = cursor {
                    let kept: Vec<(String, String)> = url
                        .query_pairs()
                        .filter(|(k, _)| k != "after")
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                    url.query_pairs_mut()
                        .clear()
                        .extend_pairs(kept)
                        .append_pair("after", &after);
                }
                let response = self
                    .send_generic(Method::GET, url, None, "application/json")
                    .await?;
                let bytes = response.bytes().await.map_err(Error::from_reqwest)?;
                decode_page::<T>(&bytes)
            }
            .boxed();
            page
        })
    }

    /// An event stream from any method and path (`Accept: text/event-stream`, an optional
    /// JSON body), each event's data decoded as `E` ([`EventStream`]: `data: [DONE]` ends
    /// it, an error event is [`Error::Api`], an event that does not fit `E` is
    /// [`Error::Decode`] with its number and JSON path). Use `serde_json::Value` for the
    /// untyped form.
    ///
    /// ```no_run
    /// # async fn run(client: openai_sdk::Client) -> Result<(), openai_sdk::Error> {
    /// use futures::StreamExt;
    /// let body = serde_json::json!({"model": "some-model", "input": "hi", "stream": true});
    /// let mut events = client
    ///     .stream_events::<serde_json::Value>(reqwest::Method::POST, "/new/streaming/endpoint", Some(&body))
    ///     .await?;
    /// println!("request id {:?}", events.request_id());
    /// while let Some(event) = events.next().await {
    ///     println!("{}", event?);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn stream_events<E: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<EventStream<E>, Error> {
        let body = body.map(to_json).transpose()?;
        let url = self.url_of(path)?;
        let response = self
            .send_generic(method, url, body, "text/event-stream")
            .await?;
        Ok(EventStream::new(response, "event"))
    }

    async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<ResponseValue<T>, Error> {
        let url = self.url_of(path)?;
        let response = self
            .send_generic(method, url, body, "application/json")
            .await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(Error::from_reqwest)?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &bytes
        };
        let what = crate::error::short_type_name::<T>();
        crate::error::decode_bytes::<T>(bytes, &what)
            .map(|value| ResponseValue::new(value, status, headers))
    }

    /// The URL of `path`: relative to the base URL, or a full URL as it is.
    fn url_of(&self, path: &str) -> Result<reqwest::Url, Error> {
        let full = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else if path.starts_with('/') {
            format!("{}{}", self.base_url(), path)
        } else {
            format!("{}/{}", self.base_url(), path)
        };
        reqwest::Url::parse(&full)
            .map_err(|e| Error::InvalidRequest(format!("the URL {full:?} does not parse: {e}")))
    }

    async fn send_generic(
        &self,
        method: Method,
        url: reqwest::Url,
        body: Option<Vec<u8>>,
        accept: &'static str,
    ) -> Result<reqwest::Response, Error> {
        let mut request = self
            .http()
            .request(method, url)
            .header(reqwest::header::ACCEPT, accept);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        self.send(request).await
    }
}

fn to_json<B: Serialize + ?Sized>(body: &B) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(body)
        .map_err(|e| Error::InvalidRequest(format!("the request body does not serialize: {e}")))
}

/// One page of a list: its items (decoded one by one, for the path of a failure), whether
/// more follow, and the cursor of the next page.
fn decode_page<T: DeserializeOwned>(bytes: &[u8]) -> Result<PageParts<T>, Error> {
    #[derive(serde::Deserialize)]
    struct Page {
        #[serde(default)]
        data: Vec<Box<serde_json::value::RawValue>>,
        #[serde(default)]
        has_more: bool,
        #[serde(default)]
        last_id: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct WithId {
        #[serde(default)]
        id: Option<serde_json::Value>,
    }
    let page: Page = crate::error::decode_bytes(bytes, "a list page")?;
    let what = crate::error::short_type_name::<T>();
    let mut items = Vec::with_capacity(page.data.len());
    for (i, raw) in page.data.iter().enumerate() {
        let item =
            crate::error::decode_bytes::<T>(raw.get().as_bytes(), &what).map_err(|e| match e {
                Error::Decode {
                    what,
                    path,
                    message,
                    snippet,
                } => Error::Decode {
                    what: format!("{what} (item {i} of a list page)"),
                    path: if path == "." {
                        format!("data[{i}]")
                    } else {
                        format!("data[{i}].{path}")
                    },
                    message,
                    snippet,
                },
                other => other,
            })?;
        items.push(item);
    }
    let cursor = page.last_id.or_else(|| {
        let last = page.data.last()?;
        match serde_json::from_str::<WithId>(last.get()).ok()?.id? {
            serde_json::Value::String(s) => Some(s),
            _ => None,
        }
    });
    Ok(PageParts {
        items,
        has_more: page.has_more,
        cursor,
    })
}
