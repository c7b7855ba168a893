//! `strict_schema_for` on representative Rust types: snapshots of the strict schemas, and the
//! errors for what strict mode can't express.

#![allow(dead_code)] // the types only exist for their schemas

use std::collections::HashMap;

use openai_sdk::parsing::{strict_schema_for, StrictSchemaError};
use schemars::JsonSchema;
use serde::Deserialize;

/// A primary colour.
#[derive(Deserialize, JsonSchema)]
enum Color {
    Red,
    Green,
    Blue,
}

/// What was detected in the picture.
#[derive(Deserialize, JsonSchema)]
struct ColorDetection {
    /// The detected colour.
    color: Color,
    /// Hex code, e.g. `#ff0000`.
    hex_color_code: String,
}

/// A shape, tagged by `kind`.
#[derive(Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Shape {
    Circle { radius: f64 },
    Rectangle { width: f64, height: f64 },
    Point,
}

#[derive(Deserialize, JsonSchema)]
struct Drawing {
    shapes: Vec<Shape>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum Amount {
    Exact(i64),
    Range { min: i64, max: i64 },
    Text(String),
}

#[derive(Deserialize, JsonSchema)]
struct Invoice {
    amount: Amount,
    /// Up to two decimal places.
    tax_rate: f32,
    lines: u32,
}

#[derive(Deserialize, JsonSchema)]
struct Address {
    street: String,
    city: String,
    postcode: Option<String>,
}

/// A person and where they live.
#[derive(Deserialize, JsonSchema)]
struct Person {
    name: String,
    age: Option<u8>,
    home: Address,
    work: Option<Address>,
    nicknames: Vec<String>,
    previous_addresses: Vec<Address>,
}

/// A tree of labelled nodes.
#[derive(Deserialize, JsonSchema)]
struct Tree {
    label: String,
    children: Vec<Tree>,
}

/// A linked list whose links have doc comments.
#[derive(Deserialize, JsonSchema)]
struct Chain {
    value: i32,
    /// The next link, if any.
    next: Option<Box<Chain>>,
}

#[derive(Deserialize, JsonSchema)]
struct Outline {
    /// The first link.
    head: Link,
}

#[derive(Deserialize, JsonSchema)]
struct Link {
    text: String,
    /// The link after this one.
    following: Option<Box<Link>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Event {
    event_name: String,
    #[serde(rename = "when")]
    starts_at: String,
    #[serde(default)]
    attendee_count: i64,
}

/// Search query over orders.
///
/// Use `conditions` to filter.
#[derive(Deserialize, JsonSchema)]
struct Query {
    /// Name of the query, if any.
    name: Option<String>,
    /// Table to search.
    table_name: Table,
    conditions: Vec<Condition>,
    order_by: OrderBy,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Table {
    Orders,
    Customers,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum OrderBy {
    Asc,
    Desc,
}

#[derive(Deserialize, JsonSchema)]
struct Condition {
    column: String,
    /// Comparison operator.
    operator: Operator,
    value: Amount,
}

#[derive(Deserialize, JsonSchema)]
enum Operator {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = "<")]
    Lt,
}

/// An action, externally tagged (serde's default for enums).
#[derive(Deserialize, JsonSchema)]
enum Action {
    Stop,
    Move { x: i32, y: i32 },
    Say(String),
}

#[derive(Deserialize, JsonSchema)]
struct Plan {
    steps: Vec<Action>,
}

#[derive(Deserialize, JsonSchema)]
struct Wrapper<T> {
    inner: T,
}

#[derive(Deserialize, JsonSchema)]
struct Foo {
    foo: bool,
}

#[derive(Deserialize, JsonSchema)]
struct Scores {
    player: String,
    by_level: HashMap<String, u32>,
}

#[derive(Deserialize, JsonSchema)]
struct WithValue {
    id: String,
    extra: serde_json::Value,
}

#[derive(Deserialize, JsonSchema)]
struct Holder {
    scores: Scores,
}

#[derive(Deserialize, JsonSchema)]
struct HolderOfValue {
    inner: WithValue,
}

#[derive(Deserialize, JsonSchema)]
struct Initial {
    letter: char,
}

macro_rules! snapshot {
    ($name:ident, $ty:ty) => {
        #[test]
        fn $name() {
            let strict = strict_schema_for::<$ty>().unwrap_or_else(|e| panic!("{e}"));
            // Every snapshot is also a fixed point of the reference conversion and passes the
            // strict-mode check (both are part of `strict_schema_for`).
            assert_eq!(
                openai_sdk::parsing::to_strict_json_schema(strict.schema.clone()).unwrap(),
                strict.schema
            );
            insta::assert_json_snapshot!(serde_json::json!({
                "name": strict.name,
                "description": strict.description,
                "schema": strict.schema,
            }));
        }
    };
}

snapshot!(unit_enum_field, ColorDetection);
snapshot!(internally_tagged_enum, Drawing);
snapshot!(untagged_enum_and_numbers, Invoice);
snapshot!(nested_structs_options_and_vecs, Person);
snapshot!(recursive_tree, Tree);
snapshot!(recursive_with_documented_self_reference, Chain);
snapshot!(recursive_definition_with_documented_link, Outline);
snapshot!(serde_renames, Event);
snapshot!(doc_comments_and_definitions, Query);
snapshot!(externally_tagged_enum, Plan);
snapshot!(generic_type, Wrapper<Foo>);

#[test]
fn names_follow_the_documented_rule() {
    assert_eq!(
        strict_schema_for::<Wrapper<Foo>>().unwrap().name,
        "Wrapper_Foo_"
    );
    assert_eq!(
        strict_schema_for::<Wrapper<Wrapper<Foo>>>().unwrap().name,
        "Wrapper_Wrapper_Foo_"
    );
    assert_eq!(strict_schema_for::<Person>().unwrap().name, "Person");
    let description = strict_schema_for::<Query>().unwrap().description;
    assert_eq!(
        description.as_deref(),
        Some("Search query over orders.\n\nUse `conditions` to filter.")
    );
    assert_eq!(strict_schema_for::<Drawing>().unwrap().description, None);
}

#[test]
fn hash_map_field_is_an_error_naming_the_field() {
    let err = strict_schema_for::<Scores>().unwrap_err();
    match &err {
        StrictSchemaError::Unsupported {
            path,
            type_name,
            keyword,
            ..
        } => {
            assert_eq!(path, "/properties/by_level");
            assert_eq!(type_name, &None);
            assert_eq!(keyword, "additionalProperties");
        }
        other => panic!("{other}"),
    }
    insta::assert_snapshot!(err.to_string());

    // Nested in another type, the error names the definition.
    let err = strict_schema_for::<Holder>().unwrap_err();
    match &err {
        StrictSchemaError::Unsupported {
            path, type_name, ..
        } => {
            assert_eq!(path, "/$defs/Scores/properties/by_level");
            assert_eq!(type_name.as_deref(), Some("Scores"));
        }
        other => panic!("{other}"),
    }
}

#[test]
fn json_value_field_is_an_error() {
    let err = strict_schema_for::<WithValue>().unwrap_err();
    match &err {
        StrictSchemaError::Unsupported {
            path,
            type_name,
            keyword,
            ..
        } => {
            assert_eq!(path, "/properties/extra");
            assert_eq!(type_name, &None);
            assert_eq!(keyword, "true");
        }
        other => panic!("{other}"),
    }
    insta::assert_snapshot!(err.to_string());

    // The reference conversion alone reports it as its TypeError.
    let generated = schemars::schema_for!(WithValue).to_value();
    let err = openai_sdk::parsing::to_strict_json_schema(generated).unwrap_err();
    assert_eq!(err.reference_error_class(), "TypeError");
    assert_eq!(err.path(), "/properties/extra");
}

#[test]
fn json_value_in_a_definition_names_the_type() {
    let err = strict_schema_for::<HolderOfValue>().unwrap_err();
    match &err {
        StrictSchemaError::Unsupported {
            path,
            type_name,
            keyword,
            ..
        } => {
            assert_eq!(path, "/$defs/WithValue/properties/extra");
            assert_eq!(type_name.as_deref(), Some("WithValue"));
            assert_eq!(keyword, "true");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_root_that_is_not_an_object_is_an_error() {
    for err in [
        strict_schema_for::<Color>().unwrap_err(),
        strict_schema_for::<Vec<Foo>>().unwrap_err(),
        strict_schema_for::<Amount>().unwrap_err(),
    ] {
        match &err {
            StrictSchemaError::Unsupported { path, keyword, .. } => {
                assert_eq!(path, "");
                assert!(keyword == "type" || keyword == "anyOf", "{err}");
            }
            other => panic!("{other}"),
        }
    }
}

#[test]
fn char_field_is_reported() {
    let err = strict_schema_for::<Initial>().unwrap_err();
    match &err {
        StrictSchemaError::Unsupported { path, keyword, .. } => {
            assert_eq!(path, "/properties/letter");
            assert!(keyword == "minLength" || keyword == "maxLength", "{err}");
        }
        other => panic!("{other}"),
    }
}
