//! Server-sent events (SSE) decoding, without any I/O.
//!
//! This module has two layers:
//!
//! 1. [`SseDecoder`] turns raw bytes into [`SseFrame`]s following the WHATWG
//!    `text/event-stream` rules. It is push-based: hand it whatever byte chunks
//!    the transport delivers ([`SseDecoder::push`]), drain the complete frames
//!    ([`SseDecoder::next_frame`]) and call [`SseDecoder::finish`] at end of input.
//! 2. [`classify`] and [`OpenAiDecoder`] add the OpenAI conventions on top:
//!    `data: [DONE]` ends the stream, `{"error": ...}` payloads and `event: error`
//!    become [`ApiErrorPayload`]s, and an event with empty data is an error.
//!    Everything else is handed back as undecoded JSON text for the caller to
//!    deserialize into its own types.
//!
//! # Example
//!
//! ```
//! use openai_sdk::sse::{OpenAiDecoder, StreamEnd};
//!
//! let mut decoder = OpenAiDecoder::new();
//! // Chunks may be split anywhere, even inside a UTF-8 character or a CRLF.
//! decoder.push(b"data: {\"id\":\"c1\",\"choices\":[]}\r");
//! decoder.push(b"\n\r\n: keep-alive\n\nevent: thread.run.created\ndata: {\"a\":");
//! decoder.push(b"1}\n\ndata: [DONE]\n\n");
//!
//! let mut payloads = Vec::new();
//! while let Some(frame) = decoder.next_event() {
//!     let frame = frame?;
//!     // `frame.data` is the JSON text, ready for `serde_json::from_str`.
//!     let value: serde_json::Value = serde_json::from_str(&frame.data)?;
//!     payloads.push((frame.event, value));
//! }
//! assert_eq!(payloads.len(), 2);
//! assert_eq!(payloads[1].0.as_deref(), Some("thread.run.created"));
//! assert!(decoder.is_done());
//! assert_eq!(decoder.finish(), StreamEnd::Clean);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Performance
//!
//! `push` appends the chunk to one internal buffer (a `memcpy`); `next_frame` parses
//! lines from it on demand, so each frame is built and handed over right away
//! whatever the chunk size. Line ends are found with `memchr`; the decoder remembers
//! how far the unfinished line has been scanned and never scans those bytes again, so
//! the work is linear in the input length however the input is split (a 10 MB line
//! pushed one byte at a time is scanned once and validated as UTF-8 once). The parsed
//! prefix of the buffer is dropped on a later push only when that moves no more bytes
//! than it drops, so every byte is moved at most once.
//!
//! # Memory
//!
//! The decoder holds the bytes pushed but not parsed yet, and the data of the event
//! being built. A single line, and the data of a single event, may be up to
//! [`DEFAULT_MAX_EVENT_SIZE`] bytes (64 MiB) by default;
//! [`SseDecoder::with_max_event_size`] changes that. Going over the limit is the
//! [`SseError::EventTooLarge`] error rather than unbounded growth. The limit is checked
//! while parsing, so it bounds memory for callers that drain frames after each push
//! (a caller that pushes a whole body at once holds that body anyway).

use std::collections::VecDeque;
use std::fmt;
use std::sync::LazyLock;

use memchr::memmem::Finder;
use memchr::{memchr, memchr2};
use serde_json::Value;

/// The UTF-8 byte order mark, skipped when it starts the stream.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Above this capacity the input buffer is shrunk once it has been fully parsed.
const KEEP_LINE_CAPACITY: usize = 64 * 1024;

/// The message used when an error payload carries no usable `message`
/// (the same text as the reference SDK).
const DEFAULT_ERROR_MESSAGE: &str = "An error occurred during streaming";

/// Default limit, in bytes, for one line and for the data of one event: 64 MiB.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 64 * 1024 * 1024;

/// One dispatched server-sent event.
///
/// `data` is the event's `data:` lines joined with `\n`; for OpenAI streams it is the
/// JSON text of the payload, and `serde_json::from_str(&frame.data)` decodes it
/// without any further copy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseFrame {
    /// The `event:` field; `None` when absent or empty (the WHATWG default type `message`).
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
    /// The last event ID in effect when this event was dispatched. As in WHATWG, an
    /// `id:` field persists for later events until replaced; an empty `id:` resets it
    /// (shown as `None`). Values containing U+0000 are ignored.
    pub id: Option<String>,
    /// A valid `retry:` value (ASCII digits only) that appeared within this event's
    /// lines. The latest value seen anywhere is also in [`SseDecoder::retry`].
    pub retry: Option<u64>,
}

