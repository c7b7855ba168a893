//! Support code the generated types call into (see `xtask/src/postprocess.rs`).
//!
//! Kept out of `generated/` so the generated file stays small and this logic is tested
//! once, here, instead of once per type.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Characters percent-encoded in a path parameter: the URL spec's path-segment set (controls,
/// space, `"#<>?`{}`), plus `/` and `%` so that a value stays one segment and is sent as
/// written, plus `\`, which URL parsers read as `/` in `http(s)` URLs.
const PATH_SEGMENT_SET: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b'%')
    .add(b'\\');

/// A path parameter that would not be one segment of its own: empty, `.` or `..`.
#[derive(Debug)]
pub(crate) struct BadPathSegment {
    name: &'static str,
    value: String,
}

impl fmt::Display for BadPathSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.value.is_empty() {
            "empty".to_owned()
        } else {
            format!("{:?}", self.value)
        };
        write!(
            f,
            "path parameter `{}` is {what}: an empty, `.` or `..` segment would address \
             another resource, so the request was not sent",
            self.name
        )
    }
}

impl From<BadPathSegment> for crate::Error {
    fn from(e: BadPathSegment) -> Self {
        crate::Error::Config(e.to_string())
    }
}

impl<E> From<BadPathSegment> for progenitor_client::Error<E> {
    fn from(e: BadPathSegment) -> Self {
        progenitor_client::Error::Custom(e.to_string())
    }
}

/// Percent-encodes path parameter `name` (the generated methods call this for every path
/// parameter); refuses a value that URL normalization would not keep as its own segment.
pub(crate) fn path_param(name: &'static str, value: &str) -> Result<String, BadPathSegment> {
    if matches!(value, "" | "." | "..") {
        return Err(BadPathSegment {
            name,
            value: value.to_owned(),
        });
    }
    Ok(percent_encoding::utf8_percent_encode(value, PATH_SEGMENT_SET).to_string())
}

/// Percent-encodes `value` as one URL path segment, or refuses it with
/// [`Error::Config`](crate::Error::Config) naming parameter `name`.
///
/// An empty value, `.` and `..` are refused: URL normalization would drop them or climb one
/// level, so `DELETE /vector_stores/../files/file_abc` would delete the file instead of
/// detaching it from the store. Every other string (including `...`, `%2e%2e`, `a/b`, `a\b`)
/// is encoded to a segment that decodes back to the value. Every generated and hand-written
/// method builds its path with this; it is public for paths built by hand (for instance with
/// a generic call).
///
/// ```
/// assert_eq!(openai_sdk::path_segment("file_id", "file-abc").unwrap(), "file-abc");
/// assert_eq!(openai_sdk::path_segment("file_id", "a/b").unwrap(), "a%2Fb");
/// let err = openai_sdk::path_segment("vector_store_id", "..").unwrap_err();
/// assert!(err.to_string().contains("vector_store_id"));
/// ```
pub fn path_segment(name: &'static str, value: &str) -> Result<String, crate::Error> {
    Ok(path_param(name, value)?)
}

/// Sends the request of a generated method through the client's hooks (auth, Azure,
/// retries, the body cap): the steps every generated method took inline, once here.
#[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
pub(crate) async fn execute<E>(
    client: &crate::generated::Client,
    mut request: reqwest::Request,
    operation_id: &'static str,
) -> Result<reqwest::Response, progenitor_client::Error<E>> {
    use progenitor_client::ClientHooks as _;
    let info = progenitor_client::OperationInfo { operation_id };
    client.pre(&mut request, &info).await?;
    let result = client.exec(request, &info).await;
    client.post(&result, &info).await?;
    Ok(result?)
}

