//! Auto-pagination over every cursor-paginated list operation.
//!
//! Each generated list operation that takes an `after` cursor and answers a page with
//! `data` and `has_more` gets a companion `<operation>_paginated(...)` method (same
//! arguments, without `after`) that returns a [`Paginator`]. It is implemented once, here;
//! the generator only writes the small adapter per operation.
//!
//! ```no_run
//! # async fn run(client: openai_sdk::Client) -> Result<(), openai_sdk::Error> {
//! use futures::StreamExt;
//!
//! // Lazily, page by page:
//! let mut files = Box::pin(client.list_files_paginated(Some(100), None, None).into_stream());
//! while let Some(file) = files.next().await {
//!     println!("{}", file?.id);
//! }
//! // Or everything at once:
//! let all = client.list_files_paginated(None, None, None).collect_all().await?;
//! # let _ = all;
//! # Ok(()) }
//! ```

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;

use futures::stream::{self, Stream};
use serde::Serialize;

use crate::Error;

/// One page, as the adapter hands it over.
#[doc(hidden)]
pub struct PageParts<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// Whether the server has more after this page.
    pub has_more: bool,
    /// The cursor for the next page: the page's `last_id`, or the last item's `id`.
    pub cursor: Option<String>,
}

/// The future of one page.
#[doc(hidden)]
pub type PageFuture<'a, T> = Pin<Box<dyn Future<Output = Result<PageParts<T>, Error>> + Send + 'a>>;

type Fetch<'a, T> = Box<dyn FnMut(Option<String>) -> PageFuture<'a, T> + Send + 'a>;

/// The items of a list operation across all its pages. Pages are fetched lazily, one
/// request at a time, as the items are consumed.
#[must_use = "a paginator does nothing until it is streamed or collected"]
pub struct Paginator<'a, T> {
    fetch: Fetch<'a, T>,
}

impl<'a, T: Send + 'a> Paginator<'a, T> {
    /// Wraps a page fetcher: given the cursor (`None` for the first page), fetch that page.
    #[doc(hidden)]
    pub fn new<F>(fetch: F) -> Self
    where
        F: FnMut(Option<String>) -> PageFuture<'a, T> + Send + 'a,
    {
        Paginator {
            fetch: Box::new(fetch),
        }
    }

    /// A stream of every item, fetching the next page when the current one runs out. It
    /// ends after a page without `has_more`, an empty page, or a page whose cursor does not
    /// move (a server bug that would otherwise loop forever). An error ends the stream.
    pub fn into_stream(self) -> impl Stream<Item = Result<T, Error>> + Send + 'a {
        struct State<'a, T> {
            fetch: Fetch<'a, T>,
            buffer: VecDeque<T>,
            cursor: Option<String>,
            /// Every cursor followed: one that comes back is a cycle.
            seen: HashSet<String>,
            pages: u64,
            /// Given after the items of the page that revealed it.
            error: Option<Error>,
            done: bool,
        }
        let state = State {
            fetch: self.fetch,
            buffer: VecDeque::new(),
            cursor: None,
            seen: HashSet::new(),
            pages: 0,
            error: None,
            done: false,
        };
        stream::unfold(state, |mut st| async move {
            loop {
                if let Some(item) = st.buffer.pop_front() {
                    return Some((Ok(item), st));
                }
                if let Some(e) = st.error.take() {
                    return Some((Err(e), st));
                }
                if st.done {
                    return None;
                }
                match (st.fetch)(st.cursor.clone()).await {
                    Ok(page) => {
                        st.pages += 1;
                        let more = page.has_more && !page.items.is_empty();
                        st.buffer.extend(page.items);
                        match page.cursor {
                            Some(cursor) if more => {
                                if st.seen.insert(cursor.clone()) {
                                    st.cursor = Some(cursor);
                                } else {
                                    st.done = true;
                                    st.error = Some(Error::PaginationCycle {
                                        cursor,
                                        pages: st.pages,
                                    });
                                }
                            }
                            _ => st.done = true,
                        }
                    }
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                }
            }
        })
    }

    /// Every item of every page, in order.
    pub async fn collect_all(self) -> Result<Vec<T>, Error> {
        use futures::TryStreamExt;
        self.into_stream().try_collect().await
    }
}

