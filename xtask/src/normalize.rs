//! Turns the OpenAPI 3.1 document into the 3.0 dialect that progenitor and typify accept.
//!
//! Every rule here hits many places in the spec; one-off API decisions live in
//! `openapi/patches.json` instead. Each rule counts what it changed, and the counts are
//! printed by `cargo xtask gen` so that spec drift shows up in review.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

/// How many times each transformation fired.
pub type Counts = BTreeMap<&'static str, usize>;

/// An operation progenitor cannot generate, kept out of its input and hand-written in `src/`.
#[derive(Debug, Clone)]
pub struct SetAside {
    pub operation_id: String,
    pub reason: String,
}

/// A parameter removed from a generated operation because progenitor cannot express it.
#[derive(Debug, Clone)]
pub struct DroppedParam {
    pub operation_id: String,
    pub name: String,
    pub reason: String,
}

/// What normalisation found out about operations, besides the rewritten document.
#[derive(Debug, Default)]
pub struct Report {
    pub counts: Counts,
    /// Operations removed from progenitor's input (hand-written in `src/`).
    pub set_aside: Vec<SetAside>,
    /// Parameters removed from generated operations (hand-written variants in `src/`).
    pub dropped_params: Vec<DroppedParam>,
    /// Schemas an operation uses but progenitor never sees (SSE event types, multipart
    /// bodies), by operation id. They still decide which feature a type belongs to.
    pub extra_roots: BTreeMap<String, BTreeSet<String>>,
    /// Spec errors repaired (rules 22-25, `crate::repair`): `#/pointer: what was done`.
    pub repairs: crate::repair::Repairs,
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Replaces int64 literals that overflow the YAML loader (rule 0). Works on the text.
pub fn fix_int64_literals(text: &str, counts: &mut Counts) -> String {
    let mut out = text.to_owned();
    for (bad, good) in [
        ("-9223372036854776000", "-9223372036854775808"),
        ("9223372036854776000", "9223372036854775807"),
    ] {
        let n = out.matches(bad).count();
        if n > 0 {
            *counts.entry("0 int64 literal replaced").or_default() += n;
            out = out.replace(bad, good);
        }
    }
    out
}

/// Applies every normalisation rule to the parsed document.
pub fn normalize(doc: &mut Value) -> Result<Report> {
    let mut report = Report::default();
    // Rules 22-25: errors of a published spec, read as their authors meant.
    report.repairs = crate::repair::repair(doc, &mut report.counts);
    let root = doc.as_object_mut().context("the spec is not a mapping")?;

    // Rule 1: progenitor reads OpenAPI 3.0 only.
    root.insert("openapi".into(), json!("3.0.3"));
    // 3.0 has no `webhooks`: their payloads become one union, `WebhookEvent`, dispatched on
    // `type` like the stream events (the SDK's `webhooks` module unwraps into it).
    if let Some(webhooks) = root.remove("webhooks") {
        add_webhook_event_union(root, &webhooks, &mut report.counts)?;
    }

    // Rule 8 first needs the set of nullable component roots, found after rules 2-4 ran.
    let mut schemas = root
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(Value::as_object_mut)
        .map(std::mem::take)
        .unwrap_or_default();
    // Rule 15: a binary string is a file part of a multipart body. It becomes the
    // `FileUpload` schema, which the generator replaces with the SDK's `FilePart`.
    for (_, s) in schemas.iter_mut() {
        to_file_upload(s, &mut report.counts);
    }
    schemas.insert(
        "FileUpload".into(),
        json!({"type": "string", "format": "binary", "description": "A file sent in a multipart body."}),
    );
    for (_, s) in schemas.iter_mut() {
        walk_schema(s, &mut report.counts, 0)?;
    }
    // Rule 8: a nullable component root becomes non-null; each `$ref` to it becomes nullable.
    let mut nullable_roots = BTreeSet::new();
    for (name, s) in schemas.iter_mut() {
        if let Some(obj) = s.as_object_mut() {
            if obj.remove("nullable") == Some(Value::Bool(true)) {
                nullable_roots.insert(format!("#/components/schemas/{name}"));
                bump(
                    &mut report.counts,
                    "8 nullable component root made non-null",
                );
            }
        }
    }
    if let Some(c) = root.get_mut("components").and_then(Value::as_object_mut) {
        c.insert("schemas".into(), Value::Object(schemas));
    }

    // Names of the shared parameters, for rule 21.
    let shared_params: BTreeMap<String, (String, String)> = root
        .get("components")
        .and_then(|c| c.get("parameters"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, p)| {
                    let field = |f: &str| p.get(f).and_then(Value::as_str).unwrap_or("").to_owned();
                    (
                        format!("#/components/parameters/{k}"),
                        (field("name"), field("in")),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    // Paths: operations, their bodies, parameters and responses.
    let paths = root
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .context("the spec has no paths")?;
    let mut moved_schemas: Vec<(String, Value)> = Vec::new();
    let mut walked_schemas: Vec<(String, Value)> = Vec::new();
    let path_names: Vec<String> = paths.keys().cloned().collect();
    for path in path_names {
        let Some(item) = paths.get_mut(&path).and_then(Value::as_object_mut) else {
            continue;
        };
        if let Some(params) = item.get_mut("parameters").and_then(Value::as_array_mut) {
            for p in params {
                normalize_parameter(p, &mut report.counts)?;
            }
        }
        let item_params: Vec<Value> = item
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut removed_methods = Vec::new();
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            let op_id = op
                .get("operationId")
                .and_then(Value::as_str)
                .with_context(|| format!("{method} {path} has no operationId"))?
                .to_owned();
            let ctx = format!("{method} {path} ({op_id})");
            declare_path_params(&path, &item_params, op, &shared_params, &mut report.counts);
            let keep = normalize_operation(
                op,
                &op_id,
                &mut report,
                &mut moved_schemas,
                &mut walked_schemas,
            )
            .with_context(|| ctx.clone())?;
            if !keep {
                removed_methods.push(method);
            }
        }
        for m in removed_methods {
            item.remove(m);
        }
    }
    paths.retain(|_, item| {
        item.as_object()
            .is_some_and(|o| METHODS.iter().any(|m| o.contains_key(*m)))
    });

    if let Some(schemas) = root
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(Value::as_object_mut)
    {
        for (name, mut s) in moved_schemas {
            if schemas.contains_key(&name) {
                bail!("moving an inline request body to components: {name} already exists");
            }
            to_file_upload(&mut s, &mut report.counts);
            walk_schema(&mut s, &mut report.counts, 0)?;
            schemas.insert(name, s);
        }
        for (name, s) in walked_schemas {
            if schemas.contains_key(&name) {
                bail!("moving an inline answer to components: {name} already exists");
            }
            schemas.insert(name, s);
        }
    }
    // Responses in components (e.g. TooManyRequests) and their schemas.
    if let Some(resps) = root
        .get_mut("components")
        .and_then(|c| c.get_mut("responses"))
        .and_then(Value::as_object_mut)
    {
        for (_, r) in resps.iter_mut() {
            for_each_content_schema(r, |s| walk_schema(s, &mut report.counts, 0))?;
        }
    }

    // Rule 8, second half: every `$ref` to a formerly nullable root carries the nullability.
    rewrite_refs_to_nullable(doc, &nullable_roots, &mut report.counts);

    // Rule 19: descriptions become doc comments, and rustdoc compiles an untagged code
    // fence as a Rust doctest. The spec's fences hold JSON, SSE or shell text.
    mark_code_fences_as_text(doc, &mut report.counts);
    Ok(report)
}

/// The name of the union of every webhook payload.
const WEBHOOK_EVENT: &str = "WebhookEvent";

/// Rule 1, webhooks: `components.schemas.WebhookEvent` = `anyOf` of the payload schemas of
/// every webhook (in the spec's order) with discriminator `type`, and a section for it in
/// the `webhook-events` x-oaiMeta group, so that it lands in the `webhooks` feature.
fn add_webhook_event_union(
    root: &mut Map<String, Value>,
    webhooks: &Value,
    counts: &mut Counts,
) -> Result<()> {
    let mut members = Vec::new();
    for (name, hook) in webhooks
        .as_object()
        .context("`webhooks` is not a mapping")?
    {
        let schema = hook
            .pointer("/post/requestBody/content/application~1json/schema/$ref")
            .and_then(Value::as_str)
            .with_context(|| format!("webhook {name}: no application/json $ref payload"))?;
        let member = json!({ "$ref": schema });
        if !members.contains(&member) {
            members.push(member);
            bump(counts, "1 webhook payload -> member of WebhookEvent");
        }
    }
    let schemas = root
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(Value::as_object_mut)
        .context("the spec has no components.schemas")?;
    if schemas.contains_key(WEBHOOK_EVENT) {
        bail!("the spec already has a schema named {WEBHOOK_EVENT}");
    }
    schemas.insert(
        WEBHOOK_EVENT.into(),
        json!({
            "description": "A webhook event sent by OpenAI: any of the spec's webhook payloads, told apart by `type`.",
            "anyOf": members,
            "discriminator": { "propertyName": "type" },
        }),
    );
    let group = root
        .get_mut("x-oaiMeta")
        .and_then(|m| m.get_mut("groups"))
        .and_then(Value::as_array_mut)
        .and_then(|groups| {
            groups
                .iter_mut()
                .find(|g| g.get("id").and_then(Value::as_str) == Some("webhook-events"))
        })
        .and_then(|g| g.get_mut("sections"))
        .and_then(Value::as_array_mut)
        .context("no `webhook-events` group with sections in x-oaiMeta")?;
    group.push(json!({ "type": "object", "key": WEBHOOK_EVENT, "path": WEBHOOK_EVENT }));
    Ok(())
}

/// Rule 19: an untagged opening fence in a `description` becomes a `text` fence.
fn mark_code_fences_as_text(v: &mut Value, counts: &mut Counts) {
    match v {
        Value::Object(map) => {
            for (key, x) in map.iter_mut() {
                if key == "description" {
                    if let Value::String(text) = x {
                        if text.contains("```") {
                            if let Some(fixed) = tag_untagged_fences(text) {
                                *text = fixed;
                                bump(counts, "19 untagged code fence in a description -> text");
                            }
                            continue;
                        }
                    }
                }
                mark_code_fences_as_text(x, counts);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|x| mark_code_fences_as_text(x, counts)),
        _ => {}
    }
}

/// Returns the text with every untagged opening fence tagged `text`, or None if there was none.
/// A fence may close on the same line as text before it (`...]```), as in the spec.
fn tag_untagged_fences(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut inside = false;
    let mut changed = false;
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("```") {
            if inside {
                inside = false;
            } else {
                inside = true;
                if rest.trim().is_empty() {
                    out.push_str(&line[..line.len() - trimmed.len()]);
                    out.push_str("```text");
                    changed = true;
                    continue;
                }
            }
        } else if inside && line.trim_end().ends_with("```") {
            inside = false;
        }
        out.push_str(line);
    }
    changed.then_some(out)
}

fn bump(counts: &mut Counts, key: &'static str) {
    *counts.entry(key).or_default() += 1;
}

/// Normalises one operation in place. Returns false when it must leave progenitor's input.
fn normalize_operation(
    op: &mut Map<String, Value>,
    op_id: &str,
    report: &mut Report,
    moved: &mut Vec<(String, Value)>,
    walked: &mut Vec<(String, Value)>,
) -> Result<bool> {
    // Parameters: array-typed headers (rule 12), deepObject and object query params (11, 13).
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        let mut kept = Vec::new();
        for mut p in std::mem::take(params) {
            let style = p.get("style").and_then(Value::as_str).unwrap_or_default();
            let location = p.get("in").and_then(Value::as_str).unwrap_or_default();
            let is_object = p.pointer("/schema/type").and_then(Value::as_str) == Some("object");
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if style == "deepObject" {
                bump(
                    &mut report.counts,
                    "11 deepObject query parameter set aside",
                );
                report.dropped_params.push(DroppedParam {
                    operation_id: op_id.into(),
                    name,
                    reason: "deepObject query parameter".into(),
                });
                continue;
            }
            if location == "query" && is_object {
                bump(
                    &mut report.counts,
                    "13 object-typed query parameter set aside",
                );
                report.dropped_params.push(DroppedParam {
                    operation_id: op_id.into(),
                    name,
                    reason: "object-typed query parameter".into(),
                });
                continue;
            }
            normalize_parameter(&mut p, &mut report.counts)?;
            kept.push(p);
        }
        *params = kept;
    }

    // Responses: success bodies keep one media type; all errors map to ErrorResponse (rule 10).
    let responses = op
        .get_mut("responses")
        .and_then(Value::as_object_mut)
        .context("no responses")?;
    let mut error_codes = 0;
    responses.retain(|code, _| {
        let success = code.starts_with('2');
        if !success {
            error_codes += 1;
        }
        success
    });
    if error_codes > 0 {
        bump(
            &mut report.counts,
            "10 error responses mapped to ErrorResponse",
        );
    }
    // Ranges rather than `default`: progenitor counts `default` as a possible success too.
    for range in ["4XX", "5XX"] {
        responses.insert(
            range.into(),
            json!({
                "description": "An error returned by the API.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
            }),
        );
    }
    for (_, r) in responses.iter_mut() {
        let Some(content) = r.get_mut("content").and_then(Value::as_object_mut) else {
            continue;
        };
        if content.contains_key("text/event-stream") && content.len() > 1 {
            if let Some(Value::String(r)) = content
                .get("text/event-stream")
                .and_then(|c| c.pointer("/schema/$ref"))
            {
                let name = r.trim_start_matches("#/components/schemas/").to_owned();
                report
                    .extra_roots
                    .entry(op_id.into())
                    .or_default()
                    .insert(name);
            }
            content.remove("text/event-stream");
            bump(
                &mut report.counts,
                "9b text/event-stream answer left to hand-written streams",
            );
        }
        if content.len() > 1 && content.keys().any(|k| k != "application/json") {
            // Binary downloads offered in several media types (video/mp4, image/webp,
            // application/zip, ...): one raw byte stream serves them all.
            content.clear();
            content.insert(
                "application/octet-stream".into(),
                json!({"schema": {"type": "string", "format": "binary"}}),
            );
            bump(
                &mut report.counts,
                "9d several binary answer media types -> one byte stream",
            );
        }
        for (_, media) in content.iter_mut() {
            if let Some(s) = media.get_mut("schema") {
                walk_schema(s, &mut report.counts, 0)?;
            }
        }
    }

    // Request bodies: JSON where offered; multipart and SDP bodies are hand-written (rule 9).
    if let Some(body) = op.get_mut("requestBody").and_then(Value::as_object_mut) {
        let content = body
            .get_mut("content")
            .and_then(Value::as_object_mut)
            .context("request body without content")?;
        let has_json = content.contains_key("application/json");
        let others: Vec<String> = content
            .keys()
            .filter(|k| *k != "application/json")
            .cloned()
            .collect();
        // Remember the non-JSON body schemas: they are roots of their feature, and inline
        // ones move to components so that their types are still generated.
        for media in &others {
            let Some(schema) = content.get_mut(media).and_then(|m| m.get_mut("schema")) else {
                continue;
            };
            let name = match schema.get("$ref").and_then(Value::as_str) {
                Some(r) => r.trim_start_matches("#/components/schemas/").to_owned(),
                None if media == "multipart/form-data" => {
                    let name = format!("{}Multipart", pascal(op_id));
                    moved.push((name.clone(), schema.take()));
                    *schema = json!({"$ref": format!("#/components/schemas/{name}")});
                    bump(
                        &mut report.counts,
                        "9c inline multipart body moved to components",
                    );
                    name
                }
                None => continue,
            };
            report
                .extra_roots
                .entry(op_id.into())
                .or_default()
                .insert(name);
        }
        if has_json {
            if !others.is_empty() {
                for m in &others {
                    content.remove(m);
                }
                bump(
                    &mut report.counts,
                    "9 non-JSON body variant dropped (JSON kept)",
                );
            }
        } else {
            // The answer's schema must still generate: name it when it is inline.
            if let Some(resps) = op.get_mut("responses").and_then(Value::as_object_mut) {
                for (code, r) in resps.iter_mut() {
                    if !code.starts_with('2') {
                        continue;
                    }
                    let Some(schema) = r.pointer_mut("/content/application~1json/schema") else {
                        continue;
                    };
                    let name = match schema.get("$ref").and_then(Value::as_str) {
                        Some(r) => r.trim_start_matches("#/components/schemas/").to_owned(),
                        None => {
                            let name = format!("{}Response", pascal(op_id));
                            // Already normalised above: goes in as it is.
                            walked.push((name.clone(), schema.take()));
                            *schema = json!({"$ref": format!("#/components/schemas/{name}")});
                            bump(
                                &mut report.counts,
                                "9e inline answer of a set-aside operation moved to components",
                            );
                            name
                        }
                    };
                    report
                        .extra_roots
                        .entry(op_id.into())
                        .or_default()
                        .insert(name);
                }
            }
            let reason = format!("{} request body", others.join(" / "));
            report.set_aside.push(SetAside {
                operation_id: op_id.into(),
                reason,
            });
            bump(
                &mut report.counts,
                "9 operation with a non-JSON body set aside",
            );
            return Ok(false);
        }
        // Rule 13: progenitor needs bodies to be required.
        if body.get("required") != Some(&Value::Bool(true)) {
            body.insert("required".into(), Value::Bool(true));
            bump(&mut report.counts, "13 optional request body made required");
        }
        if let Some(content) = body.get_mut("content").and_then(Value::as_object_mut) {
            for (_, media) in content.iter_mut() {
                if let Some(s) = media.get_mut("schema") {
                    walk_schema(s, &mut report.counts, 0)?;
                }
            }
        }
    }
    Ok(true)
}

/// Rule 21: a `{name}` of the path that neither the operation nor its path item declares
/// (a published spec forgot it) becomes a required string path parameter.
fn declare_path_params(
    path: &str,
    item_params: &[Value],
    op: &mut Map<String, Value>,
    shared: &BTreeMap<String, (String, String)>,
    counts: &mut Counts,
) {
    let declared = |p: &Value| -> Option<String> {
        let (name, loc) = match p.get("$ref").and_then(Value::as_str) {
            Some(r) => shared.get(r).cloned()?,
            None => (
                p.get("name").and_then(Value::as_str)?.to_owned(),
                p.get("in").and_then(Value::as_str)?.to_owned(),
            ),
        };
        (loc == "path").then_some(name)
    };
    let mut names: BTreeSet<String> = item_params.iter().filter_map(declared).collect();
    if let Some(Value::Array(ps)) = op.get("parameters") {
        names.extend(ps.iter().filter_map(declared));
    }
    // A path parameter the template does not have (a misspelt name) cannot be sent.
    if let Some(Value::Array(ps)) = op.get_mut("parameters") {
        let before = ps.len();
        ps.retain(|p| {
            p.get("in").and_then(Value::as_str) != Some("path")
                || p.get("name")
                    .and_then(Value::as_str)
                    .is_none_or(|n| path.contains(&format!("{{{n}}}")))
        });
        if ps.len() != before {
            bump(counts, "21 path parameter missing from the path dropped");
        }
    }
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 1..start + len];
        rest = &rest[start + len..];
        if names.contains(name) {
            continue;
        }
        let params = op
            .entry("parameters")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(ps) = params {
            ps.push(
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}),
            );
            names.insert(name.to_owned());
            bump(counts, "21 undeclared path parameter declared (string)");
        }
    }
}

