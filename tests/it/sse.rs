//! Tests of the event-stream decoder and its OpenAI layer.

use openai_sdk::sse::{
    classify, ApiErrorPayload, FramePosition, OpenAiDecoder, OpenAiFrame, SseDecoder, SseError,
    SseFrame, StreamEnd,
};
use proptest::prelude::*;
use serde_json::json;

/// Everything a decoder produces for some input: the drained items, then the end.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    items: Vec<Result<SseFrame, SseError>>,
    end: StreamEnd,
}

/// How a test feeds the decoder its chunks: copied (`push`), whole (`push_bytes`, read in
/// place), the two in turn; draining the frames after each push, or only at the end.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Feed {
    Slices,
    Bytes,
    Mixed,
    SlicesUndrained,
    BytesUndrained,
}

/// Everything a decoder gives for some chunks: the items with their positions, the end, and
/// its counters at the end.
#[derive(Debug, PartialEq)]
struct Transcript {
    items: Vec<Result<(SseFrame, FramePosition), SseError>>,
    end: StreamEnd,
    last_event_id: Option<String>,
    retry: Option<u64>,
    offset: u64,
    frames: u64,
}

fn transcript(chunks: &[&[u8]], feed: Feed, limit: usize) -> Transcript {
    let mut decoder = SseDecoder::with_max_event_size(limit);
    let mut items = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        match feed {
            Feed::Slices => decoder.push(chunk),
            Feed::Mixed if i % 2 == 0 => decoder.push(chunk),
            Feed::SlicesUndrained => decoder.push(chunk),
            _ => decoder.push_bytes(bytes::Bytes::copy_from_slice(chunk)),
        }
        if !matches!(feed, Feed::SlicesUndrained | Feed::BytesUndrained) {
            while let Some(item) = decoder.next_frame_with_position() {
                items.push(item);
            }
        }
    }
    let end = decoder.finish();
    while let Some(item) = decoder.next_frame_with_position() {
        items.push(item);
    }
    Transcript {
        items,
        end,
        last_event_id: decoder.last_event_id().map(str::to_owned),
        retry: decoder.retry(),
        offset: decoder.offset(),
        frames: decoder.frames_decoded(),
    }
}

/// The transcript of `chunks` with the limit `limit`, asserting that it is the same however
/// the chunks are fed ([`Feed`]). After an error, how far the decoder read (`offset`)
/// depends on what had arrived when it stopped, so it is compared between feeds that
/// drain alike.
fn transcript_any_feed(chunks: &[&[u8]], limit: usize) -> Transcript {
    let copied = transcript(chunks, Feed::Slices, limit);
    let undrained = transcript(chunks, Feed::SlicesUndrained, limit);
    let failed = copied.items.iter().any(Result::is_err);
    for (feed, like) in [
        (Feed::Bytes, &copied),
        (Feed::Mixed, &copied),
        (Feed::BytesUndrained, &undrained),
    ] {
        assert_eq!(
            &transcript(chunks, feed, limit),
            like,
            "fed as {feed:?} in {} chunks",
            chunks.len()
        );
    }
    let mut undrained = undrained;
    if failed {
        undrained.offset = copied.offset;
    }
    assert_eq!(
        undrained,
        copied,
        "drained at the end, in {} chunks",
        chunks.len()
    );
    copied
}

fn decode_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let chunks: Vec<&[u8]> = chunks.into_iter().collect();
    let transcript = transcript_any_feed(&chunks, openai_sdk::sse::DEFAULT_MAX_EVENT_SIZE);
    Outcome {
        items: transcript
            .items
            .into_iter()
            .map(|item| item.map(|(frame, _)| frame))
            .collect(),
        end: transcript.end,
    }
}

fn decode(input: &[u8]) -> Outcome {
    decode_chunks([input])
}

/// Pushes everything, calls `finish` first, and drains afterwards.
fn decode_finish_first(input: &[u8]) -> Outcome {
    let mut decoder = SseDecoder::new();
    decoder.push(input);
    let end = decoder.finish();
    Outcome {
        items: decoder.frames().collect(),
        end,
    }
}

/// Decodes with every chunk one byte long.
fn decode_bytewise(input: &[u8]) -> Outcome {
    decode_chunks(input.chunks(1))
}

fn frames(input: &[u8]) -> Vec<SseFrame> {
    let outcome = decode(input);
    assert_eq!(outcome, decode_bytewise(input), "split-dependent result");
    outcome
        .items
        .into_iter()
        .map(|item| item.expect("no error expected"))
        .collect()
}

fn data(text: &str) -> SseFrame {
    SseFrame {
        data: text.to_owned(),
        ..SseFrame::default()
    }
}

fn datas(input: &[u8]) -> Vec<String> {
    frames(input).into_iter().map(|frame| frame.data).collect()
}