impl SseFrame {
    /// The event type as WHATWG defines it: the `event:` field, or `"message"`.
    pub fn event_type(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

/// Where a frame came from in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramePosition {
    /// The number of frames dispatched before this one (0 for the first frame).
    pub number: u64,
    /// Byte offset in the stream (BOM included) of the first line of the event.
    pub offset: u64,
}

/// What was left over when the input ended, as reported by [`SseDecoder::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// The input ended on an event boundary (only blank lines or comments after the
    /// last dispatched event).
    Clean,
    /// Lines of an event, or a line without its line ending, came after the last
    /// blank line: the stream was cut off mid-event. That event is not dispatched.
    Incomplete {
        /// Byte offset where the unfinished event starts.
        offset: u64,
        /// How many bytes of it were received.
        pending_bytes: u64,
        /// Whether it had a `data` line (complete, or unfinished at end of input).
        has_data: bool,
    },
}

impl StreamEnd {
    /// True for [`StreamEnd::Clean`].
    pub fn is_clean(&self) -> bool {
        matches!(self, StreamEnd::Clean)
    }

    /// Turns [`StreamEnd::Incomplete`] into [`SseError::IncompleteEvent`], for callers
    /// that treat a connection closed mid-event as an error.
    pub fn into_result(self) -> Result<(), SseError> {
        match self {
            StreamEnd::Clean => Ok(()),
            StreamEnd::Incomplete {
                offset,
                pending_bytes,
                ..
            } => Err(SseError::IncompleteEvent {
                offset,
                pending_bytes,
            }),
        }
    }
}

/// An error found while decoding an event stream.
///
/// Offsets count bytes from the start of the stream, including a leading BOM.
/// Event numbers count dispatched frames from 0.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// The stream is not valid UTF-8 at this byte offset. Nothing is replaced.
    #[error("invalid UTF-8 in the event stream at byte offset {offset}")]
    InvalidUtf8 {
        /// Offset of the first byte that is not part of a valid UTF-8 sequence.
        offset: u64,
    },
    /// A line, or the data of one event, is longer than the decoder's limit.
    #[error(
        "event stream line or event data starting at byte offset {offset} exceeds the limit of {limit} bytes"
    )]
    EventTooLarge {
        /// Offset where the offending line or event starts.
        offset: u64,
        /// The limit in force (see [`SseDecoder::with_max_event_size`]).
        limit: usize,
    },
    /// An event has empty data where a JSON payload was expected.
    #[error(
        "event #{event_number} at byte offset {offset} has empty data; expected a JSON payload"
    )]
    EmptyData {
        /// Number of the frame (0-based).
        event_number: u64,
        /// Byte offset where the event starts.
        offset: u64,
    },
    /// The server sent an error inside the stream.
    #[error(
        "the server sent an error in event #{event_number} at byte offset {offset}: {payload}"
    )]
    Api {
        /// Number of the frame (0-based).
        event_number: u64,
        /// Byte offset where the event starts.
        offset: u64,
        /// The error as sent.
        payload: Box<ApiErrorPayload>,
    },
    /// The stream ended in the middle of an event (see [`StreamEnd::into_result`]).
    #[error(
        "the event stream ended in the middle of an event starting at byte offset {offset} ({pending_bytes} bytes received)"
    )]
    IncompleteEvent {
        /// Byte offset where the unfinished event starts.
        offset: u64,
        /// How many bytes of it were received.
        pending_bytes: u64,
    },
}

