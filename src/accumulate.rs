//! Generic JSON delta accumulation: folds a streamed delta object into the object
//! accumulated so far, with the reference SDK's `accumulate_delta` rules.
//!
//! For every key of the delta:
//!
//! - a key the accumulated object does not have yet is stored as it is (so a first
//!   list with two entries of the same `index` is kept as two entries);
//! - an accumulated `null` is replaced by the delta value (whatever it is);
//! - the keys `index` and `type` are replaced by the delta value, never merged (also
//!   by a `null` delta value, as the reference does);
//! - otherwise a `null` delta value never overwrites anything;
//! - string + string: concatenated (appended in place);
//! - number + number: added. Booleans count as the integers 0 and 1, as in Python
//!   (`true + true` gives `2`). Two integers give an integer; anything with a float
//!   gives a float;
//! - object + object: merged recursively with these same rules;
//! - list + list: when every accumulated entry is a string, number or boolean (also
//!   when the accumulated list is empty) the delta entries are appended. Otherwise each
//!   delta entry must be an object with an integer `index`: it is merged into the
//!   accumulated entry with the same `index`, or appended when there is none;
//! - any other combination of types: the delta value is silently ignored.
//!
//! # Example
//!
//! ```
//! use openai_sdk::accumulate::accumulate_delta;
//! use serde_json::{json, Value};
//!
//! let mut acc = serde_json::Map::new();
//! let deltas = [
//!     json!({"role": "assistant", "content": "Hel", "tool_calls": [{"index": 0, "type": "function", "function": {"arguments": ""}}]}),
//!     json!({"content": "lo", "tool_calls": [{"index": 0, "type": "function", "function": {"arguments": "{\"a\":"}}]}),
//!     json!({"content": null, "tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
//! ];
//! for delta in &deltas {
//!     let Value::Object(delta) = delta else { unreachable!() };
//!     accumulate_delta(&mut acc, delta)?;
//! }
//! assert_eq!(Value::Object(acc), json!({
//!     "role": "assistant",
//!     "content": "Hello",
//!     "tool_calls": [{"index": 0, "type": "function", "function": {"arguments": "{\"a\":1}"}}],
//! }));
//! # Ok::<(), openai_sdk::accumulate::AccumulateError>(())
//! ```
//!
//! # Differences from the reference
//!
//! - The reference finds the accumulated entry for a list delta entry by *position*
//!   (`acc[index]`). Here it is found by its `index` key. Both agree whenever the
//!   accumulated list holds the entries `0, 1, 2, ...` in order, which is what the API
//!   sends. They differ for lists whose entries are not at their own position (a list
//!   starting at index 1, or after a first chunk with duplicate indices): the reference
//!   then merges into the wrong entry or appends every fragment separately, while this
//!   function merges into the entry with the same `index` and appends otherwise. An
//!   accumulated entry that is not an object is skipped by the search (the reference
//!   raises `TypeError("not handled yet")` when it lands on one by position).
//! - Integer sums beyond the range of `i64`/`u64` become floats (Python integers are
//!   unbounded), and a float sum that overflows to infinity, which JSON cannot hold,
//!   leaves the accumulated value unchanged.
//!
//! # Errors
//!
//! As in the reference, an error stops the fold where it happened: entries and keys
//! handled before it stay merged. Paths point into the *delta* (`$.tool_calls[2]` is
//! the third entry of the delta's `tool_calls` list).
//!
//! # Performance
//!
//! Strings are appended in place (`String::push_str`), amortised O(length of the
//! delta). A list delta entry is looked up first at the position equal to its `index`,
//! then at the last entry, and only then by a scan, so merging a fragment into an
//! existing entry costs O(1) in the usual streams; an entry with a new `index` costs
//! one scan to make sure no entry has it yet (lists such as `tool_calls` are short).
//! Deciding whether an accumulated list is a "list of scalars" looks at its entries
//! and stops at the first non-scalar, so it is O(1) for lists of objects and
//! O(length) for lists of scalars, like the reference.
//! [`accumulate_delta_owned`] moves values out of the delta instead of cloning them.