/// A generated method's JSON answer, read as text (`from_str`, as the stream layer reads
/// events, so each type's `Deserialize` is compiled for one serde_json reader): what
/// `progenitor_client::ResponseValue::from_response` does with bytes. A body that is not
/// UTF-8 is a decode error at the top level naming the offset of the first bad byte.
#[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
pub(crate) async fn response_value<T: serde::de::DeserializeOwned, E>(
    response: reqwest::Response,
) -> Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>> {
    let status = response.status();
    let headers = response.headers().clone();
    let full = response
        .bytes()
        .await
        .map_err(progenitor_client::Error::ResponseBodyError)?;
    let inner = match std::str::from_utf8(&full) {
        Ok(text) => serde_json::from_str(text),
        Err(e) => Err(de::Error::custom(format_args!(
            "the body is not UTF-8 (at byte {})",
            e.valid_up_to()
        ))),
    };
    match inner {
        Ok(inner) => Ok(progenitor_client::ResponseValue::new(
            inner, status, headers,
        )),
        Err(e) => Err(progenitor_client::Error::InvalidResponsePayload(full, e)),
    }
}

/// A request as a JSON value (for the helpers that read or add to the body before sending
/// it): written as text, as the generated methods send a body, and read back, which gives
/// the value `serde_json::to_value` gives; so the generated `Serialize` impls are compiled
/// for serde_json's text writer only, not also for its value serializer. No depth limit,
/// as `to_value` has none.
#[cfg(feature = "chat")]
pub(crate) fn request_value<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<Value> {
    let text = serde_json::to_string(value)?;
    let mut de = serde_json::Deserializer::from_str(&text);
    de.disable_recursion_limit();
    Value::deserialize(&mut de)
}

/// Deserializes an open string enum: any string is accepted, unknown ones are kept.
#[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
pub(crate) fn deserialize_open_str<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: for<'a> From<&'a str> + From<String>,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: for<'a> From<&'a str> + From<String>> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            Ok(T::from(v))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
            Ok(T::from(v))
        }
    }
    d.deserialize_str(V(PhantomData))
}

/// A union whose members are told apart by a constant `type` property.
#[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
pub(crate) trait TagDispatch: Sized {
    /// The union's name, for error messages.
    const NAME: &'static str;
    /// The property that tells the members apart, such as `type` or `role`.
    const TAG: &'static str;
    /// The member index for a `type` value, if known.
    fn variant(tag: &str) -> Option<usize>;
    /// Deserializes member `index` from a map that still holds the `type` key.
    fn deserialize_variant<'de, D: Deserializer<'de>>(index: usize, d: D)
        -> Result<Self, D::Error>;
    /// Wraps a value of unknown shape or type.
    fn unknown(value: Value) -> Self;
}

/// Decodes a discriminated union in one pass: read keys until the tag (`type`), then hand
/// the whole map (keys already read, the tag, the rest) to that one member's deserializer.
/// OpenAI sends `type` first, so nothing is buffered in the common case.
#[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
pub(crate) fn deserialize_tagged<'de, D: Deserializer<'de>, T: TagDispatch>(
    d: D,
) -> Result<T, D::Error> {
    d.deserialize_any(TaggedVisitor(PhantomData))
}

#[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
struct TaggedVisitor<T>(PhantomData<T>);

#[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
enum Key<'de> {
    Tag,
    Other(Cow<'de, str>),
}

#[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
struct KeySeed(&'static str);
impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key<'de>, D::Error> {
        d.deserialize_str(self)
    }
}
impl<'de> Visitor<'de> for KeySeed {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(if v == self.0 {
            Key::Tag
        } else {
            Key::Other(Cow::Borrowed(v))
        })
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(if v == self.0 {
            Key::Tag
        } else {
            Key::Other(Cow::Owned(v.to_owned()))
        })
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
        Ok(if v == self.0 {
            Key::Tag
        } else {
            Key::Other(Cow::Owned(v))
        })
    }
}

