//! A direct reading of a flat event into [`Wire`], without serde's machinery: the hot
//! events (the deltas) are small objects of strings and integers, and reading them key by
//! key costs a fraction of a derived `Deserialize` (which went through a visitor, an
//! `Option` and a field enum per member).
//!
//! It reads only what it fully understands and answers `None` for anything else (an
//! escaped key, a repeated field, a number that is not a plain non-negative integer where
//! an integer is read, a surrogate escape, deep nesting, ...): `serde_json` then reads the
//! text as before, errors included. Whenever it answers, the answer is the one
//! `serde_json::from_str::<Wire>` gives (the tests compare both on generated and mutated
//! events).

use std::borrow::Cow;

use super::{intern, Wire};

/// Nesting accepted in skipped values (below `serde_json`'s limit of 128).
const MAX_DEPTH: u32 = 32;

/// How the API writes the start of an event.
const LEAD: &str = "{\"type\":\"";

/// `text` as a [`Wire`], or `None` when the text is not plainly one (see the module).
/// `kind` is the event's `type` when the caller knows it: if the text starts
/// `{"type":"<kind>"` exactly (as the API writes it), that member is not read again.
pub(super) fn wire(text: &str, kind: Option<&'static str>) -> Option<Wire> {
    let mut s = Scanner { text, at: 0 };
    let mut w = Wire {
        kind: Cow::Borrowed(""),
        sequence_number: None,
        output_index: None,
        content_index: None,
        summary_index: None,
        annotation_index: None,
        item_id: None,
        delta: None,
        text: None,
        arguments: None,
        refusal: None,
        input: None,
        code: None,
    };
    // One bit per field read: a repeated field is serde's error.
    let mut seen = 0u16;
    let mut field = |bit: u16| {
        let repeated = seen & bit != 0;
        seen |= bit;
        (!repeated).then_some(())
    };
    let lead = kind.filter(|kind| {
        let rest = text.as_bytes().strip_prefix(LEAD.as_bytes());
        rest.and_then(|rest| rest.strip_prefix(kind.as_bytes()))
            .is_some_and(|rest| rest.first() == Some(&b'"'))
    });
    let mut first = true;
    if let Some(kind) = lead {
        field(1)?;
        w.kind = Cow::Borrowed(kind);
        s.at = LEAD.len() + kind.len() + 1;
        first = false;
    } else {
        s.ws();
        s.eat(b'{')?;
    }
    loop {
        if !first {
            s.ws();
            match s.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
        first = false;
        s.ws();
        let key = s.key()?;
        s.ws();
        s.eat(b':')?;
        s.ws();
        match key {
            "type" => {
                field(1)?;
                w.kind = intern(&s.string()?);
            }
            "sequence_number" => {
                field(1 << 1)?;
                w.sequence_number = s.nullable(Scanner::int)?;
            }
            "output_index" => {
                field(1 << 2)?;
                w.output_index = s.nullable(Scanner::int)?;
            }
            "content_index" => {
                field(1 << 3)?;
                w.content_index = s.nullable(Scanner::int)?;
            }
            "summary_index" => {
                field(1 << 4)?;
                w.summary_index = s.nullable(Scanner::int)?;
            }
            "annotation_index" => {
                field(1 << 5)?;
                w.annotation_index = s.nullable(Scanner::int)?;
            }
            "item_id" => {
                field(1 << 6)?;
                w.item_id = s.nullable(Scanner::owned)?;
            }
            "delta" => {
                field(1 << 7)?;
                w.delta = s.nullable(Scanner::owned)?;
            }
            "text" => {
                field(1 << 8)?;
                w.text = s.nullable(Scanner::owned)?;
            }
            "arguments" => {
                field(1 << 9)?;
                w.arguments = s.nullable(Scanner::owned)?;
            }
            "refusal" => {
                field(1 << 10)?;
                w.refusal = s.nullable(Scanner::owned)?;
            }
            "input" => {
                field(1 << 11)?;
                w.input = s.nullable(Scanner::owned)?;
            }
            // Any JSON value there (`string_or_other`): left to serde.
            "code" => return None,
            _ => s.skip(0)?,
        }
    }
    s.ws();
    // `type` is required; nothing but whitespace may follow the object.
    (seen & 1 != 0 && s.at == text.len()).then_some(w)
}

/// The index of the first `"`, `\` or control character of `bytes`, eight bytes at a
/// time (of the bytes a word flags, the lowest is always a real one).
fn stop(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // High bit set in the lowest byte of `x` below `n` (and maybe in bytes above it).
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in words.by_ref() {
        let mut b = [0; 8];
        b.copy_from_slice(word);
        let x = u64::from_le_bytes(b);
        let flagged = (below(x ^ (ONES * u64::from(b'"')), 1)
            | below(x ^ (ONES * u64::from(b'\\')), 1)
            | below(x, 0x20))
            & HIGHS;
        if flagged != 0 {
            return Some(at + flagged.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|i| at + i)
}

/// A position in the text of an event.
struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    /// Skips JSON whitespace.
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// `null` (`None`), or what `read` reads.
    fn nullable<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.peek()? == b'n' {
            self.literal("null")?;
            return Some(None);
        }
        read(self).map(Some)
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let end = self.at + word.len();
        (self.text.as_bytes().get(self.at..end)? == word.as_bytes()).then(|| self.at = end)
    }

    /// A key: a string without escapes.
    fn key(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let rest = self.text.as_bytes().get(start..)?;
        let end = stop(rest)?;
        if rest[end] != b'"' {
            return None;
        }
        self.at = start + end + 1;
        self.text.get(start..start + end)
    }

    /// A plain non-negative integer that fits `i64` (at most 18 digits, no leading zero,
    /// no fraction or exponent); anything else is left to serde.
    fn int(&mut self) -> Option<i64> {
        let start = self.at;
        let bytes = self.text.as_bytes();
        let digits = bytes
            .get(start..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let end = start + digits;
        if digits == 0 || digits > 18 || (digits > 1 && bytes[start] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = bytes.get(end) {
            return None;
        }
        self.at = end;
        Some(
            bytes[start..end]
                .iter()
                .fold(0, |n, d| n * 10 + i64::from(d - b'0')),
        )
    }

    fn owned(&mut self) -> Option<String> {
        self.string().map(Cow::into_owned)
    }

    /// A string, borrowed when it has no escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let mut out: Option<String> = None;
        loop {
            let start = self.at;
            let rest = self.text.as_bytes().get(start..)?;
            let end = stop(rest)?;
            // `"` and `\` are ASCII: both ends are character boundaries.
            let run = self.text.get(start..start + end)?;
            self.at = start + end + 1;
            match rest[end] {
                b'"' => {
                    return Some(match out {
                        None => Cow::Borrowed(run),
                        Some(mut out) => {
                            out.push_str(run);
                            Cow::Owned(out)
                        }
                    })
                }
                b'\\' => {
                    let out = out.get_or_insert_with(String::new);
                    out.push_str(run);
                    out.push(self.escape()?);
                }
                // Control characters must be escaped.
                _ => return None,
            }
        }
    }

    /// The character of an escape, after its `\`. A `\u` escape of a surrogate is left
    /// to serde (a pair is one character, a lone one an error).
    fn escape(&mut self) -> Option<char> {
        let b = self.next()?;
        if b != b'u' {
            return crate::parsing::simple_escape(b);
        }
        let hex = self.text.get(self.at..self.at + 4)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.at += 4;
        char::from_u32(u32::from_str_radix(hex, 16).ok()?)
    }

    /// Skips a JSON value of a member the state does not read.
    fn skip(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'n' => self.literal("null"),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'-' | b'0'..=b'9' => self.number(),
            open @ (b'[' | b'{') if depth < MAX_DEPTH => {
                self.at += 1;
                self.ws();
                let close = if open == b'[' { b']' } else { b'}' };
                if self.peek()? == close {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    self.ws();
                    if open == b'{' {
                        self.key()?;
                        self.ws();
                        self.eat(b':')?;
                        self.ws();
                    }
                    self.skip(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => continue,
                        b if b == close => return Some(()),
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }

    /// Skips a number of JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.some_digits()?;
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DELTA: &str = r#"{"type":"response.function_call_arguments.delta","sequence_number":7,"item_id":"fc_1","output_index":0,"delta":"{\"a\":","obfuscation":"Xy3"}"#;
    const TEXT: &str = r#"{"type":"response.output_text.delta","sequence_number":12,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi\n","logprobs":[{"token":"Hi","logprob":-0.25,"bytes":[72,105],"top_logprobs":[]}],"obfuscation":"a"}"#;

    /// What serde reads, as the scanner's type (`None` for serde's error).
    fn serde(text: &str) -> Option<Wire> {
        serde_json::from_str::<Wire>(text).ok()
    }

    /// The scanner's answer, when it has one, is serde's.
    fn check(text: &str) {
        let serde = serde(text);
        for kind in [None, Some(HOT_DELTA), Some(HOT_TEXT)] {
            if let Some(w) = wire(text, kind) {
                assert_eq!(Some(w), serde, "{text}");
            }
        }
    }

    const HOT_DELTA: &str = "response.function_call_arguments.delta";
    const HOT_TEXT: &str = "response.output_text.delta";

    #[test]
    fn the_events_the_api_sends_are_read_as_serde_reads_them() {
        for text in [
            DELTA,
            TEXT,
            r#"{"type":"response.output_text.done","sequence_number":3,"item_id":"m","output_index":1,"content_index":2,"text":"a \"b\" \\ \/ \b\f\n\r\t \u00e9\u20AC €","logprobs":[]}"#,
            r#" { "type" : "response.refusal.delta" , "delta" : null , "x" : { "y" : [ 1 , -2.5e+3 , true , false , null , { } , [ ] ] } } "#,
            r#"{"type":"x","sequence_number":9223372036854775,"output_index":0}"#,
        ] {
            let w = wire(text, None).unwrap_or_else(|| panic!("not read: {text}"));
            assert_eq!(Some(w), serde(text), "{text}");
            check(text);
        }
        assert_eq!(wire(DELTA, None).unwrap().delta.as_deref(), Some("{\"a\":"));
        // The leading kind the caller read is taken as it is.
        assert_eq!(wire(DELTA, Some(HOT_DELTA)), wire(DELTA, None));
        assert_eq!(wire(TEXT, Some(HOT_TEXT)), wire(TEXT, None));
        assert!(wire(TEXT, Some(HOT_TEXT)).is_some());
        assert!(matches!(
            wire(DELTA, Some(HOT_DELTA)).unwrap().kind,
            Cow::Borrowed("response.function_call_arguments.delta")
        ));
    }

    #[test]
    fn what_it_does_not_plainly_understand_is_left_to_serde() {
        for text in [
            // serde's errors
            r#"{"type":"x","type":"y"}"#,
            r#"{"sequence_number":1}"#,
            r#"{"type":"x",}"#,
            r#"{"type":"x"} x"#,
            r#"{"type":"x","sequence_number":01}"#,
            r#"{"type":"x","sequence_number":-0}"#,
            r#"{"type":"x","sequence_number":1.0}"#,
            r#"{"type":"x","sequence_number":"1"}"#,
            r#"{"type":null}"#,
            r#"{"type":"x","delta":"\ud800"}"#,
            r#"{"type":"x","delta":"a
b"}"#,
            r#"{"type":"x","y":[1,]}"#,
            r#"{"type":"x","y":01}"#,
            r#"{"type":"x","y":1.}"#,
            r#"{"type":"x","y":nul}"#,
            r#"{"type":"x","y":"\q"}"#,
            r#"["x"]"#,
            // serde reads these; the scanner leaves them to it
            r#"{"t\u0079pe":"x"}"#,
            r#"{"type":"x","delta":"\ud83d\ude00"}"#,
            r#"{"type":"x","sequence_number":-1}"#,
            r#"{"type":"x","sequence_number":12345678901234567890}"#,
            r#"{"type":"x","code":{"a":1}}"#,
        ] {
            assert!(wire(text, None).is_none(), "{text}");
            check(text);
        }
        let deep = format!(
            r#"{{"type":"x","y":{}1{}}}"#,
            "[".repeat(40),
            "]".repeat(40)
        );
        assert!(wire(&deep, None).is_none());
        assert!(serde(&deep).is_some());
    }

    proptest! {
        /// The first `"`, `\\` or control character, eight bytes at a time, is the first
        /// one byte by byte.
        #[test]
        fn the_stop_byte_is_the_first_one(
            mut bytes in prop::collection::vec(prop::sample::select(vec![0x20u8, 0x21, b'a', 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xc3, 0xdc, 0xff]), 0..40),
            stops in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![0u8, 1, 0x1f, b'"', b'\\'])), 0..3),
        ) {
            for (at, b) in stops {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    bytes[i] = b;
                }
            }
            let naive = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            prop_assert_eq!(stop(&bytes), naive);
        }
    }

    /// Pieces that make JSON, valid or not, to mutate events with.
    const PIECES: [&str; 24] = [
        "\"",
        "\\",
        ",",
        ":",
        "{",
        "}",
        "[",
        "]",
        " ",
        "\n",
        "0",
        "1",
        "-",
        ".",
        "e",
        "null",
        "\\u00e9",
        "\\ud83d",
        "\"type\":\"x\",",
        "\"delta\":",
        "é",
        "\u{1}",
        "\"code\":1,",
        "\"sequence_number\":",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Events with pieces inserted, removed or replaced: whenever the scanner answers,
        /// serde answers the same.
        #[test]
        fn mutated_events_read_as_serde_reads_them(
            base in prop::sample::select(vec![DELTA, TEXT]),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..3, prop::sample::select(PIECES.to_vec())), 1..4),
        ) {
            let mut text = base.to_owned();
            for (at, how, piece) in edits {
                let mut i = at.index(text.len() + 1);
                while !text.is_char_boundary(i) {
                    i -= 1;
                }
                match how {
                    0 => text.insert_str(i, piece),
                    1 => {
                        let mut end = (i + piece.len()).min(text.len());
                        while !text.is_char_boundary(end) {
                            end -= 1;
                        }
                        text.replace_range(i..end, "");
                    }
                    _ => {
                        let mut end = (i + 1).min(text.len());
                        while !text.is_char_boundary(end) {
                            end += 1;
                        }
                        text.replace_range(i..end, piece);
                    }
                }
            }
            check(&text);
        }

        /// Objects built from known and unknown members in any order, with any values.
        #[test]
        fn generated_events_read_as_serde_reads_them(
            members in prop::collection::vec((
                prop::sample::select(vec!["type", "sequence_number", "output_index", "content_index", "summary_index", "annotation_index", "item_id", "delta", "text", "arguments", "refusal", "input", "code", "logprobs", "obfuscation"]),
                prop::sample::select(vec!["0", "7", "-3", "1.5", "2e3", "null", "true", "\"a\"", "\"\\n\\\"\"", "\"\\u0041\"", "[]", "{}", "[1,{\"a\":[null]}]", "9223372036854775807", "\"response.output_text.delta\""]),
            ), 0..8),
            spaced in any::<bool>(),
        ) {
            let sep = if spaced { " , " } else { "," };
            let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            let text = format!("{{{}}}", body.join(sep));
            check(&text);
            let with_type = format!("{{\"type\":\"response.output_text.delta\"{}{}}}", if body.is_empty() { "" } else { sep }, body.join(sep));
            check(&with_type);
        }
    }
}