/// A push-based WHATWG `text/event-stream` decoder.
///
/// Feed bytes with [`push`](Self::push), drain frames with
/// [`next_frame`](Self::next_frame) (or [`frames`](Self::frames)) after each push, and
/// call [`finish`](Self::finish) when the input ends. Frames are identical however
/// the input is split into chunks.
///
/// Rules implemented: `event`, `data` (several lines joined with `\n`), `id`
/// (persistent, ignored when it contains U+0000), `retry` (ASCII digits only; values
/// that overflow `u64` are ignored), comment lines starting with `:`, a field without
/// colon (value empty), one optional space after the colon, CR, LF and CRLF line
/// endings (also when CR and LF arrive in different chunks), a UTF-8 BOM at the very
/// start, dispatch at a blank line, and no dispatch for an event without `data` lines.
/// Unknown fields are ignored.
///
/// The whole stream must be UTF-8 (comments included): invalid bytes are the
/// [`SseError::InvalidUtf8`] error. After an error the decoder stops: the error is the
/// last item [`next_frame`](Self::next_frame) returns and later input is ignored.
///
/// Decoding is lazy: `push` only appends the bytes to an internal buffer and
/// `next_frame` parses just enough lines to produce the next frame, so frames are
/// built and handed over one at a time whatever the chunk size. The buffer keeps
/// what has not been parsed yet; drain the frames after each push to keep it small.
///
/// ```
/// use openai_sdk::sse::{SseDecoder, StreamEnd};
///
/// let mut decoder = SseDecoder::new();
/// decoder.push(b"event: greeting\ndata: hello\ndata: wor");
/// assert!(decoder.next_frame().is_none()); // not complete yet
/// decoder.push(b"ld\n\ndata: cut off");
/// let frame = decoder.next_frame().unwrap()?;
/// assert_eq!(frame.event.as_deref(), Some("greeting"));
/// assert_eq!(frame.data, "hello\nworld");
/// assert!(decoder.next_frame().is_none());
/// assert!(matches!(decoder.finish(), StreamEnd::Incomplete { has_data: true, .. }));
/// # Ok::<(), openai_sdk::sse::SseError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SseDecoder {
    input: Input,
    event: EventBuilder,
    /// Items decoded by [`finish`](Self::finish) and not yet drained.
    queue: VecDeque<Result<(SseFrame, FramePosition), SseError>>,
    /// Limit for one line and for one event's data.
    max_event_size: usize,
    /// Still at the stream start, deciding whether a BOM is there.
    at_start: bool,
    /// How many BOM bytes have been matched so far at the stream start.
    bom_matched: usize,
    /// Set after an error, `[DONE]` (via [`OpenAiDecoder`]) or
    /// [`finish`](Self::finish): input is ignored.
    stopped: bool,
    /// The result of [`finish`](Self::finish), once known.
    end: Option<StreamEnd>,
}

/// The bytes pushed and not parsed yet, and the line splitting state.
#[derive(Debug, Clone, Default)]
struct Input {
    buf: Vec<u8>,
    /// First byte of `buf` not parsed yet (the start of the current line).
    pos: usize,
    /// How many bytes from `pos` are known to hold no line ending (never rescanned).
    scanned: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// The last line ended with a CR that was the last byte available: an LF right
    /// after it belongs to the same line ending.
    skip_lf: bool,
}

/// What [`Input::next_line`] found.
enum NextLine {
    /// A complete line: `buf[start..end]`, starting at stream offset `offset`.
    Line {
        start: usize,
        end: usize,
        offset: u64,
    },
    /// No complete line yet.
    NeedMore,
    /// The unfinished line at this offset is already over the limit.
    TooLong(u64),
}

