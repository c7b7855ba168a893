//! The WHATWG `text/event-stream` decoding: bytes in, [`SseFrame`]s out, with no I/O and
//! nothing OpenAI-specific (that is [`frames`](super::frames)). Public as [`crate::sse`].

use std::collections::VecDeque;

use bytes::Bytes;
use memchr::{memchr, memchr2};

use super::frames::ApiErrorPayload;

/// The UTF-8 byte order mark, skipped when it starts the stream.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Above this capacity the input buffer is shrunk once it has been fully parsed.
const KEEP_LINE_CAPACITY: usize = 64 * 1024;

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
/// Feed bytes with [`push`](Self::push) (a slice, copied) or
/// [`push_bytes`](Self::push_bytes) (a `Bytes` kept and read in place), drain frames with
/// [`next_frame`](Self::next_frame) (or [`frames`](Self::frames)) after each push, and
/// call [`finish`](Self::finish) when the input ends. Frames are identical however
/// the input is split into chunks, and however it is pushed.
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
/// Decoding is lazy: `push` only appends the bytes to an internal buffer (`push_bytes`
/// only keeps them) and `next_frame` parses just enough lines to produce the next frame,
/// so frames are built and handed over one at a time whatever the chunk size. The buffer
/// keeps what has not been parsed yet; drain the frames after each push to keep it small.
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
///
/// Bytes pushed as a slice are copied into `buf`. Bytes pushed whole
/// ([`push_bytes`](Input::push_bytes)) are read in place, in `cur`: only a line that
/// starts in one push and ends in a later one is copied, into `buf`.
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
    /// Bytes pushed whole and read in place (empty: none). Their unread part,
    /// `cur[cpos..]`, follows `buf[pos..]` in the stream. Let go (`detach`) whenever
    /// `next_line` needs more input, so that once the frames are drained the decoder holds
    /// no reference to a body's chunk and the HTTP client can reuse its read buffer.
    cur: Bytes,
    /// First byte of `cur` not parsed yet.
    cpos: usize,
    /// Stream offset of `cur[0]`.
    cbase: u64,
}

