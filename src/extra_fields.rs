//! The fields of an API object that the OpenAPI spec does not know.

use std::fmt;
use std::ops::Index;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::codegen_support::FieldName;

/// The fields of an API object that the OpenAPI spec does not know, kept as they came.
///
/// The API adds fields before the published spec does. Every generated struct has
/// `pub extra: ExtraFields`: decoding puts each key the struct does not know here
/// (at any depth: each nested object keeps its own), and serializing writes them back
/// among the known fields, so a decoded object sent back to the API (a Responses output
/// item as input, an Assistants object updated) loses nothing.
///
/// It is empty and allocation-free until the first unknown key. Indexing with a missing
/// key gives `Value::Null`, as `serde_json::Value` does.
///
/// ```
/// # #[cfg(feature = "chat")] {
/// use openai_sdk::types::CreateChatCompletionResponse;
///
/// let completion: CreateChatCompletionResponse = serde_json::from_str(r#"{
///     "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
///     "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
///                  "message": {"role": "assistant", "content": "Hi", "refusal": null,
///                              "probe_nested": [1, 2]}}],
///     "probe_unknown": {"a": true}
/// }"#).unwrap();
/// assert_eq!(completion.extra["probe_unknown"]["a"], true);
/// assert_eq!(completion.choices[0].message.extra["probe_nested"][1], 2);
/// assert!(completion.extra.get("absent").is_none());
///
/// // Serialized again, the unknown fields are where they were.
/// let again = serde_json::to_value(&completion).unwrap();
/// assert_eq!(again["choices"][0]["message"]["probe_nested"], serde_json::json!([1, 2]));
/// # }
/// ```
///
/// Keys inserted here are written as they are, after the known fields: a key that is also
/// a known field of the struct is written twice (and a JSON reader keeps the last), so
/// set known fields through the struct.
#[derive(Clone, Default)]
pub struct ExtraFields(Option<Box<Entries>>);

/// The fields in the order they came: a short list searched in order (objects carry few
/// unknown fields), two of them stored in the one allocation. A map would hash every key
/// and allocate twice more; the decode of a Responses event with two fields the spec
/// lacks (`obfuscation`, `bytes`) measured 1.48x the ignoring decode with one.
type Entries = smallvec::SmallVec<[(String, Value); 2]>;

static NULL: Value = Value::Null;

impl ExtraFields {
    /// No fields.
    pub const fn new() -> Self {
        ExtraFields(None)
    }

    /// The value of `key`, if the object had it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0
            .as_ref()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The value of `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.0
            .as_mut()?
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Whether the object had `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` (written back when the object is serialized); returns the old value.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        let key = key.into();
        if let Some(old) = self.get_mut(&key) {
            return Some(std::mem::replace(old, value));
        }
        self.0
            .get_or_insert_with(Default::default)
            .push((key, value));
        None
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let entries = self.0.as_mut()?;
        let at = entries.iter().position(|(k, _)| k == key)?;
        let (_, v) = entries.remove(at);
        if entries.is_empty() {
            self.0 = None;
        }
        Some(v)
    }

    /// How many unknown fields there are.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
    }

    /// Whether there are none (the usual case).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The fields in the order they came.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> + '_ {
        self.0.iter().flat_map(|m| m.iter().map(|(k, v)| (k, v)))
    }

    /// The fields as a JSON object.
    pub fn to_map(&self) -> Map<String, Value> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// The fields as a JSON object.
    pub fn into_map(self) -> Map<String, Value> {
        self.0.map(|m| m.into_iter().collect()).unwrap_or_default()
    }

    /// Stores an unknown key and reads its value (called by the generated `Deserialize`
    /// impls). The value's size is bounded by the body limit (`max_response_bytes`) and its
    /// depth by serde_json's recursion limit, both typed errors.
    pub(crate) fn read_entry<'de, A: MapAccess<'de>>(
        &mut self,
        key: FieldName<'de>,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let value: Value = map.next_value()?;
        let key = key.into_string();
        // A key sent twice: the last one wins, as in a JSON object read into a map.
        match self.get_mut(&key) {
            Some(old) => *old = value,
            None => self
                .0
                .get_or_insert_with(Default::default)
                .push((key, value)),
        }
        Ok(())
    }

    /// Writes the fields as entries of `map`, in order (called by the generated `Serialize`
    /// impls after the known fields): the entries serde's `#[serde(flatten)]` wrote.
    #[cfg_attr(not(feature = "full"), allow(dead_code))] // unused by the generated code of some feature sets
    pub(crate) fn write_entries<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        Ok(())
    }
}

impl Index<&str> for ExtraFields {
    type Output = Value;
    /// The value of `key`, or `Value::Null` when the object did not have it.
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

impl fmt::Debug for ExtraFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl From<Map<String, Value>> for ExtraFields {
    fn from(m: Map<String, Value>) -> Self {
        m.into_iter().collect()
    }
}

impl FromIterator<(String, Value)> for ExtraFields {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut out = ExtraFields::new();
        for (k, v) in iter {
            out.insert(k, v);
        }
        out
    }
}

/// Equal when they hold the same keys with the same values, in any order.
impl PartialEq for ExtraFields {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<'a> IntoIterator for &'a ExtraFields {
    type Item = (&'a String, &'a Value);
    type IntoIter = Box<dyn Iterator<Item = (&'a String, &'a Value)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl Serialize for ExtraFields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for ExtraFields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExtraFields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExtraFields, A::Error> {
                let mut out = ExtraFields::new();
                while let Some(key) = map.next_key::<FieldName<'de>>()? {
                    out.read_entry(key, &mut map)?;
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_until_the_first_key_and_back_to_empty() {
        let mut e = ExtraFields::new();
        assert!(e.is_empty());
        assert_eq!(e["x"], Value::Null);
        assert_eq!(e.insert("x", json!(1)), None);
        assert_eq!(e.len(), 1);
        assert_eq!(e["x"], 1);
        assert_eq!(e.remove("x"), Some(json!(1)));
        assert_eq!(e, ExtraFields::new());
        assert_eq!(format!("{e:?}"), "{}");
    }

    #[test]
    fn serializes_as_a_map_in_order() {
        let e: ExtraFields = serde_json::from_str(r#"{"b":1,"a":{"c":[null]}}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"b":1,"a":{"c":[null]}}"#
        );
        assert_eq!(e.to_map().len(), 2);
    }
}