impl Input {
    /// Appends a chunk, first dropping the parsed prefix when that costs no more than
    /// the bytes dropped (so every byte is moved at most once overall).
    fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 {
            let remaining = self.buf.len() - self.pos.min(self.buf.len());
            if remaining == 0 {
                self.base += self.buf.len() as u64;
                self.buf.clear();
                self.pos = 0;
                if self.buf.capacity() > KEEP_LINE_CAPACITY {
                    self.buf.shrink_to(KEEP_LINE_CAPACITY);
                }
            } else if self.pos >= remaining {
                self.base += self.pos as u64;
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Stream offset of the first byte not parsed yet.
    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The bytes of the unfinished line.
    fn pending(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Finds the next complete line, scanning only bytes not scanned before.
    fn next_line(&mut self, limit: usize) -> NextLine {
        if self.skip_lf {
            match self.buf.get(self.pos) {
                None => return NextLine::NeedMore,
                Some(b'\n') => {
                    self.pos += 1;
                    self.skip_lf = false;
                }
                Some(_) => self.skip_lf = false,
            }
        }
        let from = self.pos + self.scanned;
        let tail = self.buf.get(from..).unwrap_or_default();
        // A blank line right after a line ending is common: no search for it.
        let found = match tail.first() {
            None => None,
            Some(b'\n' | b'\r') => Some(0),
            Some(_) => memchr2(b'\n', b'\r', tail),
        };
        let Some(at) = found else {
            self.scanned += tail.len();
            if self.scanned > limit {
                return NextLine::TooLong(self.offset());
            }
            return NextLine::NeedMore;
        };
        let end = from + at;
        // A CR is consumed alone and a LF right after it skipped on the next call, whether
        // or not that LF has arrived yet: positions (and error offsets) then do not depend
        // on where the input was split (found by the `chat_stream` fuzz target).
        if self.buf.get(end) == Some(&b'\r') {
            self.skip_lf = true;
        }
        let terminator_len = 1;
        let start = self.pos;
        let offset = self.offset();
        self.pos = end + terminator_len;
        self.scanned = 0;
        if end - start > limit {
            return NextLine::TooLong(offset);
        }
        NextLine::Line { start, end, offset }
    }
}

/// The event being built, and the state that persists across events.
#[derive(Debug, Clone, Default)]
struct EventBuilder {
    /// Data of the event being built.
    data: String,
    /// Whether the event being built has at least one `data` line.
    has_data: bool,
    /// `event:` of the event being built.
    event_type: String,
    /// `retry:` seen within the event being built.
    event_retry: Option<u64>,
    /// Offset of the first field line of the event being built.
    start: Option<u64>,
    /// The last event ID buffer (persists across events).
    last_event_id: String,
    /// The latest valid `retry:` value.
    retry: Option<u64>,
    /// Frames dispatched so far.
    frames: u64,
}

impl EventBuilder {
    /// Interprets one complete line (without its line ending) that starts at `offset`;
    /// returns the frame a blank line dispatches.
    fn line(
        &mut self,
        line: &[u8],
        offset: u64,
        limit: usize,
    ) -> Result<Option<(SseFrame, FramePosition)>, SseError> {
        if line.is_empty() {
            return Ok(self.dispatch(offset));
        }
        let text = std::str::from_utf8(line).map_err(|err| SseError::InvalidUtf8 {
            offset: offset + err.valid_up_to() as u64,
        })?;
        let (name, value) = if let Some(value) = text.strip_prefix("data:") {
            // The usual line, without searching for the colon.
            ("data", value)
        } else if text.starts_with(':') {
            return Ok(None); // comment
        } else {
            match memchr(b':', text.as_bytes()) {
                // A colon is ASCII, so both sides are valid UTF-8.
                Some(colon) => (
                    text.get(..colon).unwrap_or_default(),
                    text.get(colon + 1..).unwrap_or_default(),
                ),
                None => (text, ""),
            }
        };
        let value = value.strip_prefix(' ').unwrap_or(value);
        let start = *self.start.get_or_insert(offset);
        match name {
            "data" => {
                let extra = usize::from(self.has_data);
                let size = self
                    .data
                    .len()
                    .saturating_add(value.len())
                    .saturating_add(extra);
                if size > limit {
                    return Err(SseError::EventTooLarge {
                        offset: start,
                        limit,
                    });
                }
                if self.has_data {
                    self.data.push('\n');
                } else {
                    self.has_data = true;
                    // Usually the only data line: allocate exactly once.
                    self.data.reserve_exact(value.len());
                }
                self.data.push_str(value);
            }
            "event" => {
                self.event_type.clear();
                self.event_type.push_str(value);
            }
            "id" if !value.contains('\0') => {
                self.last_event_id.clear();
                self.last_event_id.push_str(value);
            }
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                // Digits only; a value too large for u64 is ignored.
                if let Ok(ms) = value.parse::<u64>() {
                    self.retry = Some(ms);
                    self.event_retry = Some(ms);
                }
            }
            _ => {}
        }
        Ok(None)
    }

    /// A blank line at `offset`: returns the event if it has data, and resets it.
    fn dispatch(&mut self, offset: u64) -> Option<(SseFrame, FramePosition)> {
        let start = self.start.take();
        let retry = self.event_retry.take();
        if !self.has_data {
            self.event_type.clear();
            return None;
        }
        self.has_data = false;
        let frame = SseFrame {
            event: if self.event_type.is_empty() {
                None
            } else {
                Some(std::mem::take(&mut self.event_type))
            },
            data: std::mem::take(&mut self.data),
            id: if self.last_event_id.is_empty() {
                None
            } else {
                Some(self.last_event_id.clone())
            },
            retry,
        };
        let position = FramePosition {
            number: self.frames,
            offset: start.unwrap_or(offset),
        };
        self.frames += 1;
        Some((frame, position))
    }
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder with the default size limit ([`DEFAULT_MAX_EVENT_SIZE`]).
    pub fn new() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A decoder that accepts lines, and event data, of up to `limit` bytes each.
    /// Longer input gives [`SseError::EventTooLarge`] and stops the decoder. The
    /// limit is checked as frames are drained, so while the caller drains after each
    /// push the memory held stays within about the limit plus one chunk.
    pub fn with_max_event_size(limit: usize) -> Self {
        SseDecoder {
            input: Input::default(),
            event: EventBuilder::default(),
            queue: VecDeque::new(),
            max_event_size: limit,
            at_start: true,
            bom_matched: 0,
            stopped: false,
            end: None,
        }
    }

    /// Feeds the next chunk of the stream. Complete events become available from
    /// [`next_frame`](Self::next_frame). Ignored after an error or after
    /// [`finish`](Self::finish).
    pub fn push(&mut self, bytes: &[u8]) {
        if self.stopped {
            return;
        }
        let bytes = if self.at_start {
            self.skip_bom(bytes)
        } else {
            bytes
        };
        self.input.push(bytes);
    }

    /// The next decoded frame, or `None` when more input is needed (or the stream is
    /// over). After an `Err`, only `None` follows.
    pub fn next_frame(&mut self) -> Option<Result<SseFrame, SseError>> {
        self.next_frame_with_position()
            .map(|item| item.map(|(frame, _)| frame))
    }

    /// Like [`next_frame`](Self::next_frame), with the frame's number and offset.
    pub fn next_frame_with_position(
        &mut self,
    ) -> Option<Result<(SseFrame, FramePosition), SseError>> {
        if let Some(item) = self.queue.pop_front() {
            return Some(item);
        }
        self.decode_next()
    }

    /// An iterator that drains the frames available now (it ends when more input is
    /// needed; it can be created again after the next push).
    pub fn frames(&mut self) -> Frames<'_> {
        Frames { decoder: self }
    }

    /// Marks the end of the input and reports whether an event was cut off.
    ///
    /// Frames not drained yet remain available from [`next_frame`](Self::next_frame).
    /// An unfinished event is never dispatched (WHATWG and the reference SDK drop it).
    /// Later pushes are ignored; calling `finish` again returns the same answer.
    /// When decoding stopped at an error it returns [`StreamEnd::Clean`]: the error,
    /// returned by [`next_frame`](Self::next_frame), is how the stream ended.
    pub fn finish(&mut self) -> StreamEnd {
        if let Some(end) = self.end {
            return end;
        }
        if self.at_start {
            // Input ended inside what looked like a BOM: those bytes are content.
            self.at_start = false;
            let matched = BOM.get(..self.bom_matched).unwrap_or_default();
            self.input.push(matched);
        }
        // Parse everything that is complete; the frames wait in the queue.
        while let Some(item) = self.decode_next() {
            self.queue.push_back(item);
        }
        if let Some(end) = self.end {
            return end; // stopped at an error
        }
        let pending = self.input.pending();
        let partial = !pending.is_empty() && !pending.starts_with(b":");
        let end = match (self.event.start, partial) {
            (None, false) => StreamEnd::Clean,
            (start, _) => {
                let offset = start.unwrap_or_else(|| self.input.offset());
                let partial_data = partial && (pending == b"data" || pending.starts_with(b"data:"));
                let end_offset = self.input.offset() + pending.len() as u64;
                StreamEnd::Incomplete {
                    offset,
                    pending_bytes: end_offset.saturating_sub(offset),
                    has_data: self.event.has_data || partial_data,
                }
            }
        };
        self.end = Some(end);
        self.stopped = true;
        end
    }

    /// The last event ID buffer (for a `Last-Event-ID` header on reconnection);
    /// `None` when never set or reset by an empty `id:`. Like [`retry`](Self::retry),
    /// it reflects the lines parsed so far, i.e. up to the last frame drained.
    pub fn last_event_id(&self) -> Option<&str> {
        if self.event.last_event_id.is_empty() {
            None
        } else {
            Some(&self.event.last_event_id)
        }
    }

    /// The latest valid `retry:` value seen, in milliseconds.
    pub fn retry(&self) -> Option<u64> {
        self.event.retry
    }

    /// How many bytes of the stream have been parsed (BOM included).
    pub fn offset(&self) -> u64 {
        self.input.offset()
    }

    /// How many frames have been decoded so far.
    pub fn frames_decoded(&self) -> u64 {
        self.event.frames
    }

    /// Parses lines until a frame is dispatched, an error occurs, or no complete line
    /// is left.
    fn decode_next(&mut self) -> Option<Result<(SseFrame, FramePosition), SseError>> {
        let limit = self.max_event_size;
        while !self.stopped {
            let error = match self.input.next_line(limit) {
                NextLine::NeedMore => return None,
                NextLine::TooLong(offset) => SseError::EventTooLarge { offset, limit },
                NextLine::Line { start, end, offset } => {
                    let line = self.input.buf.get(start..end).unwrap_or_default();
                    match self.event.line(line, offset, limit) {
                        Ok(None) => continue,
                        Ok(Some(frame)) => return Some(Ok(frame)),
                        Err(error) => error,
                    }
                }
            };
            self.stop(StreamEnd::Clean);
            return Some(Err(error));
        }
        None
    }

    /// Matches a BOM at the stream start, possibly over several pushes, and returns
    /// the input that follows it.
    fn skip_bom<'a>(&mut self, mut input: &'a [u8]) -> &'a [u8] {
        while self.at_start {
            let Some((&byte, rest)) = input.split_first() else {
                return input;
            };
            if BOM.get(self.bom_matched) == Some(&byte) {
                self.bom_matched += 1;
                input = rest;
                if self.bom_matched == BOM.len() {
                    self.at_start = false;
                    self.input.base = BOM.len() as u64;
                }
            } else {
                // Not a BOM: the bytes matched so far are ordinary content.
                self.at_start = false;
                let matched = BOM.get(..self.bom_matched).unwrap_or_default();
                self.input.push(matched);
            }
        }
        input
    }

    /// Stops decoding for good and releases the input buffers (after an error, or
    /// after `[DONE]`); [`finish`](Self::finish) will return `end`. Items already
    /// queued by `finish` stay queued.
    /// Stops decoding and drops everything not returned yet (used by
    /// [`OpenAiDecoder`] once the stream is over).
    fn discard(&mut self) {
        self.queue.clear();
        self.stop(StreamEnd::Clean);
    }

    fn stop(&mut self, end: StreamEnd) {
        self.stopped = true;
        self.end = Some(end);
        self.input = Input {
            base: self.input.offset(),
            ..Input::default()
        };
        self.event.data = String::new();
    }
}