/// The `id` of an item, for pages that carry no `last_id`.
#[doc(hidden)]
pub fn item_id<T: Serialize>(item: &T) -> Option<String> {
    match serde_json::to_value(item).ok()?.get("id")? {
        serde_json::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::sync::{Arc, Mutex};

    /// The cursors each page was fetched with.
    type Cursors = Arc<Mutex<Vec<Option<String>>>>;

    fn pages(spec: Vec<(Vec<u32>, bool)>) -> (Paginator<'static, u32>, Cursors) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let mut it = spec.into_iter();
        let p = Paginator::new(move |cursor: Option<String>| {
            log.lock().unwrap().push(cursor);
            let next = it.next();
            let page: PageFuture<'static, u32> = Box::pin(async move {
                let (items, has_more) =
                    next.ok_or_else(|| Error::InvalidRequest("no more pages scripted".into()))?;
                let cursor = items.last().map(|i| format!("id{i}"));
                Ok(PageParts {
                    items,
                    has_more,
                    cursor,
                })
            });
            page
        });
        (p, seen)
    }

    #[tokio::test]
    async fn walks_pages_with_the_cursor() {
        let (p, seen) = pages(vec![
            (vec![1, 2], true),
            (vec![3], true),
            (vec![4, 5], false),
        ]);
        assert_eq!(p.collect_all().await.unwrap(), vec![1, 2, 3, 4, 5]);
        assert_eq!(
            *seen.lock().unwrap(),
            vec![None, Some("id2".into()), Some("id3".into())]
        );
    }

    #[tokio::test]
    async fn is_lazy() {
        let (p, seen) = pages(vec![(vec![1, 2], true), (vec![3], false)]);
        let mut s = Box::pin(p.into_stream());
        assert_eq!(s.next().await.unwrap().unwrap(), 1);
        assert_eq!(
            seen.lock().unwrap().len(),
            1,
            "the second page is not fetched yet"
        );
    }

    #[tokio::test]
    async fn stops_on_empty_pages_and_reports_cursor_cycles() {
        let (p, _) = pages(vec![(vec![], true)]);
        assert!(p.collect_all().await.unwrap().is_empty());
        // The second page names the cursor of the first again: its items, then the error.
        let (p, seen) = pages(vec![(vec![1], true), (vec![1], true), (vec![9], false)]);
        let got: Vec<Result<u32, Error>> = p.into_stream().collect().await;
        assert_eq!(got.len(), 3);
        assert_eq!(
            (got[0].as_ref().ok(), got[1].as_ref().ok()),
            (Some(&1), Some(&1))
        );
        match &got[2] {
            Err(Error::PaginationCycle { cursor, pages }) => {
                assert_eq!((cursor.as_str(), *pages), ("id1", 2));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(seen.lock().unwrap().len(), 2);
        // A longer cycle (A, B, A) is found too.
        let (p, seen) = pages(vec![
            (vec![1], true),
            (vec![2], true),
            (vec![1], true),
            (vec![9], false),
        ]);
        let got: Vec<Result<u32, Error>> = p.into_stream().collect().await;
        assert!(matches!(
            got.last(),
            Some(Err(Error::PaginationCycle { pages: 3, .. }))
        ));
        assert_eq!(seen.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn an_error_ends_the_stream() {
        let (p, _) = pages(vec![(vec![1], true)]);
        let got: Vec<Result<u32, Error>> = p.into_stream().collect().await;
        assert_eq!(got.len(), 2);
        assert!(got[1].is_err());
    }
}