#[test]
fn single_event_with_lf() {
    assert_eq!(frames(b"data: hello\n\n"), vec![data("hello")]);
}

#[test]
fn cr_lf_and_crlf_line_endings_are_equivalent() {
    let expected = vec!["a\nb".to_owned(), "c".to_owned()];
    assert_eq!(datas(b"data: a\ndata: b\n\ndata: c\n\n"), expected);
    assert_eq!(datas(b"data: a\rdata: b\r\rdata: c\r\r"), expected);
    assert_eq!(
        datas(b"data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n"),
        expected
    );
    assert_eq!(datas(b"data: a\rdata: b\r\n\ndata: c\n\r"), expected);
}

#[test]
fn cr_at_chunk_end_and_lf_at_next_chunk_start_are_one_line_ending() {
    let outcome = decode_chunks([&b"data: a\r"[..], b"\ndata: b\r", b"\n\r", b"\n"]);
    assert_eq!(outcome.items, vec![Ok(data("a\nb"))]);
    assert_eq!(outcome.end, StreamEnd::Clean);
    // CR then CR across chunks: two line endings, so a blank line.
    let outcome = decode_chunks([&b"data: a\r"[..], b"\r"]);
    assert_eq!(outcome.items, vec![Ok(data("a"))]);
    // LF then LF across chunks: also a blank line.
    let outcome = decode_chunks([&b"data: a\n"[..], b"\n"]);
    assert_eq!(outcome.items, vec![Ok(data("a"))]);
    // CR at a chunk end, then an ordinary byte: the CR alone ended the line.
    let outcome = decode_chunks([&b"data: a\r"[..], b"data: b\r\r"]);
    assert_eq!(outcome.items, vec![Ok(data("a\nb"))]);
}

#[test]
fn a_lone_cr_followed_by_lf_later_is_not_merged_when_separated() {
    // "\r" "x" "\n": the CR ends a line, "x" is a line ended by LF.
    let outcome = decode_chunks([&b"data: a\r"[..], b"x\n\n"]);
    assert_eq!(outcome.items, vec![Ok(data("a"))]);
}

#[test]
fn bom_at_stream_start_is_skipped() {
    assert_eq!(datas(b"\xEF\xBB\xBFdata: x\n\n"), vec!["x"]);
    // Split inside the BOM.
    let outcome = decode_chunks([&b"\xEF"[..], b"\xBB", b"\xBFdata: x\n\n"]);
    assert_eq!(outcome.items, vec![Ok(data("x"))]);
    // A BOM is skipped only at the start: a second one belongs to the field name.
    assert_eq!(
        datas(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n"),
        vec!["y"]
    );
    // BOM only.
    let outcome = decode(b"\xEF\xBB\xBF");
    assert_eq!(outcome.items, vec![]);
    assert_eq!(outcome.end, StreamEnd::Clean);
}

#[test]
fn bom_offsets_count_the_bom_bytes() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"\xEF\xBB\xBFdata: x\n\n");
    let (_, position) = decoder.next_frame_with_position().unwrap().unwrap();
    assert_eq!(
        position,
        FramePosition {
            number: 0,
            offset: 3
        }
    );
    assert_eq!(decoder.offset(), 12);
}

#[test]
fn partial_bom_is_content() {
    // EF BB followed by 'd' is not UTF-8.
    let outcome = decode(b"\xEF\xBBdata: x\n\n");
    assert_eq!(
        outcome.items,
        vec![Err(SseError::InvalidUtf8 { offset: 0 })]
    );
    assert_eq!(outcome, decode_bytewise(b"\xEF\xBBdata: x\n\n"));
    // A stream that is only a partial BOM ends mid-line.
    let outcome = decode(b"\xEF\xBB");
    assert_eq!(
        outcome.end,
        StreamEnd::Incomplete {
            offset: 0,
            pending_bytes: 2,
            has_data: false
        }
    );
}

#[test]
fn comments_are_ignored() {
    assert_eq!(
        datas(b": hello\n:\n\ndata: a\n: between\ndata: b\n\n:last\n"),
        vec!["a\nb"]
    );
    let outcome = decode(b": ping\n\n: ping\n\n");
    assert_eq!(outcome.items, vec![]);
    assert_eq!(outcome.end, StreamEnd::Clean);
}

#[test]
fn multi_line_data_is_joined_with_lf() {
    assert_eq!(datas(b"data: 1\ndata: 2\ndata: 3\n\n"), vec!["1\n2\n3"]);
    assert_eq!(datas(b"data\ndata\n\n"), vec!["\n"]);
    assert_eq!(datas(b"data:\n\n"), vec![""]);
    assert_eq!(datas(b"data: a\ndata:\n\n"), vec!["a\n"]);
}

