//! The one decoded form of a chunk: a JSON tree that borrows its strings from the
//! event's data ([`Wire`]). Every JSON object decodes (odd shapes included: they are
//! what they are, and the state machine applies the reference rules to them), in one
//! pass, with one allocation per object or array and none per string without escapes.
//! The logprob token lists of a choice are kept as raw JSON ([`RawToken`]), decoded only
//! when read.
//!
//! Objects keep their members in order; a repeated key keeps its first place and its
//! last value, as `serde_json`'s map (and a Python dict) do.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize as _;
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

use super::snapshot::token_value;
use crate::accumulate::{DeltaValue, ListIndex};

/// A JSON value of a chunk.
#[derive(Debug)]
pub(crate) enum Wire<'a> {
    Null,
    Str(Cow<'a, str>),
    Bool(bool),
    Number(Number),
    Array(Vec<Wire<'a>>),
    Object(Members<'a>),
    /// A list of logprob tokens (`logprobs.content` / `logprobs.refusal` of a choice).
    Tokens(Vec<&'a RawValue>),
}

/// An object's members, in order.
pub(crate) type Members<'a> = Vec<Member<'a>>;

/// A member of an object: its key and value.
pub(crate) type Member<'a> = (Cow<'a, str>, Wire<'a>);

/// The member `key` of an object's members.
pub(crate) fn get<'x, 'a>(members: &'x [Member<'a>], key: &str) -> Option<&'x Wire<'a>> {
    members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// The members of an object value (`[]` for anything else).
pub(crate) fn object<'x, 'a>(value: Option<&'x Wire<'a>>) -> &'x [Member<'a>] {
    match value {
        Some(Wire::Object(members)) => members,
        _ => &[],
    }
}

impl<'a> Wire<'a> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Wire::Str(s) => Some(s),
            _ => None,
        }
    }

    /// `Value::as_i64` of the value.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Wire::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The value, when it is a number or a boolean.
    fn scalar(&self) -> Option<Value> {
        match self {
            Wire::Bool(b) => Some(Value::Bool(*b)),
            Wire::Number(n) => Some(Value::Number(n.clone())),
            _ => None,
        }
    }

    /// The value as `serde_json` would have decoded it (tokens decoded from their text).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Wire::Null => Value::Null,
            Wire::Str(s) => Value::String(s.clone().into_owned()),
            Wire::Bool(b) => Value::Bool(*b),
            Wire::Number(n) => Value::Number(n.clone()),
            Wire::Array(items) => Value::Array(items.iter().map(Wire::to_value).collect()),
            Wire::Object(members) => Value::Object(to_map(members)),
            Wire::Tokens(tokens) => {
                Value::Array(tokens.iter().map(|t| token_value(t.get())).collect())
            }
        }
    }
}

/// Members as a `serde_json` map.
pub(crate) fn to_map(members: &[Member<'_>]) -> Map<String, Value> {
    let mut map = Map::with_capacity(members.len());
    for (k, v) in members {
        map.insert(k.clone().into_owned(), v.to_value());
    }
    map
}

/// A member key for the accumulator.
pub(crate) struct Key<'x>(&'x str);

impl AsRef<str> for Key<'_> {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl From<Key<'_>> for String {
    fn from(key: Key<'_>) -> String {
        key.0.to_owned()
    }
}

type EntryIter<'x, 'a> =
    std::iter::Map<std::slice::Iter<'x, Member<'a>>, fn(&'x Member<'a>) -> (Key<'x>, &'x Wire<'a>)>;

fn entry<'x, 'a>((k, v): &'x Member<'a>) -> (Key<'x>, &'x Wire<'a>) {
    (Key(k), v)
}

/// The members, for [`accumulate_entries`](crate::accumulate::accumulate_entries).
pub(crate) fn entries<'x, 'a>(members: &'x [Member<'a>]) -> EntryIter<'x, 'a> {
    members.iter().map(entry as fn(&'x Member<'a>) -> _)
}

impl<'x, 'a> DeltaValue for &'x Wire<'a> {
    type Key = Key<'x>;
    type Entries = EntryIter<'x, 'a>;
    type Items = std::slice::Iter<'x, Wire<'a>>;