use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

/// An error while folding a delta; see the module docs for the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccumulateError {
    /// An entry of a list delta is not an object, while the accumulated list holds
    /// objects (the reference raises `TypeError`).
    #[error("list delta entry at {path} is not an object")]
    NotAnObject {
        /// JSON path of the entry in the delta, e.g. `$.items[0]`.
        path: String,
    },
    /// An entry of a list delta has no `index` key (the reference raises `RuntimeError`).
    #[error("list delta entry at {path} has no `index` key")]
    MissingIndex {
        /// JSON path of the entry in the delta.
        path: String,
    },
    /// An entry of a list delta has an `index` that is not an integer (the reference
    /// raises `TypeError`). Booleans are accepted as 0 and 1, as in Python.
    #[error("list delta entry at {path} has an `index` that is not an integer")]
    InvalidIndex {
        /// JSON path of the entry in the delta.
        path: String,
    },
}

impl AccumulateError {
    /// The JSON path (into the delta) where the error happened.
    pub fn path(&self) -> &str {
        match self {
            AccumulateError::NotAnObject { path }
            | AccumulateError::MissingIndex { path }
            | AccumulateError::InvalidIndex { path } => path,
        }
    }

    /// The Python exception class the reference SDK raises for this error
    /// (`TypeError` or `RuntimeError`), for conformance reports.
    pub fn reference_class(&self) -> &'static str {
        match self {
            AccumulateError::NotAnObject { .. } | AccumulateError::InvalidIndex { .. } => {
                "TypeError"
            }
            AccumulateError::MissingIndex { .. } => "RuntimeError",
        }
    }
}

/// Folds `delta` into `acc`, cloning the delta values that are stored.
///
/// See the [module docs](self) for the rules and an example. On error, `acc` keeps
/// what was merged before the error.
pub fn accumulate_delta(
    acc: &mut Map<String, Value>,
    delta: &Map<String, Value>,
) -> Result<(), AccumulateError> {
    merge_object::<&Value>(acc, delta.iter()).map_err(Failure::into_error)
}

/// Folds `delta` into `acc`, moving the delta values that are stored instead of
/// cloning them (faster when the delta is not needed afterwards).
///
/// ```
/// use openai_sdk::accumulate::accumulate_delta_owned;
/// use serde_json::{json, Value};
///
/// let mut acc = serde_json::Map::new();
/// for piece in ["1", "+", "1"] {
///     let Value::Object(delta) = json!({"text": piece, "count": 1, "flag": true}) else { unreachable!() };
///     accumulate_delta_owned(&mut acc, delta)?;
/// }
/// assert_eq!(Value::Object(acc), json!({"text": "1+1", "count": 3, "flag": 3}));
/// # Ok::<(), openai_sdk::accumulate::AccumulateError>(())
/// ```
pub fn accumulate_delta_owned(
    acc: &mut Map<String, Value>,
    delta: Map<String, Value>,
) -> Result<(), AccumulateError> {
    merge_object::<Value>(acc, delta.into_iter()).map_err(Failure::into_error)
}

/// Folds the members of a delta of any representation (a borrowed `serde_json` map, an
/// owned one, the chat wire decoder's values) into `acc`, with the rules above.
#[cfg_attr(not(feature = "chat"), allow(dead_code))]
pub(crate) fn accumulate_entries<D: DeltaValue>(
    acc: &mut Map<String, Value>,
    entries: impl Iterator<Item = (D::Key, D)>,
) -> Result<(), AccumulateError> {
    merge_object::<D>(acc, entries).map_err(Failure::into_error)
}

/// A delta value: borrowed (cloned when stored), owned (moved), or another
/// representation of JSON.
pub(crate) trait DeltaValue: Sized {
    type Key: AsRef<str> + Into<String>;
    type Entries: Iterator<Item = (Self::Key, Self)>;
    type Items: Iterator<Item = Self>;

