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
use serde_json::{Map, Number, Value};

use super::snapshot::{token_value, RawToken};
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
    Tokens(Vec<RawToken>),
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
            Wire::Tokens(tokens) => Value::Array(tokens.iter().map(|t| token_value(t)).collect()),
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

/// Where a value stands, for the token lists of `choices[].logprobs`.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Plain,
    /// The chunk's `choices`.
    Choices,
    /// One of its choices.
    Choice,
    /// A choice's `logprobs`.
    Logprobs,
    /// `content` or `refusal` of a choice's `logprobs`.
    TokenList,
}

struct Seed(Place);

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Wire<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Wire<'de>, D::Error> {
        d.deserialize_any(WireVisitor(self.0))
    }
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
            while let Some(token) = seq.next_element::<RawToken>()? {
                tokens.push(token);
            }
            return Ok(Wire::Tokens(tokens));
        }
        let inner = if self.0 == Place::Choices {
            Place::Choice
        } else {
            Place::Plain
        };
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(Seed(inner))? {
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
            let place = match (self.0, &*key) {
                (Place::Choice, "logprobs") => Place::Logprobs,
                (Place::Logprobs, "content" | "refusal") => Place::TokenList,
                _ => Place::Plain,
            };
            let value = map.next_value_seed(Seed(place))?;
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
pub(crate) fn decode(text: &str, whole: bool) -> Result<Option<WireChunk<'_>>, serde_json::Error> {
    struct Top {
        whole: bool,
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
                    chunk.choices = match map.next_value_seed(Seed(Place::Choices))? {
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
    let chunk = de.deserialize_any(Top { whole })?;
    de.end()?;
    Ok(chunk)
}