    fn as_str(&self) -> Option<&str> {
        Wire::as_str(self)
    }
    fn as_scalar(&self) -> Option<Value> {
        self.scalar()
    }
    fn list_index(&self) -> ListIndex {
        match self {
            Wire::Object(members) => match get(members, "index") {
                None => ListIndex::Missing,
                Some(index) => ListIndex::Present(index.scalar()),
            },
            _ => ListIndex::NotAnObject,
        }
    }
    fn into_value(self) -> Value {
        self.to_value()
    }
    fn into_entries(self) -> Option<Self::Entries> {
        match self {
            Wire::Object(members) => Some(entries(members)),
            _ => None,
        }
    }
    fn into_items(self) -> Option<Self::Items> {
        match self {
            Wire::Array(items) => Some(items.iter()),
            // Tokens only stand under a choice's `logprobs`, never in a delta.
            _ => None,
        }
    }
}

/// Finds a repeated key among an object's members: by a scan while the object is small,
/// by a hash index past [`Dedup::SCAN`] members (so that a huge object costs linear time).
#[derive(Default)]
struct Dedup<'a> {
    index: Option<HashMap<Cow<'a, str>, usize>>,
}

impl<'a> Dedup<'a> {
    const SCAN: usize = 16;

    fn insert(&mut self, members: &mut Members<'a>, key: Cow<'a, str>, value: Wire<'a>) {
        if self.index.is_none() && members.len() >= Self::SCAN {
            let index = members
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.clone(), i))
                .collect();
            self.index = Some(index);
        }
        let found = match &self.index {
            Some(index) => index.get(&key).copied(),
            None => members.iter().position(|(k, _)| *k == key),
        };
        match found.and_then(|i| members.get_mut(i)) {
            // A repeated key keeps its first place and takes the last value.
            Some((_, slot)) => *slot = value,
            None => {
                if let Some(index) = &mut self.index {
                    index.insert(key.clone(), members.len());
                }
                members.push((key, value));
            }
        }
    }
}

/// Where a value stands: for the token lists of `choices[].logprobs`, and for the text
/// fields of a delta and of a tool call's `function`, read by [`Leaf`].
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Plain,
    /// The chunk's `choices`.
    Choices,
    /// One of its choices.
    Choice,
    /// The chunk's `choices`, their deltas' text fields read by [`Leaf`] (see [`decode`]).
    ChoicesLeaves,
    /// One of those choices.
    ChoiceLeaves,
    /// A choice's `logprobs`.
    Logprobs,
    /// `content` or `refusal` of a choice's `logprobs`.
    TokenList,
    /// A choice's `delta`.
    Delta,
    /// A delta's `tool_calls`.
    ToolCalls,
    /// One of its tool calls.
    ToolCall,
    /// A tool call's `function`.
    Function,
    /// A member of a delta (but `tool_calls`) or of a tool call's `function`: read by
    /// [`Leaf`].
    Leaf,
}

impl Place {
    /// The place of the member `key` of an object at this place.
    #[inline]
    fn member(self, key: &str) -> Place {
        match self {
            Place::Plain | Place::Leaf => Place::Plain,
            Place::Choice => match key {
                "logprobs" => Place::Logprobs,
                _ => Place::Plain,
            },
            Place::ChoiceLeaves => match key {
                "logprobs" => Place::Logprobs,
                "delta" => Place::Delta,
                _ => Place::Plain,
            },
            Place::Logprobs if matches!(key, "content" | "refusal") => Place::TokenList,
            Place::Delta if key == "tool_calls" => Place::ToolCalls,
            Place::Delta | Place::Function => Place::Leaf,
            Place::ToolCall if key == "function" => Place::Function,
            _ => Place::Plain,
        }
    }

    /// The place of the items of an array at this place.
    #[inline]
    fn item(self) -> Place {
        match self {
            Place::Choices => Place::Choice,
            Place::ChoicesLeaves => Place::ChoiceLeaves,
            Place::ToolCalls => Place::ToolCall,
            _ => Place::Plain,
        }
    }
}

/// How a value is read: at its place.
#[derive(Clone, Copy)]
struct Seed(Place);

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Wire<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Wire<'de>, D::Error> {
        if self.0 == Place::Leaf {
            return Leaf.deserialize(d);
        }
        d.deserialize_any(WireVisitor(self.0))
    }
}