    /// The string, when the value is one.
    fn as_str(&self) -> Option<&str>;
    /// The value, when it is a number or a boolean.
    fn as_scalar(&self) -> Option<Value>;
    /// What a list entry says about its `index`: the entry is not an object, has no
    /// `index`, or its `index` as JSON.
    fn list_index(&self) -> ListIndex;
    fn into_value(self) -> Value;
    /// The entries, when the value is an object.
    fn into_entries(self) -> Option<Self::Entries>;
    /// The items, when the value is an array.
    fn into_items(self) -> Option<Self::Items>;
}

impl DeltaValue for Value {
    type Key = String;
    type Entries = serde_json::map::IntoIter;
    type Items = std::vec::IntoIter<Value>;

    fn as_str(&self) -> Option<&str> {
        Value::as_str(self)
    }
    fn as_scalar(&self) -> Option<Value> {
        scalar(self)
    }
    fn list_index(&self) -> ListIndex {
        list_index(self)
    }
    fn into_value(self) -> Value {
        self
    }
    fn into_entries(self) -> Option<Self::Entries> {
        match self {
            Value::Object(map) => Some(map.into_iter()),
            _ => None,
        }
    }
    fn into_items(self) -> Option<Self::Items> {
        match self {
            Value::Array(items) => Some(items.into_iter()),
            _ => None,
        }
    }
}

impl<'a> DeltaValue for &'a Value {
    type Key = &'a String;
    type Entries = serde_json::map::Iter<'a>;
    type Items = std::slice::Iter<'a, Value>;

    fn as_str(&self) -> Option<&str> {
        Value::as_str(self)
    }
    fn as_scalar(&self) -> Option<Value> {
        scalar(self)
    }
    fn list_index(&self) -> ListIndex {
        list_index(self)
    }
    fn into_value(self) -> Value {
        self.clone()
    }
    fn into_entries(self) -> Option<Self::Entries> {
        self.as_object().map(|map| map.iter())
    }
    fn into_items(self) -> Option<Self::Items> {
        self.as_array().map(|items| items.iter())
    }
}

/// A list delta entry's `index`, as [`DeltaValue::list_index`] sees it.
pub(crate) enum ListIndex {
    NotAnObject,
    Missing,
    /// Present: the number or boolean (`None`: another type, never an index).
    Present(Option<Value>),
}

fn scalar(value: &Value) -> Option<Value> {
    matches!(value, Value::Number(_) | Value::Bool(_)).then(|| value.clone())
}

fn list_index(value: &Value) -> ListIndex {
    match value {
        Value::Object(map) => {
            member(map, "index").map_or(ListIndex::Missing, |i| ListIndex::Present(scalar(i)))
        }
        _ => ListIndex::NotAnObject,
    }
}

/// One step of a JSON path, collected while an error unwinds.
#[derive(Debug)]
enum Segment {
    Key(String),
    Position(usize),
}

/// An error on its way up, with the path segments from the failure outward.
#[derive(Debug)]
struct Failure {
    kind: FailureKind,
    /// Innermost segment first.
    segments: Vec<Segment>,
}

#[derive(Debug)]
enum FailureKind {
    NotAnObject,
    MissingIndex,
    InvalidIndex,
}

impl Failure {
    fn at_position(kind: FailureKind, position: usize) -> Self {
        Failure {
            kind,
            segments: vec![Segment::Position(position)],
        }
    }

    fn within(mut self, segment: Segment) -> Self {
        self.segments.push(segment);
        self
    }

    fn into_error(self) -> AccumulateError {
        let mut path = String::from("$");
        for segment in self.segments.iter().rev() {
            match segment {
                Segment::Position(position) => {
                    let _ = write!(path, "[{position}]");
                }
                Segment::Key(key) => {
                    let plain = !key.is_empty()
                        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                    if plain {
                        path.push('.');
                        path.push_str(key);
                    } else {
                        let quoted = serde_json::to_string(key).unwrap_or_default();
                        let _ = write!(path, "[{quoted}]");
                    }
                }
            }
        }
        match self.kind {
            FailureKind::NotAnObject => AccumulateError::NotAnObject { path },
            FailureKind::MissingIndex => AccumulateError::MissingIndex { path },
            FailureKind::InvalidIndex => AccumulateError::InvalidIndex { path },
        }
    }
}