#[test]
fn only_one_space_after_the_colon_is_removed() {
    assert_eq!(datas(b"data:x\n\n"), vec!["x"]);
    assert_eq!(datas(b"data: x\n\n"), vec!["x"]);
    assert_eq!(datas(b"data:  x \n\n"), vec![" x "]);
    assert_eq!(datas(b"data:\tx\n\n"), vec!["\tx"]);
    assert_eq!(datas(b"data: a: b\n\n"), vec!["a: b"]);
}

#[test]
fn field_without_colon_has_an_empty_value() {
    let got = frames(b"event\ndata\n\n");
    assert_eq!(got, vec![data("")]);
}

#[test]
fn event_type_applies_to_one_event() {
    let got = frames(
        b"event: first\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\nevent: a\nevent: b\ndata: 4\n\n",
    );
    let events: Vec<Option<&str>> = got.iter().map(|f| f.event.as_deref()).collect();
    assert_eq!(events, vec![Some("first"), None, None, Some("b")]);
    assert_eq!(got[0].event_type(), "first");
    assert_eq!(got[1].event_type(), "message");
}

#[test]
fn event_without_data_is_not_dispatched() {
    let outcome = decode(b"event: nothing\n\nid: 7\n\nretry: 5\n\ndata: x\n\n");
    assert_eq!(outcome.items.len(), 1);
    let frame = outcome.items[0].clone().unwrap();
    assert_eq!(frame.event, None, "event type is reset by the blank line");
    assert_eq!(frame.id.as_deref(), Some("7"), "the id persists");
    assert_eq!(frame.retry, None, "retry belonged to the earlier block");
    assert_eq!(outcome.end, StreamEnd::Clean);
}

#[test]
fn id_persists_until_replaced_or_reset() {
    let got = frames(
        b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\nid\ndata: d\n\nid: x\0y\ndata: e\n\n",
    );
    let ids: Vec<Option<&str>> = got.iter().map(|f| f.id.as_deref()).collect();
    assert_eq!(ids, vec![Some("1"), Some("1"), Some("2"), None, None]);
    let mut decoder = SseDecoder::new();
    decoder.push(b"id: abc\ndata: x\n\n");
    assert_eq!(
        decoder.last_event_id(),
        None,
        "nothing parsed before draining"
    );
    assert!(decoder.next_frame().is_some());
    assert_eq!(decoder.last_event_id(), Some("abc"));
}

#[test]
fn retry_accepts_ascii_digits_only() {
    let got = frames(
        b"retry: 1000\ndata: a\n\nretry: 10a\ndata: b\n\nretry:\ndata: c\n\nretry: -1\ndata: d\n\nretry: 99999999999999999999999\ndata: e\n\nretry:  5\ndata: f\n\n",
    );
    let retries: Vec<Option<u64>> = got.iter().map(|f| f.retry).collect();
    assert_eq!(retries, vec![Some(1000), None, None, None, None, None]);
    let mut decoder = SseDecoder::new();
    decoder.push(b"retry: 250\n\nretry: x\n\n");
    assert_eq!(decoder.next_frame(), None, "no data, no frame");
    assert_eq!(decoder.retry(), Some(250));
}

#[test]
fn unknown_fields_are_ignored() {
    assert_eq!(
        frames(b"foo: bar\ndata: x\nDATA: y\nData: z\n\n"),
        vec![data("x")]
    );
}

#[test]
fn unicode_is_kept_even_when_split_inside_a_character() {
    let input = "data: héllo € 😀\n\n".as_bytes();
    assert_eq!(datas(input), vec!["héllo € 😀"]);
}

#[test]
fn stream_end_reports_cut_off_events() {
    let outcome = decode(b"data: a\n\n");
    assert_eq!(outcome.end, StreamEnd::Clean);

    // A complete data line without the blank line: dropped, reported.
    let outcome = decode(b"data: a\n\ndata: b\n");
    assert_eq!(outcome.items, vec![Ok(data("a"))]);
    assert_eq!(
        outcome.end,
        StreamEnd::Incomplete {
            offset: 9,
            pending_bytes: 8,
            has_data: true
        }
    );

    // A line without its line ending.
    let outcome = decode(b"data: a\n\ndata: b");
    assert_eq!(
        outcome.end,
        StreamEnd::Incomplete {
            offset: 9,
            pending_bytes: 7,
            has_data: true
        }
    );
    assert!(matches!(
        outcome.end.into_result(),
        Err(SseError::IncompleteEvent {
            offset: 9,
            pending_bytes: 7
        })
    ));

    // Fields but no data.
    let outcome = decode(b"event: x\n");
    assert_eq!(
        outcome.end,
        StreamEnd::Incomplete {
            offset: 0,
            pending_bytes: 9,
            has_data: false
        }
    );

    // A partial field name that may become data is not counted as data.
    let outcome = decode(b"dat");
    assert!(matches!(
        outcome.end,
        StreamEnd::Incomplete {
            has_data: false,
            ..
        }
    ));

    // Comments after the last event, even unterminated, are a clean end.
    let outcome = decode(b"data: a\n\n: bye\n: cut");
    assert_eq!(outcome.end, StreamEnd::Clean);
    assert!(outcome.end.is_clean());
    assert_eq!(outcome.end.into_result(), Ok(()));
}