/// A delta's text field (`content`, `refusal`, a reasoning text, a tool call's
/// `arguments` ...), read as its raw JSON text and decoded here: a string with escapes
/// (a JSON document streamed as content, any tool call's arguments) then costs one
/// allocation of its final size, where `serde_json` copies it into a buffer of its own
/// that grows (a new one for every chunk) before it is copied out. Those small growths
/// were the one `realloc` of every chunk, and glibc's `realloc`, growing a block into a
/// large free neighbour, frees the rest of that neighbour and so sorts all its fast bins
/// each time: cheap while the heap is small, a walk through cold memory once a long
/// stream's snapshot has made it large.
///
/// A value that is not a string is decoded from its text as any other. A string whose
/// escapes this does not plainly understand (a surrogate escape that is not a whole pair)
/// is an error, and the chunk is decoded again the other way ([`decode`]).
struct Leaf;

impl<'de> DeserializeSeed<'de> for Leaf {
    type Value = Wire<'de>;
    // Out of line: the other values' path stays as short as it was.
    #[inline(never)]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Wire<'de>, D::Error> {
        let raw = <&'de RawValue>::deserialize(d)?.get();
        match raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            Some(inner) => {
                let text = unescape(inner).ok_or_else(|| de::Error::custom(LEAF_BAILED))?;
                // Every test and debug fuzz run checks "read here ⇒ read as serde_json reads it".
                debug_assert_eq!(
                    Some(&*text),
                    serde_json::from_str::<String>(raw).ok().as_deref(),
                    "the delta text {raw} is read differently from serde_json",
                );
                Ok(Wire::Str(text))
            }
            None => {
                let mut de = serde_json::Deserializer::from_str(raw);
                let value = Seed(Place::Plain)
                    .deserialize(&mut de)
                    .map_err(de::Error::custom)?;
                de.end().map_err(de::Error::custom)?;
                Ok(value)
            }
        }
    }
}

/// The message of the error [`Leaf`] gives up with.
const LEAF_BAILED: &str = "a string escape left to serde_json";

/// The text of a JSON string's contents (between its quotes), which `serde_json` checked
/// while it read past it (every escape is one JSON allows, every `\u` has four hex digits,
/// no control character): borrowed when there is no escape. `None` for a `\u` escape of a
/// surrogate that is not one half of a pair (`serde_json` has its own rules for those).
fn unescape(inner: &str) -> Option<Cow<'_, str>> {
    let Some(first) = inner.find('\\') else {
        return Some(Cow::Borrowed(inner));
    };
    let mut out = String::with_capacity(inner.len());
    out.push_str(&inner[..first]);
    let bytes = inner.as_bytes();
    let mut i = first;
    while i < bytes.len() {
        let Some(offset) = inner[i..].find('\\') else {
            out.push_str(&inner[i..]);
            break;
        };
        out.push_str(&inner[i..i + offset]);
        i += offset + 1;
        let escape = *bytes.get(i)?;
        i += 1;
        if escape != b'u' {
            out.push(crate::parsing::simple_escape(escape)?);
            continue;
        }
        let unit = hex4(bytes.get(i..i + 4)?)?;
        i += 4;
        let code = match unit {
            0xD800..=0xDBFF => {
                // A high surrogate: the low half must follow as `\uDC00`..`\uDFFF`.
                if bytes.get(i..i + 2)? != b"\\u" {
                    return None;
                }
                let low = hex4(bytes.get(i + 2..i + 6)?)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return None;
                }
                i += 6;
                0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00)
            }
            0xDC00..=0xDFFF => return None,
            unit => u32::from(unit),
        };
        out.push(char::from_u32(code)?);
    }
    Some(Cow::Owned(out))
}

/// Four hex digits.
fn hex4(digits: &[u8]) -> Option<u16> {
    let mut value = 0u16;
    for &d in digits {
        value = (value << 4) | u16::from(char::from(d).to_digit(16)? as u8);
    }
    Some(value)
}

struct WireVisitor(Place);

