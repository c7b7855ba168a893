//! A fast decoder for the usual shape of a chunk, borrowing its strings from the event's
//! data. It reads only what accumulating a chunk after the first one needs (the top level
//! of later chunks is ignored by the reference, except `usage`, `system_fingerprint` and
//! `object`); unknown delta fields are kept as JSON for the generic accumulator. Anything
//! it cannot read (odd types, a choice not seen before) goes the general way: the whole
//! chunk decoded into a `serde_json` map.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::snapshot::RawToken;

/// A string borrowed from the input when it has no escapes.
#[derive(Debug)]
pub(crate) struct CowStr<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = CowStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// The parts of a chunk the fast path uses.
#[derive(Debug, Deserialize)]
pub(crate) struct WireChunk<'a> {
    #[serde(borrow, default)]
    pub(crate) object: Option<CowStr<'a>>,
    #[serde(borrow, default)]
    pub(crate) choices: Option<Vec<WireChoice<'a>>>,
    #[serde(default)]
    pub(crate) usage: Option<Value>,
    #[serde(borrow, default)]
    pub(crate) system_fingerprint: Option<CowStr<'a>>,
}

/// A choice of a chunk; fields other than these are only needed when the choice is new,
/// which the fast path does not handle.
#[derive(Debug, Deserialize)]
pub(crate) struct WireChoice<'a> {
    pub(crate) index: i64,
    #[serde(borrow, default)]
    pub(crate) delta: Option<WireDelta<'a>>,
    #[serde(borrow, default)]
    pub(crate) finish_reason: Option<CowStr<'a>>,
    #[serde(default)]
    pub(crate) logprobs: Option<WireLogprobs>,
}

/// `logprobs` of a later chunk: only `content` and `refusal` matter (as in the reference).
#[derive(Debug, Deserialize)]
pub(crate) struct WireLogprobs {
    #[serde(default)]
    pub(crate) content: Option<Vec<RawToken>>,
    #[serde(default)]
    pub(crate) refusal: Option<Vec<RawToken>>,
}

/// A delta: the usual fields typed, everything else kept as JSON.
#[derive(Debug, Default)]
pub(crate) struct WireDelta<'a> {
    /// `Some(None)`: present and null.
    pub(crate) content: Option<Option<CowStr<'a>>>,
    pub(crate) refusal: Option<Option<CowStr<'a>>>,
    pub(crate) role: Option<Option<CowStr<'a>>>,
    pub(crate) tool_calls: Option<Vec<WireToolCall<'a>>>,
    /// Unknown fields, for the generic accumulator.
    pub(crate) rest: Option<Box<Map<String, Value>>>,
}

/// A tool call fragment.
#[derive(Debug, Default)]
pub(crate) struct WireToolCall<'a> {
    pub(crate) index: i64,
    pub(crate) id: Option<Option<CowStr<'a>>>,
    pub(crate) kind: Option<Option<CowStr<'a>>>,
    pub(crate) function: Option<WireFunction<'a>>,
    pub(crate) rest: Option<Box<Map<String, Value>>>,
}

/// The `function` of a tool call fragment.
#[derive(Debug, Default)]
pub(crate) struct WireFunction<'a> {
    pub(crate) name: Option<Option<CowStr<'a>>>,
    pub(crate) arguments: Option<Option<CowStr<'a>>>,
    pub(crate) rest: Option<Box<Map<String, Value>>>,
}

fn opt_str(v: &Option<Option<CowStr<'_>>>) -> Option<Value> {
    v.as_ref().map(|s| {
        s.as_ref()
            .map_or(Value::Null, |s| Value::String(s.0.clone().into_owned()))
    })
}

impl WireFunction<'_> {
    pub(crate) fn to_value(&self) -> Value {
        let mut map = Map::new();
        if let Some(v) = opt_str(&self.name) {
            map.insert("name".into(), v);
        }
        if let Some(v) = opt_str(&self.arguments) {
            map.insert("arguments".into(), v);
        }
        if let Some(rest) = &self.rest {
            map.extend(rest.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Value::Object(map)
    }
}

impl WireToolCall<'_> {
    /// The fragment as JSON.
    pub(crate) fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("index".into(), Value::from(self.index));
        if let Some(v) = opt_str(&self.id) {
            map.insert("id".into(), v);
        }
        if let Some(v) = opt_str(&self.kind) {
            map.insert("type".into(), v);
        }
        if let Some(f) = &self.function {
            map.insert("function".into(), f.to_value());
        }
        if let Some(rest) = &self.rest {
            map.extend(rest.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Value::Object(map)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for WireToolCall<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = WireToolCall<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a tool call fragment")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut call = WireToolCall::default();
                let mut has_index = false;
                while let Some(key) = map.next_key::<CowStr<'a>>()? {
                    match &*key.0 {
                        "index" => {
                            call.index = map.next_value()?;
                            has_index = true;
                        }
                        "id" => call.id = Some(map.next_value()?),
                        "type" => call.kind = Some(map.next_value()?),
                        "function" => call.function = Some(map.next_value()?),
                        _ => {
                            let value: Value = map.next_value()?;
                            call.rest
                                .get_or_insert_with(Default::default)
                                .insert(key.0.into_owned(), value);
                        }
                    }
                }
                if !has_index {
                    return Err(de::Error::missing_field("index"));
                }
                Ok(call)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for WireFunction<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = WireFunction<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a function object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut function = WireFunction::default();
                while let Some(key) = map.next_key::<CowStr<'a>>()? {
                    match &*key.0 {
                        "name" => function.name = Some(map.next_value()?),
                        "arguments" => function.arguments = Some(map.next_value()?),
                        _ => {
                            let value: Value = map.next_value()?;
                            function
                                .rest
                                .get_or_insert_with(Default::default)
                                .insert(key.0.into_owned(), value);
                        }
                    }
                }
                Ok(function)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for WireDelta<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = WireDelta<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a delta object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut delta = WireDelta::default();
                while let Some(key) = map.next_key::<CowStr<'a>>()? {
                    match &*key.0 {
                        "content" => delta.content = Some(map.next_value()?),
                        "refusal" => delta.refusal = Some(map.next_value()?),
                        "role" => delta.role = Some(map.next_value()?),
                        "tool_calls" => delta.tool_calls = Some(map.next_value()?),
                        _ => {
                            let value: Value = map.next_value()?;
                            delta
                                .rest
                                .get_or_insert_with(Default::default)
                                .insert(key.0.into_owned(), value);
                        }
                    }
                }
                Ok(delta)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Decodes the fast-path view of a chunk; `None` when it has another shape.
pub(crate) fn decode(text: &str) -> Option<WireChunk<'_>> {
    serde_json::from_str(text).ok()
}