#[test]
fn finish_is_idempotent_and_stops_input() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"data: a\n\ndata: b");
    let end = decoder.finish();
    assert_eq!(decoder.finish(), end);
    decoder.push(b"\n\ndata: c\n\n");
    assert_eq!(decoder.next_frame(), Some(Ok(data("a"))));
    assert_eq!(decoder.next_frame(), None);
    assert_eq!(decoder.frames_decoded(), 1);
}

#[test]
fn frame_positions_count_events_and_bytes() {
    let mut decoder = SseDecoder::new();
    decoder.push(b": c\n\ndata: a\n\nevent: e\ndata: b\n\n");
    let positions: Vec<FramePosition> = std::iter::from_fn(|| decoder.next_frame_with_position())
        .map(|item| item.unwrap().1)
        .collect();
    assert_eq!(
        positions,
        vec![
            FramePosition {
                number: 0,
                offset: 5
            },
            FramePosition {
                number: 1,
                offset: 14
            },
        ]
    );
}

#[test]
fn invalid_utf8_is_an_error_with_its_offset() {
    let input = b"data: ok\n\ndata: b\xFFd\n\ndata: never\n\n";
    let outcome = decode(input);
    assert_eq!(
        outcome.items,
        vec![Ok(data("ok")), Err(SseError::InvalidUtf8 { offset: 17 })]
    );
    assert_eq!(outcome, decode_bytewise(input));
}

#[test]
fn invalid_utf8_split_across_pushes() {
    // A 3-byte character cut short by the line ending, delivered in pieces.
    let outcome = decode_chunks([&b"data: \xE2"[..], b"\x82", b"\n\n"]);
    assert_eq!(
        outcome.items,
        vec![Err(SseError::InvalidUtf8 { offset: 6 })]
    );
    // A valid character split across pushes is fine.
    let outcome = decode_chunks([&b"data: \xE2"[..], b"\x82", b"\xAC\n\n"]);
    assert_eq!(outcome.items, vec![Ok(data("€"))]);
    // Invalid bytes in a comment or unknown field are errors too: the stream is UTF-8.
    let outcome = decode_chunks([&b": \xC3"[..], b"(\n"]);
    assert_eq!(
        outcome.items,
        vec![Err(SseError::InvalidUtf8 { offset: 2 })]
    );
}

#[test]
fn decoder_stops_after_an_error() {
    let mut decoder = SseDecoder::new();
    decoder.push(b"data: \xFF\n\n");
    assert_eq!(
        decoder.next_frame(),
        Some(Err(SseError::InvalidUtf8 { offset: 6 }))
    );
    decoder.push(b"data: fine\n\n");
    assert_eq!(decoder.next_frame(), None);
}

#[test]
fn too_large_lines_and_events_are_errors() {
    let mut decoder = SseDecoder::with_max_event_size(16);
    decoder.push(b"data: 0123456789\n\n"); // 16-byte line: allowed
    assert_eq!(decoder.next_frame(), Some(Ok(data("0123456789"))));
    decoder.push(b"data: 0123456789A");
    assert_eq!(
        decoder.next_frame(),
        Some(Err(SseError::EventTooLarge {
            offset: 18,
            limit: 16
        }))
    );

    // Pushed byte by byte: the limit holds while the line is still unfinished.
    let mut decoder = SseDecoder::with_max_event_size(16);
    for byte in b"data: 0123456789ABCDEF" {
        decoder.push(std::slice::from_ref(byte));
    }
    assert_eq!(
        decoder.next_frame(),
        Some(Err(SseError::EventTooLarge {
            offset: 0,
            limit: 16
        }))
    );

    // Many short data lines add up.
    let mut decoder = SseDecoder::with_max_event_size(16);
    decoder.push(b"data: 12345\ndata: 12345\ndata: 12345\n\n");
    assert_eq!(
        decoder.next_frame(),
        Some(Err(SseError::EventTooLarge {
            offset: 0,
            limit: 16
        }))
    );
}

fn big_event(len: usize) -> (Vec<u8>, String) {
    let pattern = "abcdefghij€😀 {\"k\": [1, 2]} ";
    let mut payload = String::with_capacity(len + pattern.len());
    while payload.len() < len {
        payload.push_str(pattern);
    }
    let mut input = Vec::with_capacity(payload.len() + 16);
    input.extend_from_slice(b"data: ");
    input.extend_from_slice(payload.as_bytes());
    input.extend_from_slice(b"\r\n\r\n");
    (input, payload)
}