impl<'de> Visitor<'de> for WireVisitor {
    type Value = Wire<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Wire<'de>, E> {
        Ok(Wire::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Wire<'de>, E> {
        Ok(Wire::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Wire<'de>, E> {
        Ok(Wire::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Wire<'de>, E> {
        // As `serde_json::Value` does.
        Ok(Number::from_f64(v).map_or(Wire::Null, Wire::Number))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Wire<'de>, E> {
        Ok(Wire::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Wire<'de>, E> {
        Ok(Wire::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Wire<'de>, E> {
        Ok(Wire::Str(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Wire<'de>, E> {
        Ok(Wire::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Wire<'de>, E> {
        Ok(Wire::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Wire<'de>, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Wire<'de>, A::Error> {
        if self.0 == Place::TokenList {
            let mut tokens = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(token) = seq.next_element::<&'de RawValue>()? {
                tokens.push(token);
            }
            return Ok(Wire::Tokens(tokens));
        }
        let inner = Seed(self.0.item());
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Wire::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Wire<'de>, A::Error> {
        let mut members: Members<'de> = Vec::with_capacity(map.size_hint().unwrap_or(4));
        let mut dedup = Dedup::default();
        while let Some(key) = map.next_key::<Wire<'de>>()? {
            let Wire::Str(key) = key else {
                return Err(de::Error::custom("a key is not a string"));
            };
            let value = map.next_value_seed(Seed(self.0.member(&key)))?;
            dedup.insert(&mut members, key, value);
        }
        Ok(Wire::Object(members))
    }
}

impl<'de> serde::Deserialize<'de> for Wire<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(WireVisitor(Place::Plain))
    }
}

/// A chunk: its members (`choices` apart) and its choices.
#[derive(Debug, Default)]
pub(crate) struct WireChunk<'a> {
    /// The members other than `choices`, in order.
    pub(crate) members: Members<'a>,
    /// The `choices` (`[]` when missing or not a list), each any JSON value.
    pub(crate) choices: Vec<Wire<'a>>,
}

impl<'a> WireChunk<'a> {
    pub(crate) fn get(&self, key: &str) -> Option<&Wire<'a>> {
        get(&self.members, key)
    }
}

/// Decodes a chunk: `Ok(None)` when the text is JSON but not an object.
///
/// With `whole` false (a chunk after the first), the top-level members the state does not
/// read (all but `usage`, `system_fingerprint` and `object`: the reference ignores the
/// rest of a later chunk's top level) are skipped unread.
///
/// With `leaves` (asked for once a chunk of the stream had escapes in its delta texts,
/// [`escaped_text`]: a JSON document or tool arguments streaming) and a backslash in this
/// chunk, the text fields of the deltas are read by [`Leaf`]; should it give up on one (or
/// the chunk be invalid), the chunk is decoded again with every value read by `serde_json`
/// alone, which decides (so the answer is always `serde_json`'s). A chunk without escapes
/// costs less read by `serde_json` alone (its strings are borrowed as they are), and a
/// stream that never had escapes does not look for them.
pub(crate) fn decode(
    text: &str,
    whole: bool,
    leaves: bool,
) -> Result<Option<WireChunk<'_>>, serde_json::Error> {
    if !leaves || memchr::memchr(b'\\', text.as_bytes()).is_none() {
        return decode_with(text, whole, false);
    }
    decode_with(text, whole, true).or_else(|_| decode_with(text, whole, false))
}

/// Whether a text field of a delta of the chunk had escapes (its text is owned: read by
/// [`Leaf`] or by `serde_json`, an escaped string is the one kind that is).
pub(crate) fn escaped_text(chunk: &WireChunk<'_>) -> bool {
    let owned = |members: &[Member<'_>]| {
        members
            .iter()
            .any(|(_, v)| matches!(v, Wire::Str(Cow::Owned(_))))
    };
    chunk.choices.iter().any(|choice| {
        let delta = object(get(object(Some(choice)), "delta"));
        owned(delta)
            || match get(delta, "tool_calls") {
                Some(Wire::Array(calls)) => calls
                    .iter()
                    .any(|call| owned(object(get(object(Some(call)), "function")))),
                _ => false,
            }
    })
}

fn decode_with(
    text: &str,
    whole: bool,
    leaves: bool,
) -> Result<Option<WireChunk<'_>>, serde_json::Error> {
    struct Top {
        whole: bool,
        leaves: bool,
    }
    impl<'de> Visitor<'de> for Top {
        type Value = Option<WireChunk<'de>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a chunk")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut chunk = WireChunk::default();
            let mut dedup = Dedup::default();
            // `choices` keeps the place of its first occurrence among the members, which
            // only matters for a chunk with a repeated `choices` key: none is kept.
            while let Some(key) = map.next_key::<Wire<'de>>()? {
                let Wire::Str(key) = key else {
                    return Err(de::Error::custom("a key is not a string"));
                };
                if key == "choices" {
                    let place = if self.leaves {
                        Place::ChoicesLeaves
                    } else {
                        Place::Choices
                    };
                    chunk.choices = match map.next_value_seed(Seed(place))? {
                        Wire::Array(items) => items,
                        _ => Vec::new(),
                    };
                    continue;
                }
                if !self.whole && !matches!(&*key, "usage" | "system_fingerprint" | "object") {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                let value = map.next_value_seed(Seed(Place::Plain))?;
                dedup.insert(&mut chunk.members, key, value);
            }
            Ok(Some(chunk))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let chunk = de.deserialize_any(Top { whole, leaves })?;
    de.end()?;
    Ok(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The chunk read with its delta texts by [`Leaf`] is the chunk `serde_json` reads
    /// alone (compared by their `Debug` form: a borrowed and an owned text print alike);
    /// whenever the first way fails, [`decode`] answers the second way.
    fn check(text: &str) {
        for whole in [false, true] {
            let plain = format!("{:?}", decode_with(text, whole, false).ok());
            let leaves = decode_with(text, whole, true);
            if let Ok(leaves) = &leaves {
                assert_eq!(format!("{:?}", Some(leaves)), plain, "{text}");
            }
            assert_eq!(
                format!("{:?}", decode(text, whole, true).ok()),
                plain,
                "{text}"
            );
            assert_eq!(
                format!("{:?}", decode(text, whole, false).ok()),
                plain,
                "{text}"
            );
        }
    }

    const CHUNK: &str = r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"{\"n\": 5, \"w\": \"zeta\"}\n\u00e9\ud83d\ude00 \\ \/ \b\f\r\t","refusal":null,"reasoning_content":"","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\": [1, \"\\u0041\"]}"}}],"function_call":{"name":"g","arguments":"{\"b\":2}"},"audio":{"id":"x","data":"QQ=="},"n":[1,2.5,-3e2,true]},"logprobs":{"content":[{"token":"a","logprob":-0.5,"bytes":[97],"top_logprobs":[]}],"refusal":null},"finish_reason":null}],"usage":null}"#;

    #[test]
    fn delta_texts_are_read_as_serde_json_reads_them() {
        check(CHUNK);
        let chunk = decode(CHUNK, false, true).unwrap().unwrap();
        assert!(escaped_text(&chunk));
        let plain = decode(CHUNK, false, false).unwrap().unwrap();
        assert!(escaped_text(&plain));
        let unescaped = CHUNK
            .replace(r#"\""#, "'")
            .replace(r"\\", "")
            .replace(r"\", "");
        assert!(!escaped_text(
            &decode(&unescaped, false, false).unwrap().unwrap()
        ));
        let delta = object(get(object(chunk.choices.first()), "delta"));
        assert_eq!(
            get(delta, "content").and_then(Wire::as_str),
            Some("{\"n\": 5, \"w\": \"zeta\"}\n\u{e9}\u{1F600} \\ / \u{8}\u{c}\r\t")
        );
        // A lone surrogate, a reversed pair: left to serde_json, which decides.
        for content in [
            r"\ud83d",
            r"\ude00\ud83d",
            r"\ud83d\u0041",
            r"x\ud83dy",
            r"\ud83d\",
        ] {
            check(&CHUNK.replace(r"\u00e9", content));
        }
        for bad in [r#"\x"#, r#"\u12"#, "\u{1}", r#"""#] {
            check(&CHUNK.replace(r"\u00e9", bad));
        }
        assert_eq!(unescape("plain"), Some(Cow::Borrowed("plain")));
        assert_eq!(unescape(r"a\u0000b").as_deref(), Some("a\0b"));
        assert_eq!(unescape(r"\ud83d"), None);
    }

    /// Pieces that make JSON, valid or not, to mutate a chunk with.
    const PIECES: [&str; 20] = [
        "\"", "\\", "\\\"", "\\n", "\\u00e9", "\\ud83d", "\\ude00", "\\u0041", ",", ":", "{", "}",
        "[", "]", " ", "0", "null", "\"x\"", "\u{e9}", "\u{1}",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        /// Mutated chunks (a piece put in, or a byte range replaced by one) read alike.
        #[test]
        fn mutated_chunks_are_read_as_serde_json_reads_them(
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0..4usize, prop::sample::select(PIECES.to_vec())), 1..4),
        ) {
            let mut text = CHUNK.to_owned();
            for (at, cut, piece) in edits {
                let mut i = at.index(text.len() + 1);
                while !text.is_char_boundary(i) {
                    i -= 1;
                }
                let mut end = (i + cut).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(i..end, piece);
            }
            check(&text);
        }
    }
}