/// Iterator over the frames an [`SseDecoder`] has ready; see [`SseDecoder::frames`].
#[derive(Debug)]
pub struct Frames<'a> {
    decoder: &'a mut SseDecoder,
}

impl Iterator for Frames<'_> {
    type Item = Result<SseFrame, SseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.decoder.next_frame()
    }
}

/// An error sent by the server inside an event stream.
///
/// Built from a payload `{"error": {...}}` (the fields come from the inner object) or
/// from the data of an `event: error` without an `error` key (the fields come from the
/// payload itself, as the Responses and Assistants APIs send them).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiErrorPayload {
    /// The error's `message`; `"An error occurred during streaming"` when it has none
    /// (the reference SDK's wording). An error that is a bare JSON string, or an
    /// `event: error` whose data is not JSON, uses that text.
    pub message: String,
    /// The error's `type`, when it is a string.
    pub r#type: Option<String>,
    /// The error's `code`; a numeric code is given as its decimal text.
    pub code: Option<String>,
    /// The error's `param`, when it is a string.
    pub param: Option<String>,
    /// The whole data of the event, as parsed JSON (a JSON string holding the text when
    /// the data of an `event: error` is not JSON). Nothing is lost.
    pub raw: Value,
}

impl fmt::Display for ApiErrorPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        let details = [
            ("type", &self.r#type),
            ("code", &self.code),
            ("param", &self.param),
        ];
        let mut first = true;
        for (name, value) in details {
            if let Some(value) = value {
                f.write_str(if first { " (" } else { ", " })?;
                write!(f, "{name}: {value}")?;
                first = false;
            }
        }
        if !first {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl ApiErrorPayload {
    /// Builds the payload from the parsed data of an event. Returns `None` when the
    /// data is not an error: it has no truthy top-level `error` (Python truthiness:
    /// `null`, `false`, `0`, `""`, `[]` and `{}` are not errors) and `error_event` is
    /// false. With `error_event` (the event was `event: error`) it always returns an
    /// error.
    pub fn from_json(raw: Value, error_event: bool) -> Option<Self> {
        let inner = raw.get("error").filter(|error| is_truthy(error));
        let source = match inner {
            Some(error) => error,
            None if error_event => &raw,
            None => return None,
        };
        let field = |name: &str| source.get(name).and_then(Value::as_str).map(str::to_owned);
        let message = source
            .get("message")
            .and_then(Value::as_str)
            .or_else(|| source.as_str())
            .filter(|message| !message.is_empty())
            .unwrap_or(DEFAULT_ERROR_MESSAGE)
            .to_owned();
        let code = match source.get("code") {
            Some(Value::String(code)) => Some(code.clone()),
            Some(Value::Number(code)) => Some(code.to_string()),
            _ => None,
        };
        let r#type = field("type");
        let param = field("param");
        Some(ApiErrorPayload {
            message,
            r#type,
            code,
            param,
            raw,
        })
    }
}

/// Python truthiness of a JSON value, as the reference's `if data.get("error")`.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// What an event means under the OpenAI streaming conventions; see [`classify`].
#[derive(Debug, Clone, PartialEq)]
pub enum OpenAiFrame<'a> {
    /// A payload for the caller to decode: `data` is JSON text (not validated here).
    Payload {
        /// The `event:` name (`thread.run.created`, `response.output_text.delta`, ...),
        /// `None` for chat completion chunks.
        event: Option<&'a str>,
        /// The JSON text.
        data: &'a str,
    },
    /// `data: [DONE]`: the stream is over; ignore anything after it.
    Done,
    /// The server reported an error.
    ApiError(ApiErrorPayload),
    /// The data is empty (or only whitespace), which is not valid JSON; the reference
    /// SDK raises `JSONDecodeError` here.
    EmptyData,
}

/// Finds `"error"` in payloads; built once.
static ERROR_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"error\""));

