//! The SSE decoders (`SseDecoder`, `OpenAiDecoder`) on arbitrary bytes split at arbitrary
//! points:
//! - the frames, errors, positions, the end report and the decoder's counters are the same
//!   whether the bytes arrive whole or in pieces (draining after every push, as a transport
//!   does). Exception: after an error, `offset()` (how far the decoder read) depends on what
//!   had arrived when it stopped (e.g. whether the LF of a CRLF after the bad line was there
//!   yet), so it is compared only for streams that end without error;
//! - on valid UTF-8 with the default limits, the frames equal those of a naive WHATWG
//!   decoder written here from the spec (event type, data, last event ID);
//! - bytes read in place (`push_bytes`, alone or in turn with `push`) give what copied
//!   bytes give, split the same way;
//! - nothing panics.

use arbitrary::Unstructured;
use bytes::Bytes;
use openai_sdk::sse::{FramePosition, OpenAiDecoder, SseDecoder, SseError, SseFrame, StreamEnd};

use crate::split;

/// The limits tried: small ones make `EventTooLarge` reachable.
const LIMITS: [usize; 4] = [openai_sdk::sse::DEFAULT_MAX_EVENT_SIZE, 8, 40, 300];

#[derive(Debug, PartialEq)]
struct SseTranscript {
    items: Vec<Result<(SseFrame, FramePosition), SseError>>,
    end: StreamEnd,
    last_event_id: Option<String>,
    retry: Option<u64>,
    offset: u64,
    frames: u64,
}

#[derive(Debug, PartialEq)]
struct OpenAiTranscript {
    items: Vec<Result<SseFrame, SseError>>,
    end: StreamEnd,
    done: bool,
}

pub fn check(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let limit = LIMITS[usize::from(control & 3)];
    let control_len = usize::from(control >> 2).min(rest.len());
    let (control_bytes, body) = rest.split_at(control_len);
    let cuts = split::cut_points(&mut Unstructured::new(control_bytes), body.len());

    // Bytes read in place (`push_bytes`, alone or in turn with `push`) give what copied
    // bytes give, offsets after an error included.
    let pieces = split::pieces(body, &cuts);
    let split = sse_transcript(&pieces, limit, Feed::Slices);
    for feed in [Feed::Bytes, Feed::Mixed] {
        assert_eq!(
            sse_transcript(&pieces, limit, feed),
            split,
            "fed as {feed:?}, split at {cuts:?}"
        );
    }

    // The same whole or split, but for how far the decoder read after an error.
    let whole = sse_transcript(&[body], limit, Feed::Slices);
    let frames: Vec<NaiveFrame> = whole
        .items
        .iter()
        .filter_map(|item| item.as_ref().ok())
        .map(|(frame, _)| (frame.event.clone(), frame.data.clone(), frame.id.clone()))
        .collect();
    assert_eq!(
        whole.without_offset_after_error(),
        split.without_offset_after_error(),
        "output differs when the input is split at {cuts:?}"
    );

    split::assert_split_invariant(body, &cuts, |pieces| {
        let mut decoder = OpenAiDecoder::with_decoder(SseDecoder::with_max_event_size(limit));
        let mut items = Vec::new();
        for piece in pieces {
            decoder.push(piece);
            items.extend(decoder.events());
        }
        let end = decoder.finish();
        items.extend(decoder.events());
        OpenAiTranscript {
            items,
            end,
            done: decoder.is_done(),
        }
    });

    if limit == openai_sdk::sse::DEFAULT_MAX_EVENT_SIZE {
        if let Ok(text) = std::str::from_utf8(body) {
            let expected = naive_whatwg(text);
            assert_eq!(
                frames, expected,
                "frames differ from the naive WHATWG decoder"
            );
        }
    }
}

/// How the pieces are fed: copied (`push`), whole (`push_bytes`), or the two in turn.
#[derive(Debug, Clone, Copy)]
enum Feed {
    Slices,
    Bytes,
    Mixed,
}

impl SseTranscript {
    /// The transcript with `offset` hidden (`u64::MAX`) once an error was returned: how far
    /// the decoder read when it stopped depends on what had arrived.
    fn without_offset_after_error(mut self) -> Self {
        if self.items.iter().any(Result::is_err) {
            self.offset = u64::MAX;
        }
        self
    }
}

/// What `SseDecoder` gives for `pieces` fed as `feed`, draining after every push.
fn sse_transcript(pieces: &[&[u8]], limit: usize, feed: Feed) -> SseTranscript {
    let mut decoder = SseDecoder::with_max_event_size(limit);
    let mut items = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        match feed {
            Feed::Slices => decoder.push(piece),
            Feed::Mixed if i % 2 == 0 => decoder.push(piece),
            Feed::Bytes | Feed::Mixed => decoder.push_bytes(Bytes::copy_from_slice(piece)),
        }
        while let Some(item) = decoder.next_frame_with_position() {
            items.push(item);
        }
    }
    let end = decoder.finish();
    assert_eq!(decoder.finish(), end, "finish is not idempotent");
    while let Some(item) = decoder.next_frame_with_position() {
        items.push(item);
    }
    SseTranscript {
        items,
        end,
        last_event_id: decoder.last_event_id().map(str::to_owned),
        retry: decoder.retry(),
        offset: decoder.offset(),
        frames: decoder.frames_decoded(),
    }
}

type NaiveFrame = (Option<String>, String, Option<String>);

/// The WHATWG "interpret an event stream" algorithm, written for clarity, not speed, on
/// complete text: lines end at CRLF, LF or CR; an unterminated last line is not processed.
fn naive_whatwg(text: &str) -> Vec<NaiveFrame> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut frames = Vec::new();
    let mut data = String::new();
    let mut event = String::new();
    let mut last_id = String::new();
    let mut rest = text;
    while let Some(end) = rest.find(['\r', '\n']) {
        let line = &rest[..end];
        let after = if rest[end..].starts_with("\r\n") {
            end + 2
        } else {
            end + 1
        };
        rest = &rest[after..];
        if line.is_empty() {
            if !data.is_empty() {
                data.pop(); // the last "\n"
                let event_type = (!event.is_empty()).then(|| event.clone());
                let id = (!last_id.is_empty()).then(|| last_id.clone());
                frames.push((event_type, std::mem::take(&mut data), id));
            }
            data.clear();
            event.clear();
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.find(':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line, ""),
        };
        match field {
            "event" => event = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => last_id = value.to_owned(),
            _ => {}
        }
    }
    frames
}
