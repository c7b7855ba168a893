//! JSON values from fuzzer bytes, biased towards a small vocabulary so that keys collide
//! (merges happen) and schema keywords appear.

use arbitrary::{Result, Unstructured};
use serde_json::{Map, Number, Value};

/// Keys that the code under test gives a meaning to.
pub const KEYS: &[&str] = &[
    "index",
    "type",
    "content",
    "a",
    "b",
    "arguments",
    "choices",
    "delta",
    "properties",
    "items",
    "anyOf",
    "allOf",
    "$ref",
    "$defs",
    "definitions",
    "required",
    "default",
    "additionalProperties",
    "object",
    "null",
    "tool_calls",
    "function",
    "name",
    "logprobs",
];

/// Strings worth trying besides random ones.
pub const STRINGS: &[&str] = &[
    "",
    "object",
    "array",
    "string",
    "null",
    "function",
    "#/$defs/a",
    "#/$defs/b",
    "#/",
    "#",
    "#/properties/a",
    "#/definitions/a",
    "#/$defs/a/properties/b",
    "a",
    "b",
    "{\"",
    "[1,",
    "é",
];

/// A value at most `depth` levels deep.
pub fn value(u: &mut Unstructured<'_>, depth: u32) -> Result<Value> {
    let choice = if depth == 0 {
        u.int_in_range(0..=5u8)?
    } else {
        u.int_in_range(0..=7u8)?
    };
    Ok(match choice {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::Number(Number::from(u.int_in_range(-3i64..=3)?)),
        3 => match u.int_in_range(0..=3u8)? {
            0 => Value::Number(Number::from(u.arbitrary::<i64>()?)),
            1 => Value::Number(Number::from(u.arbitrary::<u64>()?)),
            _ => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        },
        4 => Value::String(string(u)?),
        5 => Value::String((*u.choose(STRINGS)?).to_owned()),
        6 => {
            let len = u.int_in_range(0..=4u8)?;
            let mut items = Vec::new();
            for _ in 0..len {
                items.push(value(u, depth - 1)?);
            }
            Value::Array(items)
        }
        _ => Value::Object(object(u, depth - 1)?),
    })
}

/// An object at most `depth` levels deep below it.
pub fn object(u: &mut Unstructured<'_>, depth: u32) -> Result<Map<String, Value>> {
    let len = u.int_in_range(0..=5u8)?;
    let mut map = Map::new();
    for _ in 0..len {
        map.insert(key(u)?, value(u, depth)?);
    }
    Ok(map)
}

/// A key, usually from [`KEYS`].
pub fn key(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1u8, 8)? {
        string(u)
    } else {
        Ok((*u.choose(KEYS)?).to_owned())
    }
}

/// A key: half the time one of `known` (the fields of the family under test), otherwise
/// [`key`].
pub fn key_among(u: &mut Unstructured<'_>, known: &[&str]) -> Result<String> {
    if u.ratio(1u8, 2)? {
        Ok((*u.choose(known)?).to_owned())
    } else {
        key(u)
    }
}

/// A short arbitrary string.
pub fn string(u: &mut Unstructured<'_>) -> Result<String> {
    let len = u.int_in_range(0..=12u8)?;
    let mut s = String::new();
    for _ in 0..len {
        s.push(u.arbitrary::<char>()?);
    }
    Ok(s)
}