impl<'de, T: TagDispatch> Visitor<'de> for TaggedVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} object", T::NAME)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut seen: Vec<(Cow<'de, str>, Value)> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed(T::TAG))? {
            match key {
                Key::Other(k) => {
                    let v: Value = map.next_value()?;
                    seen.push((k, v));
                }
                Key::Tag => {
                    let tag: Value = match map.next_value_seed(StrSeedOrValue)? {
                        Either::Str(s) => {
                            if let Some(index) = T::variant(&s) {
                                let chain = Chain {
                                    seen: seen.into_iter(),
                                    tag_key: T::TAG,
                                    tag: Some(s),
                                    pending: Pending::None,
                                    rest: map,
                                };
                                return T::deserialize_variant(
                                    index,
                                    MapAccessDeserializer::new(chain),
                                );
                            }
                            Value::String(s.into_owned())
                        }
                        Either::Value(v) => v,
                    };
                    let mut obj: Map<String, Value> =
                        seen.into_iter().map(|(k, v)| (k.into_owned(), v)).collect();
                    obj.insert(T::TAG.to_owned(), tag);
                    while let Some((k, v)) = map.next_entry::<String, Value>()? {
                        obj.insert(k, v);
                    }
                    return Ok(T::unknown(Value::Object(obj)));
                }
            }
        }
        Ok(T::unknown(Value::Object(
            seen.into_iter().map(|(k, v)| (k.into_owned(), v)).collect(),
        )))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<T, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(T::unknown)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::unknown(Value::String(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
        Ok(T::unknown(Value::String(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        Ok(T::unknown(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Ok(T::unknown(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Ok(T::unknown(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Ok(T::unknown(Value::from(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::unknown(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        Ok(T::unknown(Value::Null))
    }
}

enum Either<'de> {
    Str(Cow<'de, str>),
    Value(Value),
}

/// Reads the `type` value: a string (borrowed when possible), or any other JSON value.
struct StrSeedOrValue;
impl<'de> DeserializeSeed<'de> for StrSeedOrValue {
    type Value = Either<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Either<'de>, D::Error> {
        d.deserialize_any(self)
    }
}
impl<'de> Visitor<'de> for StrSeedOrValue {
    type Value = Either<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Either<'de>, E> {
        Ok(Either::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Either<'de>, E> {
        Ok(Either::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Either<'de>, E> {
        Ok(Either::Str(Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Either<'de>, E> {
        Ok(Either::Value(Value::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Either<'de>, E> {
        Ok(Either::Value(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Either<'de>, E> {
        Ok(Either::Value(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Either<'de>, E> {
        Ok(Either::Value(Value::from(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Either<'de>, E> {
        Ok(Either::Value(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Either<'de>, E> {
        Ok(Either::Value(Value::Null))
    }
    fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Either<'de>, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(m)).map(Either::Value)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<Either<'de>, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(s)).map(Either::Value)
    }
}

enum Pending<'de> {
    None,
    Seen(Value),
    Tag(Cow<'de, str>),
}

/// The keys read before `type`, then `type`, then the rest of the input map.
struct Chain<'de, A> {
    seen: std::vec::IntoIter<(Cow<'de, str>, Value)>,
    tag_key: &'static str,
    tag: Option<Cow<'de, str>>,
    pending: Pending<'de>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Chain<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        if let Some((k, v)) = self.seen.next() {
            self.pending = Pending::Seen(v);
            return match k {
                Cow::Borrowed(b) => seed.deserialize(BorrowedStrDeserializer::new(b)).map(Some),
                Cow::Owned(o) => seed.deserialize(StringDeserializer::new(o)).map(Some),
            };
        }
        if let Some(tag) = self.tag.take() {
            self.pending = Pending::Tag(tag);
            return seed
                .deserialize(BorrowedStrDeserializer::new(self.tag_key))
                .map(Some);
        }
        self.rest.next_key_seed(seed)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::Seen(v) => seed.deserialize(v).map_err(de::Error::custom),
            Pending::Tag(Cow::Borrowed(b)) => seed.deserialize(BorrowedStrDeserializer::new(b)),
            Pending::Tag(Cow::Owned(o)) => seed.deserialize(StringDeserializer::new(o)),
            Pending::None => self.rest.next_value_seed(seed),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.rest.size_hint()
    }
}

/// An object key as the generated `Deserialize` impls read it (`xtask/src/extras.rs`):
/// borrowed from the input when the deserializer can lend it, so a known key costs no
/// allocation.
pub(crate) struct FieldName<'de>(Cow<'de, str>);

impl FieldName<'_> {
    #[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn into_string(self) -> String {
        self.0.into_owned()
    }
}

impl<'de> Deserialize<'de> for FieldName<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FieldName<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<FieldName<'de>, E> {
                Ok(FieldName(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldName<'de>, E> {
                Ok(FieldName(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<FieldName<'de>, E> {
                Ok(FieldName(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A generated struct read from a map (its `Deserialize` impl calls
/// [`deserialize_struct`]); written by `xtask/src/extras.rs`.
#[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
pub(crate) trait StructFields<'de>: Sized {
    /// `struct Name`, for serde's `invalid type: ..., expected struct Name`.
    const EXPECTING: &'static str;
    /// Reads the fields (unknown ones into `extra`).
    fn visit_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// The `Deserialize` of every generated struct: one visitor for all of them, which asks
/// for a map and hands it to the struct's [`StructFields::visit_map`].
#[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
pub(crate) fn deserialize_struct<'de, D: Deserializer<'de>, T: StructFields<'de>>(
    d: D,
) -> Result<T, D::Error> {
    struct V<T>(PhantomData<T>);
    impl<'de, T: StructFields<'de>> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(T::EXPECTING)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::visit_map(map)
        }
    }
    d.deserialize_map(V(PhantomData))
}

/// Reads a known field's value into its slot (the last one wins for a key sent twice).
#[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
pub(crate) fn next_field<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    slot: &mut Option<T>,
) -> Result<(), A::Error> {
    *slot = Some(map.next_value()?);
    Ok(())
}

/// A required field's value, or serde's `missing field` error.
#[inline]
#[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
pub(crate) fn required<T, E: de::Error>(v: Option<T>, name: &'static str) -> Result<T, E> {
    match v {
        Some(v) => Ok(v),
        None => Err(E::missing_field(name)),
    }
}

/// One member of a union decoded by [`deserialize_shared_tag`].
// Such unions exist only in some API groups (Responses, Realtime, Evals).
#[allow(dead_code)]
pub(crate) struct Member {
    /// The values of the tag (`type`) that name this member.
    pub tags: &'static [&'static str],
    /// Whether the member requires the tag: one that does not may decode a map without it.
    pub tag_required: bool,
    /// The member's other constant fields (`role`) and their values: a member whose
    /// fields agree with the map is tried before one whose fields do not.
    pub consts: &'static [(&'static str, &'static [&'static str])],
}

/// A union whose members carry a `type`, but where several share a value (input and
/// output messages are both `message`) or carry it as optional. Generated by
/// `xtask/src/postprocess.rs` (`shared_tag_union`).
#[allow(dead_code)]
pub(crate) trait SharedTagDispatch: Sized {
    /// The union's name, for error messages.
    const NAME: &'static str;
    /// The property that tells the members apart.
    const TAG: &'static str;
    /// The members, in the order of the union's variants.
    const MEMBERS: &'static [Member];
    /// Decodes member `index` from the whole map.
    fn deserialize_member(index: usize, value: &Value) -> Result<Self, serde_json::Error>;
    /// Wraps a value of unknown shape or type.
    fn unknown(value: Value) -> Self;
}

/// Decodes a [`SharedTagDispatch`] union: only the members the tag names are tried (for a
/// map without the tag, those whose tag is optional), first those whose other constant
/// fields agree with the map, in declaration order. A known tag no member decodes is an
/// error (the first member's); a map with an unknown tag, or without one that no member
/// decodes, is kept as `Unknown`. The map is read once into a `Value`: these unions are
/// conversation items, not stream events, and several members may need to read it.
#[allow(dead_code)]
pub(crate) fn deserialize_shared_tag<'de, D: Deserializer<'de>, T: SharedTagDispatch>(
    d: D,
) -> Result<T, D::Error> {
    let value = Value::deserialize(d)?;
    let Value::Object(obj) = &value else {
        return Ok(T::unknown(value));
    };
    let tag = match obj.get(T::TAG) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Ok(T::unknown(value)),
    };
    let agrees = |m: &Member| {
        m.consts.iter().all(|(key, allowed)| match obj.get(*key) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => allowed.contains(&s.as_str()),
            Some(_) => false,
        })
    };
    let named = |m: &Member| match tag {
        Some(t) => m.tags.contains(&t),
        None => !m.tag_required,
    };
    let candidates = T::MEMBERS.iter().enumerate().filter(|(_, m)| named(m));
    let (first, rest): (Vec<_>, Vec<_>) = candidates.partition(|(_, m)| agrees(m));
    let mut first_err = None;
    for (index, _) in first.into_iter().chain(rest) {
        match T::deserialize_member(index, &value) {
            Ok(v) => return Ok(v),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match (tag, first_err) {
        (Some(t), Some(e)) => Err(de::Error::custom(format_args!(
            "{} of {} {t:?}: {e}",
            T::NAME,
            T::TAG
        ))),
        _ => Ok(T::unknown(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    struct A {
        #[serde(rename = "type")]
        type_: String,
        x: i64,
    }
    #[derive(Debug, PartialEq, Deserialize)]
    struct B {
        #[serde(rename = "type")]
        type_: String,
        y: String,
    }
    #[derive(Debug, PartialEq)]
    enum U {
        A(A),
        B(B),
        Unknown(Value),
    }
    impl TagDispatch for U {
        const NAME: &'static str = "U";
        const TAG: &'static str = "type";
        fn variant(tag: &str) -> Option<usize> {
            match tag {
                "a" => Some(0),
                "b" => Some(1),
                _ => None,
            }
        }
        fn deserialize_variant<'de, D: Deserializer<'de>>(
            i: usize,
            d: D,
        ) -> Result<Self, D::Error> {
            match i {
                0 => A::deserialize(d).map(U::A),
                _ => B::deserialize(d).map(U::B),
            }
        }
        fn unknown(v: Value) -> Self {
            U::Unknown(v)
        }
    }
    impl<'de> Deserialize<'de> for U {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            deserialize_tagged(d)
        }
    }

    #[test]
    fn dispatches_on_type_first_or_later() {
        let a: U = serde_json::from_str(r#"{"type":"a","x":1}"#).unwrap();
        assert_eq!(
            a,
            U::A(A {
                type_: "a".into(),
                x: 1
            })
        );
        let b: U = serde_json::from_str(r#"{"y":"q\"","type":"b"}"#).unwrap();
        assert_eq!(
            b,
            U::B(B {
                type_: "b".into(),
                y: "q\"".into()
            })
        );
        // From a Value too (an owned, non-borrowing deserializer).
        let b2: U = serde_json::from_value(serde_json::json!({"y": "z", "type": "b"})).unwrap();
        assert_eq!(
            b2,
            U::B(B {
                type_: "b".into(),
                y: "z".into()
            })
        );
    }

    #[test]
    fn unknown_type_and_shapes_are_kept() {
        let raw = serde_json::json!({"k": [1, 2], "type": "new.kind", "z": {"a": null}});
        let u: U = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(u, U::Unknown(raw));
        let no_tag = serde_json::json!({"k": 1});
        assert_eq!(
            serde_json::from_value::<U>(no_tag.clone()).unwrap(),
            U::Unknown(no_tag)
        );
        let num_tag = serde_json::json!({"type": 5, "k": 1});
        assert_eq!(
            serde_json::from_value::<U>(num_tag.clone()).unwrap(),
            U::Unknown(num_tag)
        );
        assert_eq!(
            serde_json::from_str::<U>("\"s\"").unwrap(),
            U::Unknown(Value::from("s"))
        );
        assert_eq!(
            serde_json::from_str::<U>("[1]").unwrap(),
            U::Unknown(serde_json::json!([1]))
        );
    }

    #[cfg(feature = "chat")]
    #[test]
    fn a_request_value_is_what_to_value_gives() {
        let mut deep = serde_json::json!("leaf");
        for i in 0..300 {
            deep = if i % 2 == 0 {
                serde_json::json!([deep])
            } else {
                serde_json::json!({ "k": deep })
            };
        }
        let values = [
            serde_json::json!({
                "model": "gpt-4o", "n": 2, "neg": -7, "big": u64::MAX, "t": 0.1, "e": 1e300,
                "z": -0.0, "one": 1.0, "s": "é\u{1F600}\"\\\n", "null": null, "b": true,
                "a": [1, [2, {"x": {}}], []], "dup_order": {"z": 1, "a": 2},
            }),
            deep,
        ];
        for v in values {
            assert_eq!(
                request_value(&v).unwrap(),
                serde_json::to_value(&v).unwrap()
            );
        }
        // Keys: numbers become strings; a key that is not a string or a number is an error.
        let numbers = std::collections::BTreeMap::from([(1, "a"), (-2, "b")]);
        assert_eq!(
            request_value(&numbers).unwrap(),
            serde_json::to_value(&numbers).unwrap()
        );
        let lists = std::collections::BTreeMap::from([(vec![1], "a")]);
        assert_eq!(
            request_value(&lists).unwrap_err().to_string(),
            serde_json::to_value(&lists).unwrap_err().to_string()
        );
        let f = f64::NAN;
        assert_eq!(request_value(&f).unwrap(), serde_json::to_value(f).unwrap());
    }

    fn answer(body: &'static [u8]) -> reqwest::Response {
        reqwest::Response::from(http::Response::new(reqwest::Body::from(body)))
    }

    #[tokio::test]
    async fn an_answer_is_decoded_as_text_and_a_bad_one_keeps_its_position() {
        let ok: progenitor_client::ResponseValue<Value> =
            response_value::<Value, ()>(answer(br#"{"a": [1, "x"]}"#))
                .await
                .unwrap();
        assert_eq!(*ok, serde_json::json!({"a": [1, "x"]}));

        // Not JSON of the type: serde_json's message and position, the path read from it.
        let e = response_value::<std::collections::BTreeMap<String, Vec<u8>>, ()>(answer(
            br#"{"a": [1, "x"]}"#,
        ))
        .await
        .err()
        .unwrap();
        let e = crate::error::from_generated(e).await;
        let crate::Error::Decode {
            what,
            path,
            message,
            ..
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!(
            (what.as_str(), path.as_str()),
            ("the response body", "a[1]")
        );
        assert!(
            message.starts_with("invalid type: string \"x\""),
            "{message}"
        );

        // Not UTF-8: the offset of the first bad byte, at the top level.
        let e = response_value::<Value, ()>(answer(b"{\"id\": \"ab\xff\"}"))
            .await
            .err()
            .unwrap();
        let e = crate::error::from_generated(e).await;
        let crate::Error::Decode { path, message, .. } = e else {
            panic!("{e:?}")
        };
        assert_eq!(path, ".");
        assert_eq!(message, "the body is not UTF-8 (at byte 10)");
    }

    #[test]
    fn a_known_type_with_a_bad_body_is_an_error_with_context() {
        let e = serde_json::from_str::<U>(r#"{"type":"a","x":"nope"}"#).unwrap_err();
        assert!(e.to_string().contains("invalid type"), "{e}");
    }
}