#[test]
fn ten_megabyte_event_in_one_byte_pieces() {
    let (input, payload) = big_event(10 * 1024 * 1024);
    let mut decoder = SseDecoder::new();
    let mut got = Vec::new();
    for byte in &input {
        decoder.push(std::slice::from_ref(byte));
        got.extend(decoder.frames());
    }
    assert_eq!(decoder.finish(), StreamEnd::Clean);
    assert_eq!(got.len(), 1);
    let frame = got.pop().unwrap().unwrap();
    assert_eq!(frame.data.len(), payload.len());
    assert!(frame.data == payload);
}

#[test]
fn ten_megabyte_event_in_four_kilobyte_pieces() {
    let (input, payload) = big_event(10 * 1024 * 1024);
    let mut decoder = SseDecoder::new();
    let mut got = Vec::new();
    for chunk in input.chunks(4096) {
        decoder.push(chunk);
        got.extend(decoder.frames());
    }
    decoder.push(b"data: after\n\n");
    got.extend(decoder.frames());
    assert_eq!(decoder.finish(), StreamEnd::Clean);
    assert_eq!(got.len(), 2);
    assert!(got[0].as_ref().unwrap().data == payload);
    assert_eq!(got[1], Ok(data("after")));
}

// ---------------------------------------------------------------------------
// OpenAI layer

fn openai_chunks<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<Result<SseFrame, SseError>>, StreamEnd, bool) {
    let chunks: Vec<&[u8]> = chunks.into_iter().collect();
    let run = |whole: bool| {
        let mut decoder = OpenAiDecoder::new();
        let mut items = Vec::new();
        for chunk in &chunks {
            if whole {
                decoder.push_bytes(bytes::Bytes::copy_from_slice(chunk));
            } else {
                decoder.push(chunk);
            }
            items.extend(decoder.events());
        }
        let end = decoder.finish();
        items.extend(decoder.events());
        (items, end, decoder.is_done())
    };
    let copied = run(false);
    assert_eq!(run(true), copied, "push_bytes differs from push");
    copied
}

fn openai(input: &[u8]) -> (Vec<Result<SseFrame, SseError>>, StreamEnd, bool) {
    let whole = openai_chunks([input]);
    assert_eq!(
        whole,
        openai_chunks(input.chunks(1)),
        "split-dependent result"
    );
    whole
}

#[test]
fn done_ends_the_stream_and_everything_after_is_ignored() {
    let input = b"data: {\"a\":1}\n\ndata: [DONE]\n\ndata: {\"b\":2}\n\ndata: \xFF\xFE garbage\n\ndata: {\"error\":{}}\n\ndata: cut";
    let (items, end, done) = openai(input);
    assert_eq!(items, vec![Ok(data("{\"a\":1}"))]);
    assert_eq!(end, StreamEnd::Clean);
    assert!(done);
}

#[test]
fn finish_before_draining_still_honours_done() {
    let mut decoder = OpenAiDecoder::new();
    decoder.push(b"data: {\"a\":1}\n\ndata: [DONE]\n\ndata: cut off");
    assert_eq!(decoder.finish(), StreamEnd::Clean);
    assert_eq!(decoder.next_event(), Some(Ok(data("{\"a\":1}"))));
    assert_eq!(decoder.next_event(), None);
    assert!(decoder.is_done());

    // Without [DONE] the cut-off event is reported.
    let mut decoder = OpenAiDecoder::new();
    decoder.push(b"data: {\"a\":1}\n\ndata: cut off");
    assert!(matches!(
        decoder.finish(),
        StreamEnd::Incomplete { has_data: true, .. }
    ));
    assert_eq!(decoder.next_event(), Some(Ok(data("{\"a\":1}"))));
    assert_eq!(decoder.next_event(), None);
}

#[test]
fn done_is_matched_as_a_prefix_like_the_reference() {
    let frame = data("[DONE] trailing");
    assert_eq!(classify(&frame), OpenAiFrame::Done);
    assert_eq!(
        classify(&data(" [DONE]")),
        OpenAiFrame::Payload {
            event: None,
            data: " [DONE]"
        }
    );
}

#[test]
fn stream_without_done_can_end_cleanly_or_cut_off() {
    let (items, end, done) = openai(b"event: response.created\ndata: {\"x\":1}\n\n");
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].as_ref().unwrap().event.as_deref(),
        Some("response.created")
    );
    assert_eq!(end, StreamEnd::Clean);
    assert!(!done);

    let (_, end, _) = openai(b"data: {\"x\":1}\n\ndata: {\"x\"");
    assert!(matches!(end, StreamEnd::Incomplete { has_data: true, .. }));
}