/// Objects of at most this many members are searched by comparing keys.
const SCAN: usize = 8;

/// `map.get(key)` for the small objects a stream accumulates (a message, a tool call, its
/// `function`): `serde_json::Map` is an `IndexMap` here (`preserve_order`), and every lookup
/// in it hashes the key with SipHash, which costs more than comparing a few keys. Stream
/// processing looks up several keys a chunk (5 % of a json chunk's instructions).
pub(crate) fn member<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if map.len() <= SCAN {
        map.iter().find_map(|(k, v)| (k == key).then_some(v))
    } else {
        map.get(key)
    }
}

/// [`member`], mutable.
pub(crate) fn member_mut<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Value> {
    if map.len() <= SCAN {
        map.iter_mut().find_map(|(k, v)| (k == key).then_some(v))
    } else {
        map.get_mut(key)
    }
}

fn merge_object<D: DeltaValue>(
    acc: &mut Map<String, Value>,
    entries: impl Iterator<Item = (D::Key, D)>,
) -> Result<(), Failure> {
    for (key, delta_value) in entries {
        match member_mut(acc, key.as_ref()) {
            None => {
                acc.insert(key.into(), delta_value.into_value());
            }
            Some(slot) => {
                if let Err(failure) = merge_value(key.as_ref(), slot, delta_value) {
                    return Err(failure.within(Segment::Key(key.into())));
                }
            }
        }
    }
    Ok(())
}

fn merge_value<D: DeltaValue>(key: &str, slot: &mut Value, delta: D) -> Result<(), Failure> {
    if slot.is_null() || key == "index" || key == "type" {
        *slot = delta.into_value();
        return Ok(());
    }
    match slot {
        Value::String(acc) => {
            if let Some(piece) = delta.as_str() {
                acc.push_str(piece);
            }
        }
        Value::Number(_) | Value::Bool(_) => {
            if let Some(sum) = delta.as_scalar().and_then(|d| add_numbers(slot, &d)) {
                *slot = sum;
            }
        }
        Value::Object(acc) => {
            if let Some(entries) = delta.into_entries() {
                merge_object::<D>(acc, entries)?;
            }
        }
        Value::Array(acc) => {
            if let Some(items) = delta.into_items() {
                merge_list::<D>(acc, items)?;
            }
        }
        Value::Null => {}
    }
    Ok(())
}

fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

fn merge_list<D: DeltaValue>(
    acc: &mut Vec<Value>,
    items: impl Iterator<Item = D>,
) -> Result<(), Failure> {
    if acc.iter().all(is_scalar) {
        acc.extend(items.map(DeltaValue::into_value));
        return Ok(());
    }
    for (position, entry) in items.enumerate() {
        let index = match entry.list_index() {
            ListIndex::Present(index) => match index.as_ref().and_then(index_of) {
                Some(index) => index,
                None => return Err(Failure::at_position(FailureKind::InvalidIndex, position)),
            },
            ListIndex::Missing => {
                return Err(Failure::at_position(FailureKind::MissingIndex, position))
            }
            ListIndex::NotAnObject => {
                return Err(Failure::at_position(FailureKind::NotAnObject, position))
            }
        };
        match find_entry(acc, index) {
            Some(target) => {
                if let Some(entries) = entry.into_entries() {
                    merge_object::<D>(target, entries)
                        .map_err(|failure| failure.within(Segment::Position(position)))?;
                }
            }
            None => acc.push(entry.into_value()),
        }
    }
    Ok(())
}