/// Classifies one frame under the OpenAI conventions (the reference SDK's rules):
///
/// - data starting with `[DONE]` → [`OpenAiFrame::Done`];
/// - empty or whitespace-only data → [`OpenAiFrame::EmptyData`];
/// - `event: error`, or a JSON object with a truthy top-level `error` →
///   [`OpenAiFrame::ApiError`]. `event: error` is always an error, also without an
///   `error` key or when its data is not JSON (the reference passes such events on);
/// - anything else → [`OpenAiFrame::Payload`], not parsed.
///
/// Cost: the data is parsed only when the event is `event: error` or when the bytes
/// `"error"` occur in it (one `memmem` scan); an ordinary chunk is never parsed here.
/// A key spelled with escapes (`"\u0065rror"`) is not detected.
///
/// ```
/// use openai_sdk::sse::{classify, OpenAiFrame, SseFrame};
///
/// let frame = SseFrame { data: r#"{"error":{"message":"overloaded","type":"server_error"}}"#.into(), ..Default::default() };
/// let OpenAiFrame::ApiError(error) = classify(&frame) else { panic!("not an error") };
/// assert_eq!(error.message, "overloaded");
/// assert_eq!(error.r#type.as_deref(), Some("server_error"));
///
/// let frame = SseFrame { data: r#"{"choices":[]}"#.into(), ..Default::default() };
/// assert_eq!(classify(&frame), OpenAiFrame::Payload { event: None, data: r#"{"choices":[]}"# });
/// ```
pub fn classify(frame: &SseFrame) -> OpenAiFrame<'_> {
    let data = frame.data.as_str();
    if data.starts_with("[DONE]") {
        return OpenAiFrame::Done;
    }
    if data.trim_ascii().is_empty() {
        return OpenAiFrame::EmptyData;
    }
    let event = frame.event.as_deref();
    let error_event = event == Some("error");
    if error_event || ERROR_KEY.find(data.as_bytes()).is_some() {
        match serde_json::from_str::<Value>(data) {
            Ok(value) => {
                if let Some(error) = ApiErrorPayload::from_json(value, error_event) {
                    return OpenAiFrame::ApiError(error);
                }
            }
            Err(_) if error_event => {
                return OpenAiFrame::ApiError(ApiErrorPayload {
                    message: data.to_owned(),
                    r#type: None,
                    code: None,
                    param: None,
                    raw: Value::String(data.to_owned()),
                });
            }
            // Not JSON: the caller's decoder reports it.
            Err(_) => {}
        }
    }
    OpenAiFrame::Payload { event, data }
}