#[test]
fn error_payload_becomes_an_api_error() {
    let input = b"data: {\"a\":1}\n\ndata: {\"error\": {\"message\": \"Rate limit\", \"type\": \"requests\", \"code\": \"rate_limit_exceeded\", \"param\": null, \"extra\": 5}}\n\ndata: {\"b\":2}\n\n";
    let (items, _, done) = openai(input);
    assert!(!done);
    assert_eq!(items.len(), 2, "the error ends the stream");
    let Err(SseError::Api {
        event_number,
        offset,
        payload,
    }) = &items[1]
    else {
        panic!("expected an API error, got {:?}", items[1]);
    };
    assert_eq!(*event_number, 1);
    assert_eq!(*offset, 15);
    assert_eq!(payload.message, "Rate limit");
    assert_eq!(payload.r#type.as_deref(), Some("requests"));
    assert_eq!(payload.code.as_deref(), Some("rate_limit_exceeded"));
    assert_eq!(payload.param, None);
    assert_eq!(payload.raw["error"]["extra"], json!(5));
    assert_eq!(
        payload.to_string(),
        "Rate limit (type: requests, code: rate_limit_exceeded)"
    );
    let message = items[1].as_ref().unwrap_err().to_string();
    assert!(message.contains("event #1"), "{message}");
    assert!(message.contains("Rate limit"), "{message}");
}

#[test]
fn error_key_anywhere_at_top_level_is_detected() {
    let frame = data("  {\"id\": \"x\", \"error\": {\"message\": \"boom\"}}");
    let OpenAiFrame::ApiError(error) = classify(&frame) else {
        panic!("not detected");
    };
    assert_eq!(error.message, "boom");
    // Without a message: the reference's default text.
    let OpenAiFrame::ApiError(error) = classify(&data("{\"error\": {\"code\": 500}}")) else {
        panic!("not detected");
    };
    assert_eq!(error.message, "An error occurred during streaming");
    assert_eq!(error.code.as_deref(), Some("500"));
    // A bare string error.
    let OpenAiFrame::ApiError(error) = classify(&data("{\"error\": \"nope\"}")) else {
        panic!("not detected");
    };
    assert_eq!(error.message, "nope");
}

#[test]
fn falsy_or_nested_error_keys_are_payloads() {
    for text in [
        "{\"error\": null}",
        "{\"error\": {}}",
        "{\"error\": \"\"}",
        "{\"error\": false}",
        "{\"error\": 0}",
        "{\"error\": []}",
        "{\"response\": {\"error\": {\"message\": \"nested\"}}}",
        "{\"choices\":[{\"delta\":{\"content\":\"error\"}}]}",
        "[{\"error\": {\"message\": \"in a list\"}}]",
        "not json \"error\"",
    ] {
        assert_eq!(
            classify(&data(text)),
            OpenAiFrame::Payload {
                event: None,
                data: text
            },
            "{text}"
        );
    }
}

#[test]
fn error_event_is_an_api_error() {
    // Responses-style error event: the fields are at the top level.
    let input = b"event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"The server had an error\",\"param\":null,\"sequence_number\":3}\n\n";
    let (items, _, _) = openai(input);
    let [Err(SseError::Api { payload, .. })] = items.as_slice() else {
        panic!("expected one API error, got {items:?}");
    };
    assert_eq!(payload.message, "The server had an error");
    assert_eq!(payload.code.as_deref(), Some("server_error"));
    assert_eq!(payload.r#type.as_deref(), Some("error"));
    assert_eq!(payload.raw["sequence_number"], json!(3));

    // Wrapped form.
    let frame = SseFrame {
        event: Some("error".into()),
        data: "{\"error\":{\"message\":\"wrapped\"}}".into(),
        ..SseFrame::default()
    };
    let OpenAiFrame::ApiError(error) = classify(&frame) else {
        panic!("not an error");
    };
    assert_eq!(error.message, "wrapped");

    // Not JSON: the text is the message.
    let frame = SseFrame {
        event: Some("error".into()),
        data: "upstream timeout".into(),
        ..SseFrame::default()
    };
    assert_eq!(
        classify(&frame),
        OpenAiFrame::ApiError(ApiErrorPayload {
            message: "upstream timeout".into(),
            r#type: None,
            code: None,
            param: None,
            raw: json!("upstream timeout"),
        })
    );
}

#[test]
fn empty_data_is_an_error() {
    let (items, _, _) = openai(b"data: {}\n\ndata:\n\ndata: {}\n\n");
    assert_eq!(
        items,
        vec![
            Ok(data("{}")),
            Err(SseError::EmptyData {
                event_number: 1,
                offset: 10
            })
        ]
    );
    assert_eq!(classify(&data(" \n ")), OpenAiFrame::EmptyData);
    // An event with no data lines at all is not an event: no error.
    let (items, _, _) = openai(b"event: ping\n\ndata: {}\n\n");
    assert_eq!(items, vec![Ok(data("{}"))]);
}

#[test]
fn assistants_events_keep_their_names() {
    let (items, _, done) = openai(
        b"event: thread.created\ndata: {\"id\":\"t\"}\n\nevent: thread.message.delta\ndata: {\"id\":\"m\"}\n\nevent: done\ndata: [DONE]\n\n",
    );
    let names: Vec<Option<String>> = items.into_iter().map(|i| i.unwrap().event).collect();
    assert_eq!(
        names,
        vec![
            Some("thread.created".to_owned()),
            Some("thread.message.delta".to_owned())
        ]
    );
    assert!(done);
}

#[test]
fn openai_decoder_surfaces_framing_errors_once() {
    let (items, _, _) = openai(b"data: {}\n\ndata: \xC0\n\ndata: {}\n\n");
    assert_eq!(
        items,
        vec![Ok(data("{}")), Err(SseError::InvalidUtf8 { offset: 16 })]
    );
}

#[test]
fn openai_decoder_exposes_the_frame_decoder() {
    let mut decoder = OpenAiDecoder::with_decoder(SseDecoder::with_max_event_size(1024));
    decoder.push(b"id: 42\ndata: {}\n\n");
    assert!(decoder.next_event().unwrap().is_ok());
    assert_eq!(decoder.sse().last_event_id(), Some("42"));
}

// ---------------------------------------------------------------------------
// Properties

/// A straightforward WHATWG decoder working on the whole input at once, to compare
/// against. Only for valid UTF-8 input.
fn model_decode(input: &str) -> Vec<SseFrame> {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut current));
            }
            '\n' => lines.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    let mut out = Vec::new();
    let (mut data, mut has_data, mut event, mut id, mut retry) =
        (String::new(), false, String::new(), String::new(), None);
    for line in lines {
        if line.is_empty() {
            if has_data {
                out.push(SseFrame {
                    event: (!event.is_empty()).then(|| event.clone()),
                    data: data.clone(),
                    id: (!id.is_empty()).then(|| id.clone()),
                    retry,
                });
            }
            data.clear();
            has_data = false;
            event.clear();
            retry = None;
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (name, value) = match line.find(':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line.as_str(), ""),
        };
        match name {
            "data" => {
                if has_data {
                    data.push('\n');
                }
                data.push_str(value);
                has_data = true;
            }
            "event" => event = value.to_owned(),
            "id" if !value.contains('\0') => id = value.to_owned(),
            "retry" if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) => {
                if let Ok(v) = value.parse() {
                    retry = Some(v);
                }
            }
            _ => {}
        }
    }
    out
}