/// What [`Input::next_line`] found.
enum NextLine {
    /// A complete line: `buf[start..end]` (or `cur[start..end]` when `in_cur`),
    /// starting at stream offset `offset`.
    Line {
        in_cur: bool,
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
    /// Appends a chunk, first dropping the parsed prefix (see `drop_parsed`).
    fn push(&mut self, bytes: &[u8]) {
        self.detach();
        self.drop_parsed();
        self.buf.extend_from_slice(bytes);
    }

    /// Drops the parsed prefix of `buf` when that costs no more than the bytes dropped (so
    /// every byte is moved at most once overall).
    fn drop_parsed(&mut self) {
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
    }

    /// Takes a chunk whole, to be read in place.
    fn push_bytes(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        self.detach();
        self.drop_parsed();
        self.cbase = self.base + self.buf.len() as u64;
        self.cur = bytes;
        self.cpos = 0;
    }

    /// Moves the unread part of `cur` into `buf` (before a push, or when it holds no
    /// line ending).
    fn detach(&mut self) {
        if self.cur.is_empty() {
            return;
        }
        let cur = std::mem::take(&mut self.cur);
        let cpos = std::mem::take(&mut self.cpos);
        if self.pos >= self.buf.len() {
            self.base = self.cbase + cpos as u64;
            self.buf.clear();
            self.pos = 0;
            self.scanned = 0;
        }
        self.buf
            .extend_from_slice(cur.get(cpos..).unwrap_or_default());
    }

    /// Whether the lines are read from `cur` (nothing pending in `buf`).
    fn reading_cur(&self) -> bool {
        !self.cur.is_empty() && self.pos >= self.buf.len()
    }

    /// Stream offset of the first byte not parsed yet.
    fn offset(&self) -> u64 {
        if self.reading_cur() {
            self.cbase + self.cpos as u64
        } else {
            self.base + self.pos as u64
        }
    }

    /// The bytes of the unfinished line (all of them once `next_line` needs more).
    fn pending(&self) -> &[u8] {
        if self.reading_cur() {
            self.cur.get(self.cpos..).unwrap_or_default()
        } else {
            self.buf.get(self.pos..).unwrap_or_default()
        }
    }

    /// The line `next_line` found.
    fn line(&self, in_cur: bool, start: usize, end: usize) -> &[u8] {
        let from = if in_cur { &self.cur[..] } else { &self.buf[..] };
        from.get(start..end).unwrap_or_default()
    }

    /// Finds the next complete line, scanning only bytes not scanned before.
    fn next_line(&mut self, limit: usize) -> NextLine {
        if self.skip_lf {
            let reading_cur = self.reading_cur();
            let next = if reading_cur {
                self.cur.get(self.cpos)
            } else {
                self.buf.get(self.pos)
            };
            match next {
                None => {
                    self.detach();
                    return NextLine::NeedMore;
                }
                Some(b'\n') if reading_cur => self.cpos += 1,
                Some(b'\n') => self.pos += 1,
                Some(_) => {}
            }
            self.skip_lf = false;
        }
        if self.reading_cur() {
            return self.next_line_from_cur(limit);
        }
        let from = self.pos + self.scanned;
        let tail = self.buf.get(from..).unwrap_or_default();
        let Some(at) = line_end(tail) else {
            self.scanned += tail.len();
            if !self.cur.is_empty() {
                return self.next_line_from_cur(limit);
            }
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
        let start = self.pos;
        let offset = self.offset();
        self.pos = end + 1;
        self.scanned = 0;
        if end - start > limit {
            return NextLine::TooLong(offset);
        }
        NextLine::Line {
            in_cur: false,
            start,
            end,
            offset,
        }
    }

    /// The next line ended in `cur`: read in place when nothing is pending in `buf`, else the
    /// line pending there (scanned to its end) with its rest moved in. When `cur` holds no
    /// line ending, its unread part joins `buf`.
    fn next_line_from_cur(&mut self, limit: usize) -> NextLine {
        let pending = self.pos < self.buf.len();
        let offset = self.offset();
        let tail = self.cur.get(self.cpos..).unwrap_or_default();
        let Some(at) = line_end(tail) else {
            self.detach();
            self.scanned = self.buf.len() - self.pos;
            if self.scanned > limit {
                return NextLine::TooLong(self.offset());
            }
            return NextLine::NeedMore;
        };
        if tail.get(at) == Some(&b'\r') {
            self.skip_lf = true;
        }
        let (in_cur, start, end) = if pending {
            self.buf
                .extend_from_slice(tail.get(..at).unwrap_or_default());
            let start = self.pos;
            self.pos = self.buf.len();
            self.scanned = 0;
            (false, start, self.pos)
        } else {
            (true, self.cpos, self.cpos + at)
        };
        self.cpos += at + 1;
        if end - start > limit {
            return NextLine::TooLong(offset);
        }
        NextLine::Line {
            in_cur,
            start,
            end,
            offset,
        }
    }
}

/// Where the first line ending (CR or LF) of `bytes` is. A blank line right after a line
/// ending is common: no search for it.
fn line_end(bytes: &[u8]) -> Option<usize> {
    match bytes.first() {
        None => None,
        Some(b'\n' | b'\r') => Some(0),
        Some(_) => memchr2(b'\n', b'\r', bytes),
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

    /// The limit for one line, and for the data of one event, in bytes (see
    /// [`with_max_event_size`](Self::with_max_event_size)).
    ///
    /// ```
    /// use openai_sdk::sse::{SseDecoder, DEFAULT_MAX_EVENT_SIZE};
    /// assert_eq!(SseDecoder::new().max_event_size(), DEFAULT_MAX_EVENT_SIZE);
    /// assert_eq!(SseDecoder::with_max_event_size(1024).max_event_size(), 1024);
    /// ```
    pub fn max_event_size(&self) -> usize {
        self.max_event_size
    }

    /// Changes the limit; it applies to what is decoded from now on.
    pub(crate) fn set_max_event_size(&mut self, limit: usize) {
        self.max_event_size = limit;
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

    /// Like [`push`](Self::push), without copying: the lines are read from `bytes` in
    /// place, and only a line that one push starts and a later one ends is copied. Frames
    /// are the same as with `push`, however the input is split.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use openai_sdk::sse::SseDecoder;
    ///
    /// let mut decoder = SseDecoder::new();
    /// decoder.push_bytes(Bytes::from_static(b"data: {\"a\":"));
    /// assert!(decoder.next_frame().is_none());
    /// decoder.push_bytes(Bytes::from_static(b"1}\n\ndata: 2\n\n"));
    /// assert_eq!(decoder.next_frame().unwrap()?.data, "{\"a\":1}");
    /// assert_eq!(decoder.next_frame().unwrap()?.data, "2");
    /// # Ok::<(), openai_sdk::sse::SseError>(())
    /// ```
    pub fn push_bytes(&mut self, bytes: Bytes) {
        if self.stopped {
            return;
        }
        let bytes = if self.at_start {
            let rest = self.skip_bom(&bytes).len();
            bytes.slice(bytes.len() - rest..)
        } else {
            bytes
        };
        self.input.push_bytes(bytes);
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
    pub fn frames(&mut self) -> FrameIter<'_> {
        FrameIter { decoder: self }
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
                NextLine::Line {
                    in_cur,
                    start,
                    end,
                    offset,
                } => {
                    let line = self.input.line(in_cur, start, end);
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

    /// Stops decoding and drops everything not returned yet (used by the OpenAI
    /// framing once the stream is over).
    pub(super) fn discard(&mut self) {
        self.queue.clear();
        self.stop(StreamEnd::Clean);
    }

    /// Whether a frame or error waiting in the queue (decoded by
    /// [`finish`](Self::finish), or pushed whole) matches `f`.
    pub(super) fn any_queued(
        &self,
        f: impl Fn(&Result<(SseFrame, FramePosition), SseError>) -> bool,
    ) -> bool {
        self.queue.iter().any(f)
    }

    /// Queues a whole frame that came from a transport with its own message framing (a
    /// WebSocket's text message), numbered after the frames before it. Its offset is
    /// the number of data bytes before it. Ignored once decoding stopped.
    pub(super) fn push_frame(&mut self, frame: SseFrame) {
        if self.stopped {
            return;
        }
        let position = FramePosition {
            number: self.event.frames,
            offset: self.input.offset(),
        };
        self.event.frames += 1;
        self.input.base += frame.data.len() as u64;
        self.queue.push_back(Ok((frame, position)));
    }

    /// Stops decoding for good and releases the input buffers (after an error, or
    /// after `[DONE]`); [`finish`](Self::finish) will return `end`. Items already
    /// queued by `finish` stay queued.
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
pub struct FrameIter<'a> {
    decoder: &'a mut SseDecoder,
}

impl Iterator for FrameIter<'_> {
    type Item = Result<SseFrame, SseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.decoder.next_frame()
    }
}