/// An [`SseDecoder`] with the OpenAI conventions applied (see [`classify`]).
///
/// [`next_event`](Self::next_event) yields only payload frames; `frame.data` is the
/// JSON text to deserialize. `[DONE]` ends the stream (then `None` forever, later
/// input ignored, [`finish`](Self::finish) reports [`StreamEnd::Clean`]). An API
/// error or empty data is returned once as [`SseError::Api`] / [`SseError::EmptyData`]
/// and also ends the stream, as in the reference SDK.
///
/// ```
/// use openai_sdk::sse::{OpenAiDecoder, SseError};
///
/// let mut decoder = OpenAiDecoder::new();
/// decoder.push(b"data: {\"error\":{\"message\":\"rate limited\",\"code\":429}}\n\n");
/// match decoder.next_event() {
///     Some(Err(SseError::Api { payload, event_number: 0, .. })) => {
///         assert_eq!(payload.message, "rate limited");
///         assert_eq!(payload.code.as_deref(), Some("429"));
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// assert!(decoder.next_event().is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct OpenAiDecoder {
    sse: SseDecoder,
    state: OpenAiState,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum OpenAiState {
    #[default]
    Streaming,
    Done,
    Failed,
}

impl OpenAiDecoder {
    /// A decoder with the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wraps a configured [`SseDecoder`] (e.g. one with another size limit).
    pub fn with_decoder(sse: SseDecoder) -> Self {
        OpenAiDecoder {
            sse,
            state: OpenAiState::Streaming,
        }
    }