fn stream_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("data"),
        Just("data:"),
        Just("data: "),
        Just("event:"),
        Just("event: e"),
        Just("id:"),
        Just("id: 1"),
        Just("retry:"),
        Just("retry: 15"),
        Just(":"),
        Just(" "),
        Just("x"),
        Just("é"),
        Just("€"),
        Just("😀"),
        Just("\0"),
        Just("7"),
        Just("{\"error\":{}}"),
        Just("{\"error\":{\"message\":\"m\"}}"),
        Just("{\"x\":1}"),
        Just("[DONE]"),
        Just("\r"),
        Just("\n"),
        Just("\r\n"),
        Just("\n\n"),
        Just("\u{feff}"),
    ];
    (any::<bool>(), prop::collection::vec(token, 0..60)).prop_map(|(bom, tokens)| {
        let mut text = String::new();
        if bom {
            text.push('\u{feff}');
        }
        for token in tokens {
            text.push_str(token);
        }
        text
    })
}

/// Splits `input` at the given cut points (taken modulo its length).
fn split_at_cuts<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|cut| cut % (input.len() + 1)).collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for point in points {
        pieces.push(&input[start..point]);
        start = point;
    }
    pieces.push(&input[start..]);
    pieces
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_split_of_a_valid_stream_gives_the_same_frames(
        text in stream_text(),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let input = text.as_bytes();
        let whole = decode(input);
        let pieces = decode_chunks(split_at_cuts(input, &cuts));
        prop_assert_eq!(&pieces, &whole);
        prop_assert_eq!(&decode_finish_first(input), &whole);
        let whole_openai = openai_chunks([input]);
        prop_assert_eq!(&openai_chunks(split_at_cuts(input, &cuts)), &whole_openai);
        let mut decoder = OpenAiDecoder::new();
        decoder.push(input);
        let end = decoder.finish();
        let items: Vec<_> = decoder.events().collect();
        prop_assert_eq!((items, end, decoder.is_done()), whole_openai);
        let frames: Vec<SseFrame> = whole.items.into_iter().map(|item| item.unwrap()).collect();
        prop_assert_eq!(frames, model_decode(&text));
    }

    #[test]
    fn any_split_of_arbitrary_bytes_gives_the_same_outcome(
        bytes in prop::collection::vec(
            prop_oneof![
                Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '), Just(b'd'),
                Just(0xEF), Just(0xBB), Just(0xBF), Just(0x80), Just(0xFF),
                any::<u8>()
            ],
            0..200,
        ),
        prefix in prop_oneof![Just(&b""[..]), Just(&b"data: "[..]), Just(&b"\xEF\xBB"[..])],
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut input = prefix.to_vec();
        input.extend_from_slice(&bytes);
        let whole = decode(&input);
        prop_assert_eq!(&decode_chunks(split_at_cuts(&input, &cuts)), &whole);
        prop_assert_eq!(&decode_bytewise(&input), &whole);
        prop_assert_eq!(&decode_finish_first(&input), &whole);
        let whole_openai = openai_chunks([input.as_slice()]);
        prop_assert_eq!(&openai_chunks(split_at_cuts(&input, &cuts)), &whole_openai);
        let mut decoder = OpenAiDecoder::new();
        decoder.push(&input);
        let end = decoder.finish();
        let items: Vec<_> = decoder.events().collect();
        prop_assert_eq!((items, end, decoder.is_done()), whole_openai);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Bytes read in place (`push_bytes`) give what copied bytes give, with small limits
    /// too (lines and events over the limit, split anywhere).
    #[test]
    fn bytes_read_in_place_give_what_copied_bytes_give(
        bytes in prop::collection::vec(
            prop_oneof![
                Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '), Just(b'd'),
                Just(b'a'), Just(b't'), Just(0xEF), Just(0xBB), Just(0xBF), Just(0xFF),
                any::<u8>()
            ],
            0..300,
        ),
        prefix in prop_oneof![Just(&b""[..]), Just(&b"data: "[..]), Just(&b"\xEF\xBB"[..])],
        limit in prop_oneof![Just(4usize), Just(8), Just(40), Just(300)],
        cuts in prop::collection::vec(any::<usize>(), 0..24),
    ) {
        let mut input = prefix.to_vec();
        input.extend_from_slice(&bytes);
        transcript_any_feed(&split_at_cuts(&input, &cuts), limit);
        transcript_any_feed(&input.chunks(1).collect::<Vec<_>>(), limit);
    }
}

