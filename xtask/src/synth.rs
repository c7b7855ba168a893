//! `cargo xtask synth-next OUT [IN]`: a synthetic "next" spec, to prove that the next
//! spec regenerates and builds with no code change (`scripts/synthetic-next-spec.sh`).
//!
//! It is IN (default `openapi/openapi.yaml`) plus what a new spec typically brings:
//! - a new member of `ResponseStreamEvent` (`response.future_thing.delta`);
//! - a new value of an existing enum (chat `finish_reason`: `future_reason`);
//! - a new optional field of a response type (`Response.future_field`);
//! - a new operation (`GET /agents/sessions`) under a new tag (`Agents`) and a new
//!   `x-oaiMeta` group (`agents`), with its own schemas.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Value};

/// The edits, applied to a parsed spec.
pub fn next_spec(doc: &mut Value) -> Result<()> {
    let schemas = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
        .context("no components.schemas")?;

    // 1. A new Responses stream event.
    schemas.insert(
        "ResponseFutureThingDeltaEvent".into(),
        json!({
            "type": "object",
            "description": "Emitted when a future thing has a delta (synthetic).",
            "properties": {
                "type": {"type": "string", "enum": ["response.future_thing.delta"], "x-stainless-const": true},
                "sequence_number": {"type": "integer"},
                "item_id": {"type": "string"},
                "output_index": {"type": "integer"},
                "delta": {"type": "string"}
            },
            "required": ["type", "sequence_number", "item_id", "output_index", "delta"]
        }),
    );
    let event = schemas
        .get_mut("ResponseStreamEvent")
        .context("no ResponseStreamEvent schema")?;
    let members = ["anyOf", "oneOf"]
        .iter()
        .find_map(|k| event.get(*k).is_some().then_some(*k))
        .context("ResponseStreamEvent is not a union")?;
    event[members]
        .as_array_mut()
        .context("ResponseStreamEvent members are not a list")?
        .push(json!({"$ref": "#/components/schemas/ResponseFutureThingDeltaEvent"}));

    // 2. A new enum value: chat `finish_reason`.
    let finish = schemas
        .get_mut("CreateChatCompletionResponse")
        .and_then(|s| s.pointer_mut("/properties/choices/items/properties/finish_reason/enum"))
        .and_then(Value::as_array_mut)
        .context("no chat finish_reason enum")?;
    finish.push(json!("future_reason"));

    // 3. A new optional field of a response type.
    let response = schemas.get_mut("Response").context("no Response schema")?;
    let props = match response.get_mut("allOf").and_then(Value::as_array_mut) {
        Some(all) => all
            .iter_mut()
            .rev()
            .find_map(|m| m.get_mut("properties"))
            .context("Response has no inline properties")?,
        None => response
            .get_mut("properties")
            .context("Response has no properties")?,
    };
    props
        .as_object_mut()
        .context("Response properties are not a mapping")?
        .insert(
            "future_field".into(),
            json!({"type": "string", "description": "A field of the next spec (synthetic)."}),
        );

    // 4. A new operation under a new tag and x-oaiMeta group.
    schemas.insert(
        "AgentSession".into(),
        json!({
            "type": "object",
            "description": "An agent session (synthetic).",
            "properties": {
                "id": {"type": "string"},
                "object": {"type": "string", "enum": ["agent.session"]},
                "created_at": {"type": "integer"},
                "status": {"type": "string", "enum": ["active", "ended"]}
            },
            "required": ["id", "object", "created_at", "status"]
        }),
    );
    schemas.insert(
        "AgentSessionList".into(),
        json!({
            "type": "object",
            "properties": {
                "object": {"type": "string", "enum": ["list"]},
                "data": {"type": "array", "items": {"$ref": "#/components/schemas/AgentSession"}},
                "has_more": {"type": "boolean"}
            },
            "required": ["object", "data", "has_more"]
        }),
    );
    let paths = doc
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .context("no paths")?;
    paths.insert(
        "/agents/sessions".into(),
        json!({"get": {
            "operationId": "listAgentSessions",
            "tags": ["Agents"],
            "summary": "List agent sessions (synthetic).",
            "parameters": [
                {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer"}}
            ],
            "responses": {"200": {
                "description": "OK",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgentSessionList"}}}
            }}
        }}),
    );
    if let Some(tags) = doc.get_mut("tags").and_then(Value::as_array_mut) {
        tags.push(json!({"name": "Agents", "description": "Agent sessions (synthetic)."}));
    }
    if let Some(groups) = doc
        .pointer_mut("/x-oaiMeta/groups")
        .and_then(Value::as_array_mut)
    {
        groups.push(json!({
            "id": "agents",
            "title": "Agents",
            "sections": [
                {"type": "endpoint", "key": "listAgentSessions", "path": "list"},
                {"type": "object", "key": "AgentSession", "path": "object"}
            ]
        }));
        if let Some(g) = groups
            .iter_mut()
            .find(|g| g.get("id").and_then(Value::as_str) == Some("responses-streaming"))
            .and_then(|g| g.get_mut("sections"))
            .and_then(Value::as_array_mut)
        {
            g.push(
                json!({"type": "object", "key": "ResponseFutureThingDeltaEvent", "path": "<auto>"}),
            );
        }
    }
    Ok(())
}

/// `cargo xtask synth-next OUT [IN]`.
pub fn cli(args: &[String]) -> Result<()> {
    let out = args
        .first()
        .context("usage: cargo xtask synth-next OUT.yaml [IN.yaml]")?;
    let input = args
        .get(1)
        .map(|p| Path::new(p).to_path_buf())
        .unwrap_or_else(|| crate::root().join("openapi/openapi.yaml"));
    let mut doc = crate::load_spec_file(&input, &mut crate::normalize::Counts::new())?;
    next_spec(&mut doc).with_context(|| format!("{}: making the next spec", input.display()))?;
    // JSON is YAML: the generator reads it as such.
    std::fs::write(out, serde_json::to_vec(&doc)?).with_context(|| format!("writing {out}"))?;
    println!(
        "wrote {out}: {} + a new stream event, enum value, response field and API group",
        input.display()
    );
    Ok(())
}