    /// Feeds the next chunk of the stream; ignored once the stream is done or failed.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.state == OpenAiState::Streaming {
            self.sse.push(bytes);
        }
    }

    /// The next payload frame, an error, or `None` when more input is needed or the
    /// stream is over (check [`is_done`](Self::is_done)).
    pub fn next_event(&mut self) -> Option<Result<SseFrame, SseError>> {
        if self.state != OpenAiState::Streaming {
            return None;
        }
        let (frame, position) = match self.sse.next_frame_with_position()? {
            Ok(item) => item,
            Err(error) => {
                self.state = OpenAiState::Failed;
                self.sse.discard();
                return Some(Err(error));
            }
        };
        let error = match classify(&frame) {
            OpenAiFrame::Payload { .. } => return Some(Ok(frame)),
            OpenAiFrame::Done => {
                self.state = OpenAiState::Done;
                // Drop whatever was pushed after [DONE].
                self.sse.discard();
                return None;
            }
            OpenAiFrame::ApiError(payload) => SseError::Api {
                event_number: position.number,
                offset: position.offset,
                payload: Box::new(payload),
            },
            OpenAiFrame::EmptyData => SseError::EmptyData {
                event_number: position.number,
                offset: position.offset,
            },
        };
        self.state = OpenAiState::Failed;
        self.sse.discard();
        Some(Err(error))
    }

    /// An iterator that drains the events available now (see
    /// [`next_event`](Self::next_event)).
    pub fn events(&mut self) -> Events<'_> {
        Events { decoder: self }
    }

    /// True once `data: [DONE]` has been seen.
    pub fn is_done(&self) -> bool {
        self.state == OpenAiState::Done
    }

    /// Marks the end of the input. [`StreamEnd::Clean`] after `[DONE]` or after an
    /// error was returned; otherwise as [`SseDecoder::finish`] (a stream may also end
    /// cleanly without `[DONE]`, as the Responses API streams do).
    ///
    /// Events not drained yet stay available from [`next_event`](Self::next_event).
    /// If one of them ends the stream (`[DONE]`, an error), the stream ended there and
    /// the answer is [`StreamEnd::Clean`] whatever followed.
    pub fn finish(&mut self) -> StreamEnd {
        if self.state != OpenAiState::Streaming {
            return StreamEnd::Clean;
        }
        let end = self.sse.finish();
        let ends_earlier = self.sse.queue.iter().any(|item| match item {
            Ok((frame, _)) => !matches!(classify(frame), OpenAiFrame::Payload { .. }),
            Err(_) => true,
        });
        if ends_earlier {
            StreamEnd::Clean
        } else {
            end
        }
    }

    /// The underlying frame decoder (for [`SseDecoder::last_event_id`] and friends).
    pub fn sse(&self) -> &SseDecoder {
        &self.sse
    }
}

/// Iterator over the events an [`OpenAiDecoder`] has ready; see [`OpenAiDecoder::events`].
#[derive(Debug)]
pub struct Events<'a> {
    decoder: &'a mut OpenAiDecoder,
}

impl Iterator for Events<'_> {
    type Item = Result<SseFrame, SseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.decoder.next_event()
    }
}