/// Once its frames are drained, the decoder holds no reference to a chunk it read in place
/// (an HTTP client can then reuse the buffer the chunk came from).
#[test]
fn bytes_read_in_place_are_let_go_once_drained() {
    for body in [
        &b"data: 1\n\ndata: 2\n\ndata: 3"[..],
        b"data: 1\n\n",
        b"data: 1\r\n\r",
        b"data: 1\r",
        b"data",
    ] {
        let mut decoder = SseDecoder::new();
        decoder.push(b"\xEF\xBB\xBF: a BOM, then a comment\n");
        let chunk = bytes::Bytes::from(body.to_vec());
        decoder.push_bytes(chunk.clone());
        while let Some(frame) = decoder.next_frame() {
            frame.unwrap();
        }
        assert!(chunk.is_unique(), "the decoder still holds {body:?}");
    }
}

#[test]
fn a_line_read_in_place_may_span_many_pushes() {
    let body = b"data: {\"a\":\r\n: c\r\n\r\ndata: 1}\r\r\nid: 7\nretry: 5\n\n";
    let whole = transcript_any_feed(&[body], 64);
    assert_eq!(whole.items.len(), 2);
    assert_eq!(whole.last_event_id.as_deref(), Some("7"));
    for a in 0..=body.len() {
        for b in a..=body.len() {
            let chunks = [&body[..a], &body[a..b], &body[b..]];
            let split = transcript_any_feed(&chunks, 64);
            assert_eq!(split.items, whole.items, "split at {a}, {b}");
            assert_eq!(split.offset, whole.offset, "split at {a}, {b}");
        }
    }
}

/// Regression (found by the `chat_stream` fuzz target): with CRLF line ends, the decoder's
/// offset after each frame (which error messages report) was one byte further when the LF
/// had arrived with its CR than when the input was split between them.
#[test]
fn offsets_after_frames_do_not_depend_on_a_split_between_cr_and_lf() {
    let body = b"data: {\"a\":1}\r\n\r\nevent: x\r\ndata: 2\r\n\r\ndata: [DONE]\r\n\r\n";
    let offsets = |pieces: &[&[u8]]| {
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        for p in pieces {
            d.push(p);
            while let Some(frame) = d.next_frame() {
                frame.unwrap();
                out.push(d.offset());
            }
        }
        out
    };
    let whole = offsets(&[body]);
    assert_eq!(whole.len(), 3);
    for cut in 1..body.len() {
        let (a, b) = body.split_at(cut);
        assert_eq!(offsets(&[a, b]), whole, "split at {cut}");
    }
}