fn normalize_parameter(p: &mut Value, counts: &mut Counts) -> Result<()> {
    let is_header = p.get("in").and_then(Value::as_str) == Some("header");
    if let Some(schema) = p.get_mut("schema") {
        if is_header && schema.get("type").and_then(Value::as_str) == Some("array") {
            let item = schema
                .get("items")
                .cloned()
                .unwrap_or(json!({"type": "string"}));
            *schema = item;
            bump(
                counts,
                "12 array-typed header parameter narrowed to its item type",
            );
        }
        walk_schema(schema, counts, 0)?;
    }
    Ok(())
}

fn for_each_content_schema(
    response: &mut Value,
    mut f: impl FnMut(&mut Value) -> Result<()>,
) -> Result<()> {
    if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
        for (_, media) in content.iter_mut() {
            if let Some(s) = media.get_mut("schema") {
                f(s)?;
            }
        }
    }
    Ok(())
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
        && v.as_object().is_some_and(|o| o.len() <= 2)
}

/// Applies the per-schema rules to one schema, then recurses into its sub-schemas.
fn walk_schema(v: &mut Value, counts: &mut Counts, depth: usize) -> Result<()> {
    if depth > 256 {
        bail!("schema nesting deeper than 256 levels");
    }
    let Some(obj) = v.as_object_mut() else {
        return Ok(());
    };

    // Rule 20: a `required` entry that is not a name (a stray `-` in the YAML is null) goes.
    if let Some(Value::Array(req)) = obj.get_mut("required") {
        let before = req.len();
        req.retain(Value::is_string);
        if req.len() != before {
            bump(counts, "20 `required` entry that is not a name dropped");
        }
    }
    // Rule 4: `const` becomes a one-value enum.
    if let Some(c) = obj.remove("const") {
        obj.insert("enum".into(), Value::Array(vec![c]));
        bump(counts, "4 const -> single-value enum");
    }
    // Rule 14: dates stay strings (no date-time crate in users' builds; any value the
    // server sends is kept as it came).
    if obj.get("type").and_then(Value::as_str) == Some("string")
        && matches!(
            obj.get("format").and_then(Value::as_str),
            Some("date" | "date-time")
        )
    {
        obj.remove("format");
        bump(counts, "14 date / date-time format kept as a string");
    }
    // Rule 5: defaults are left to the server.
    if obj.remove("default").is_some() {
        bump(counts, "5 default dropped");
    }
    // 3.1 `type: [X, "null"]`.
    if let Some(Value::Array(types)) = obj.get("type") {
        let non_null: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        let had_null = non_null.len() != types.len();
        if non_null.len() == 1 {
            obj.insert("type".into(), non_null[0].clone());
            if had_null {
                obj.insert("nullable".into(), Value::Bool(true));
            }
            bump(counts, "2b type list with null -> nullable");
        }
    }
    // Rule 16: `anyOf`/`oneOf` whose members only list `required` names (and a `not` of
    // the same kind) constrain which properties are present; they are not unions. Left in,
    // typify makes an enum with no variants.
    for key in ["anyOf", "oneOf"] {
        let only_required = |m: &Value| {
            m.as_object().is_some_and(|o| {
                !o.is_empty() && o.keys().all(|k| k == "required" || k == "description")
            })
        };
        if let Some(Value::Array(members)) = obj.get(key) {
            if !members.is_empty()
                && members.iter().all(only_required)
                && obj.contains_key("properties")
            {
                obj.remove(key);
                if obj.get("not").is_some_and(only_required) {
                    obj.remove("not");
                }
                bump(
                    counts,
                    "16 presence constraint (anyOf of `required` lists) dropped",
                );
            }
        }
    }
    // Rule 17: `allOf: [X, {nullable: true}]` is a nullable X.
    if let Some(Value::Array(members)) = obj.get_mut("allOf") {
        let is_nullable_marker = |m: &Value| {
            m.get("nullable") == Some(&Value::Bool(true))
                && m.as_object()
                    .is_some_and(|o| o.keys().all(|k| k == "nullable" || k == "description"))
        };
        if members.len() > 1 && members.iter().any(is_nullable_marker) {
            members.retain(|m| !is_nullable_marker(m));
            obj.insert("nullable".into(), Value::Bool(true));
            bump(counts, "17 allOf [X, {nullable: true}] -> nullable X");
        }
    }
    // Rule 18: a `required` name the schema never declares would become a required
    // `serde_json::Value` field that real answers lack. It becomes an optional field of
    // any JSON, so a value that does come is kept.
    let composed = ["allOf", "anyOf", "oneOf"]
        .iter()
        .any(|k| obj.contains_key(*k));
    if !composed {
        let declared: Option<Vec<String>> = obj
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect());
        let mut undeclared = Vec::new();
        if let (Some(declared), Some(Value::Array(req))) = (declared, obj.get_mut("required")) {
            req.retain(|r| match r.as_str() {
                Some(n) if !declared.iter().any(|d| d == n) => {
                    undeclared.push(n.to_owned());
                    false
                }
                _ => true,
            });
        }
        if let Some(Value::Object(props)) = obj.get_mut("properties") {
            for n in undeclared {
                props.insert(n, json!({}));
                bump(
                    counts,
                    "18 undeclared `required` name -> optional field of any JSON",
                );
            }
        }
    }
    // Rule 2: anyOf/oneOf with a `{type: null}` member.
    let mut hoisted = false;
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(members)) = obj.get(key) else {
            continue;
        };
        if !members.iter().any(is_null_schema) {
            continue;
        }
        let rest: Vec<Value> = members
            .iter()
            .filter(|m| !is_null_schema(m))
            .cloned()
            .collect();
        obj.remove(key);
        bump(counts, "2 anyOf [X, null] -> nullable X");
        if rest.len() == 1 {
            let Some(only) = rest.into_iter().next() else {
                unreachable!()
            };
            match only {
                Value::Object(inner) if inner.contains_key("$ref") && inner.len() == 1 => {
                    obj.insert("allOf".into(), Value::Array(vec![Value::Object(inner)]));
                }
                Value::Object(inner) => {
                    // Hoist X; the outer keys (description, title) win.
                    for (k, val) in inner {
                        obj.entry(k).or_insert(val);
                    }
                    hoisted = true;
                }
                other => bail!("anyOf member is not a schema: {other}"),
            }
        } else {
            obj.insert(key.into(), Value::Array(rest));
        }
        obj.insert("nullable".into(), Value::Bool(true));
    }
    if hoisted {
        // The hoisted schema may itself need any of the rules above.
        return walk_schema(v, counts, depth + 1);
    }
    // Rule 3: a `$ref` with siblings goes into allOf.
    if obj.contains_key("$ref") && obj.len() > 1 {
        let Some(r) = obj.remove("$ref") else {
            unreachable!()
        };
        obj.insert("allOf".into(), json!([{"$ref": r}]));
        bump(counts, "3 $ref with siblings -> allOf");
        // Recompute defaults/const on siblings is done above already.
        if let Some(Value::Array(all)) = obj.get("allOf") {
            if all.len() != 1 {
                bail!("allOf after $ref wrap has {} members", all.len());
            }
        }
    }
    // Rule 6: open enums `anyOf: [string, enum of strings]` become a plain string.
    if let Some(Value::Array(members)) = obj.get("anyOf") {
        let is_string = |m: &Value| {
            m.get("type").and_then(Value::as_str) == Some("string") && m.get("enum").is_none()
        };
        let is_enum = |m: &Value| m.get("enum").is_some();
        if members.len() == 2 && members.iter().any(is_string) && members.iter().any(is_enum) {
            let known: Vec<Value> = members
                .iter()
                .filter_map(|m| m.get("enum"))
                .flat_map(|e| e.as_array().cloned().unwrap_or_default())
                .collect();
            obj.remove("anyOf");
            obj.insert("type".into(), json!("string"));
            obj.insert("x-known-values".into(), Value::Array(known));
            bump(counts, "6 open enum -> string");
        }
    }
    // Rule 7: the remaining anyOf become oneOf (an enum instead of a struct of Options).
    if let Some(members) = obj.remove("anyOf") {
        if obj.contains_key("oneOf") {
            // Both present: keep the anyOf as an allOf member so nothing is lost.
            let all = obj.entry("allOf").or_insert_with(|| json!([]));
            if let Some(a) = all.as_array_mut() {
                a.push(json!({"oneOf": members}));
            }
        } else {
            obj.insert("oneOf".into(), members);
        }
        bump(counts, "7 anyOf -> oneOf");
    }

    // Recurse.
    for key in ["properties", "$defs", "definitions", "patternProperties"] {
        if let Some(Value::Object(m)) = obj.get_mut(key) {
            for (_, s) in m.iter_mut() {
                walk_schema(s, counts, depth + 1)?;
            }
        }
    }
    for key in [
        "items",
        "additionalProperties",
        "not",
        "contains",
        "if",
        "then",
        "else",
    ] {
        match obj.get_mut(key) {
            Some(Value::Array(a)) => {
                for s in a {
                    walk_schema(s, counts, depth + 1)?;
                }
            }
            Some(s @ Value::Object(_)) => walk_schema(s, counts, depth + 1)?,
            _ => {}
        }
    }
    for key in ["oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(a)) = obj.get_mut(key) {
            for s in a {
                walk_schema(s, counts, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// Rule 8, second half: `{"$ref": R}` to a formerly nullable root becomes
/// `{"allOf": [{"$ref": R}], "nullable": true}`; `allOf: [$ref R]` gains `nullable`.
fn rewrite_refs_to_nullable(v: &mut Value, roots: &BTreeSet<String>, counts: &mut Counts) {
    match v {
        Value::Object(obj) => {
            let target = obj.get("$ref").and_then(Value::as_str).map(str::to_owned);
            if let Some(r) = target {
                if roots.contains(&r) {
                    if obj.len() == 1 {
                        obj.remove("$ref");
                        obj.insert("allOf".into(), json!([{"$ref": r}]));
                    }
                    obj.insert("nullable".into(), Value::Bool(true));
                    bump(counts, "8 $ref to a nullable root made nullable");
                    return;
                }
            }
            for (_, x) in obj.iter_mut() {
                rewrite_refs_to_nullable(x, roots, counts);
            }
        }
        Value::Array(a) => {
            for x in a {
                rewrite_refs_to_nullable(x, roots, counts);
            }
        }
        _ => {}
    }
}

/// `create-realtime-call` → `CreateRealtimeCall`.
pub fn pascal(s: &str) -> String {
    let mut out = String::new();
    let mut up = true;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if up {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            up = false;
        } else {
            up = true;
        }
    }
    out
}

fn to_file_upload(v: &mut Value, counts: &mut Counts) {
    match v {
        Value::Object(obj) => {
            if obj.get("type").and_then(Value::as_str) == Some("string")
                && obj.get("format").and_then(Value::as_str) == Some("binary")
            {
                obj.remove("type");
                obj.remove("format");
                obj.insert("$ref".into(), json!("#/components/schemas/FileUpload"));
                bump(
                    counts,
                    "15 binary string -> FileUpload (multipart file part)",
                );
                return;
            }
            for (_, x) in obj.iter_mut() {
                to_file_upload(x, counts);
            }
        }
        Value::Array(a) => {
            for x in a {
                to_file_upload(x, counts);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_follow_the_template() {
        let mut counts = Counts::new();
        let mut op = json!({"parameters": [
            {"name": "cert_id", "in": "path", "required": true, "schema": {"type": "string"}},
            {"$ref": "#/components/parameters/Project"},
        ]});
        let shared = BTreeMap::from([(
            "#/components/parameters/Project".to_owned(),
            ("project_id".to_owned(), "path".to_owned()),
        )]);
        let op = op.as_object_mut().unwrap();
        declare_path_params(
            "/p/{project_id}/c/{certificate_id}",
            &[],
            op,
            &shared,
            &mut counts,
        );
        let names: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.get("name").and_then(Value::as_str).unwrap_or("$ref"))
            .collect();
        assert_eq!(names, ["$ref", "certificate_id"]);
        assert_eq!(counts.len(), 2);
    }

    #[test]
    fn required_entries_that_are_not_names_go() {
        let mut counts = Counts::new();
        let mut s = json!({"type": "object", "required": ["a", null], "properties": {"a": {"type": "string"}}});
        walk_schema(&mut s, &mut counts, 0).unwrap();
        assert_eq!(s["required"], json!(["a"]));
    }

    #[test]
    fn untagged_fences_become_text_and_tagged_ones_stay() {
        let text = "SSE:\n\n```\nevent: x\n```\n\nJSON:\n```json\n{}\n```\nthen\n```\n[1]```";
        let fixed = tag_untagged_fences(text).unwrap();
        assert_eq!(
            fixed,
            "SSE:\n\n```text\nevent: x\n```\n\nJSON:\n```json\n{}\n```\nthen\n```text\n[1]```"
        );
        assert_eq!(tag_untagged_fences("```json\n{}\n```"), None);
    }
}