/// The object entry of `list` that [`accumulate_delta`] would fold a delta entry with
/// `"index": index` into, when that entry's own `index` is exactly the number `index` (so
/// that folding would leave it unchanged). Lets a caller append a string delta in place
/// (the Realtime state's text deltas) with the same result as the accumulator and without
/// building the nested delta; `None` means "use the accumulator".
#[cfg(feature = "realtime")]
pub(crate) fn indexed_entry_mut(list: &mut [Value], index: i64) -> Option<&mut Map<String, Value>> {
    let entry = find_entry(list, i128::from(index))?;
    (member(entry, "index") == Some(&Value::from(index))).then_some(entry)
}

/// An `index` value as an integer: integers, and booleans as 0/1 (Python's `bool` is
/// an `int`). Floats and everything else are not indices.
fn index_of(value: &Value) -> Option<i128> {
    match value {
        Value::Bool(b) => Some(i128::from(*b)),
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        _ => None,
    }
}

fn entry_index(entry: &Value) -> Option<i128> {
    entry
        .as_object()
        .and_then(|entry| member(entry, "index"))
        .and_then(index_of)
}

/// The accumulated object entry whose `index` equals `index`: tried at that position,
/// then at the end of the list, then by a scan.
fn find_entry(acc: &mut [Value], index: i128) -> Option<&mut Map<String, Value>> {
    let len = acc.len();
    let by_position = usize::try_from(index).ok().filter(|&position| {
        acc.get(position)
            .is_some_and(|entry| entry_index(entry) == Some(index))
    });
    let last = len
        .checked_sub(1)
        .filter(|&position| acc.get(position).and_then(entry_index) == Some(index));
    let found = by_position.or(last).or_else(|| {
        acc.iter()
            .position(|entry| entry.is_object() && entry_index(entry) == Some(index))
    })?;
    acc.get_mut(found).and_then(Value::as_object_mut)
}

/// An integer view of a number or boolean, when it is one.
fn as_integer(value: &Value) -> Option<i128> {
    match value {
        Value::Bool(b) => Some(i128::from(*b)),
        Value::Number(n) if !n.is_f64() => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        _ => None,
    }
}

fn as_float(value: &Value) -> Option<f64> {
    match value {
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// `acc + delta` for numbers and booleans (Python semantics); `None` when `delta` is
/// not a number or boolean, or the float sum is not finite.
fn add_numbers(acc: &Value, delta: &Value) -> Option<Value> {
    if let (Some(a), Some(b)) = (as_integer(acc), as_integer(delta)) {
        let sum = a.checked_add(b)?;
        if let Ok(sum) = i64::try_from(sum) {
            return Some(Value::Number(sum.into()));
        }
        if let Ok(sum) = u64::try_from(sum) {
            return Some(Value::Number(sum.into()));
        }
    }
    let sum = as_float(acc)? + as_float(delta)?;
    Number::from_f64(sum).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `member` and `member_mut` find what `get` and `get_mut` find, on both sides of
    /// [`SCAN`] (scan, then hash index), for present and absent keys, keys that are
    /// prefixes of others and the empty key.
    #[test]
    fn member_agrees_with_get() {
        let probes = [
            "", "a", "ab", "abc", "index", "indexes", "k0", "k7", "k8", "k12", "x",
        ];
        for n in 0..=SCAN + 5 {
            let mut map = Map::new();
            for i in 0..n {
                let key = match i {
                    0 => String::new(),
                    1 => "a".to_owned(),
                    2 => "abc".to_owned(),
                    3 => "index".to_owned(),
                    _ => format!("k{i}"),
                };
                map.insert(key, Value::from(i));
            }
            for key in probes {
                assert_eq!(member(&map, key), map.get(key), "{n} members, key {key:?}");
                let expected = map.get(key).cloned();
                let found = member_mut(&mut map, key).map(|v| {
                    let before = v.clone();
                    *v = Value::from("changed");
                    before
                });
                assert_eq!(found, expected, "{n} members, key {key:?} (mutable)");
                if let Some(before) = expected {
                    assert_eq!(map.get(key), Some(&Value::from("changed")));
                    map.insert(key.to_owned(), before);
                }
            }
        }
    }
}
