//! Rewrites progenitor's syntax tree before it is written out.
//!
//! - **Forward compatibility.** String enums gain `Other(String)`; unions gain
//!   `Unknown(serde_json::Value)`; `deny_unknown_fields` goes; a missing nullable or list
//!   field reads as `None` or empty. Everything unknown is kept and serializes back as it came.
//! - **Tag dispatch.** A union whose members are all objects with a constant `type` decodes
//!   by reading `type` and deserializing that one member, instead of trying each in turn.
//! - **Feature gates.** Each type and method is gated on the API groups that reach it.
//! - **Coverage.** Every operation is generated, hand-written in `src/` (found by its
//!   `#[doc(alias = "operationId")]`) or listed as unsupported with a reason.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{bail, Context, Result};
use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;
use syn::{parse_quote, Attribute, Fields, Item, ItemEnum, ItemImpl};

use crate::{features, normalize};

mod accessors;

/// What `run` produced.
pub struct Output {
    pub file: syn::File,
    /// `generated/types/NAME`: the types of one feature set.
    pub type_parts: BTreeMap<String, Part>,
    /// `generated/methods/NAME`: the operations of one feature.
    pub method_parts: BTreeMap<String, Part>,
    pub counts: BTreeMap<&'static str, usize>,
    pub generated_ops: usize,
    pub hand_written: Vec<String>,
    /// Hand-written operations (`#[doc(alias)]` in src/) whose operation id is not in the
    /// spec any more, with the file that holds them.
    pub hand_written_gone: Vec<(String, String)>,
    pub unsupported: Vec<(String, String)>,
    /// `generated/roundtrip.rs`: the name table of the `roundtrip` replay kind.
    pub roundtrip_table: String,
    /// What the report shows but does not stop the generation for.
    pub warnings: Vec<String>,
}

/// Operations deliberately left out, with the reason. Keep this list short and honest.
const UNSUPPORTED: &[(&str, &str)] = &[];

/// x-oaiMeta groups of event schemas that no operation references, and their feature.
const META_GROUPS: &[(&str, &str)] = &[
    ("responses-streaming", "responses"),
    ("responses-websocket-client-events", "responses"),
    ("responses-websocket-server-events", "responses"),
    ("responses-websocket-shared-events", "responses"),
    ("webhook-events", "webhooks"),
    ("images-streaming", "images"),
    ("realtime-client-events", "realtime"),
    ("realtime-server-events", "realtime"),
    ("realtime-translation-client-events", "realtime"),
    ("realtime-translation-server-events", "realtime"),
    ("realtime-beta-client-events", "realtime"),
    ("realtime-beta-server-events", "realtime"),
    ("chat-streaming", "chat"),
    ("assistants-streaming", "assistants"),
];

/// Event unions (and the Responses WebSocket error) that no operation names and no x-oaiMeta
/// section lists (the sections list their members): each belongs to the group that uses it,
/// so `realtime` or `responses` alone gets the union and not only its member structs.
const UNION_ROOTS: &[(&str, &str)] = &[
    ("RealtimeClientEvent", "realtime"),
    ("RealtimeServerEvent", "realtime"),
    ("ResponsesClientEvent", "responses"),
    ("ResponsesServerEvent", "responses"),
    ("ResponseWsError", "responses"),
];

type Counts = BTreeMap<&'static str, usize>;

fn bump(c: &mut Counts, k: &'static str) {
    *c.entry(k).or_default() += 1;
}

pub fn run(
    mut file: syn::File,
    doc: &Value,
    ops: &[features::Operation],
    report: &normalize::Report,
) -> Result<Output> {
    let mut counts = Counts::new();

    // The `types` module and the `impl Client` with the operation methods.
    let mut types_items = None;
    let mut methods_impl = None;
    for (i, item) in file.items.iter().enumerate() {
        match item {
            Item::Mod(m) if m.ident == "types" => types_items = Some(i),
            Item::Impl(imp) if is_client_methods_impl(imp) => methods_impl = Some(i),
            _ => {}
        }
    }
    let types_idx = types_items.context("progenitor output has no `types` module")?;
    let methods_idx =
        methods_impl.context("progenitor output has no `impl Client` with methods")?;

    // --- types: forward compatibility and tag dispatch --------------------------------
    let mut items = match &mut file.items[types_idx] {
        Item::Mod(m) => std::mem::take(&mut m.content.as_mut().context("empty types mod")?.1),
        _ => unreachable!(),
    };
    let type_names: BTreeSet<String> = items
        .iter()
        .filter_map(|it| item_type_name(it).map(|i| i.to_string()))
        .collect();
    let string_enums: BTreeSet<String> = items
        .iter()
        .filter_map(|it| match it {
            Item::Enum(e) if is_string_enum(e) => Some(e.ident.to_string()),
            _ => None,
        })
        .collect();
    // For tag dispatch: struct name -> the constant of its `type` field, if any.
    let const_tags = struct_const_tags(&items);

    let mut new_items = Vec::with_capacity(items.len() + string_enums.len() * 6);
    for item in items.drain(..) {
        match item {
            Item::Enum(e) if string_enums.contains(&e.ident.to_string()) => {
                new_items.extend(open_string_enum(e, &mut counts)?);
            }
            Item::Enum(e) => new_items.extend(open_union(e, &const_tags, &mut counts)?),
            Item::Struct(mut s) => {
                strip_derives(&mut s.attrs, &["Copy", "Eq", "Hash", "Ord", "PartialOrd"]);
                strip_deny_unknown_fields(&mut s.attrs, &mut counts);
                if let Fields::Named(fields) = &mut s.fields {
                    for f in fields.named.iter_mut() {
                        lenient_field(f, &mut counts);
                    }
                }
                let serde_impls = crate::extras::keep_unknown_fields(&mut s)?;
                new_items.push(Item::Struct(s));
                if !serde_impls.is_empty() {
                    bump(&mut counts, "struct keeps unknown fields (extras.rs)");
                    new_items.extend(serde_impls);
                }
            }
            Item::Impl(imp) if replaced_string_enum_impl(&imp, &string_enums) => {
                bump(&mut counts, "typify string-enum impl replaced");
            }
            Item::Impl(mut imp) if is_display_impl(&imp) => {
                // Unions now have `Unknown(Value)`: their Display shows it as JSON.
                if let Some(syn::ImplItem::Fn(f)) = imp.items.first_mut() {
                    add_unknown_display_arm(&mut f.block);
                }
                new_items.push(Item::Impl(imp));
            }
            other => new_items.push(other),
        }
    }

    // Accessors of the discriminated unions (`TAGS`, `tag()`, common fields).
    let accessor_impls = accessors::generate(&new_items, &const_tags, &mut counts);
    new_items.extend(accessor_impls);
    // The accessors read the fields' serde `rename`s: only now can they go.
    for item in new_items.iter_mut() {
        if let Item::Struct(s) = item {
            crate::extras::strip_serde_field_attrs(s);
        }
    }

    // --- feature gates -------------------------------------------------------------------
    let graph = type_graph(&new_items, &type_names);
    let Item::Impl(client_impl) = &mut file.items[methods_idx] else {
        unreachable!()
    };
    let mut roots: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    let op_by_path: HashMap<(String, String), &features::Operation> = ops
        .iter()
        .map(|o| ((o.method.to_uppercase(), o.path.clone()), o))
        .collect();
    let mut generated_ops = BTreeSet::new();
    for it in client_impl.items.iter_mut() {
        let syn::ImplItem::Fn(f) = it else { continue };
        let (method, path) = sends_request_to(&f.attrs).with_context(|| {
            format!("method {} has no `Sends a ... request to` doc", f.sig.ident)
        })?;
        let op = op_by_path
            .get(&(method.clone(), path.clone()))
            .with_context(|| {
                format!(
                    "method {} ({method} {path}) matches no operation",
                    f.sig.ident
                )
            })?;
        generated_ops.insert(op.operation_id.clone());
        let feature = op.feature;
        let alias = &op.operation_id;
        f.attrs.push(parse_quote!(#[cfg(feature = #feature)]));
        f.attrs.push(parse_quote!(#[doc(alias = #alias)]));
        strip_api_version_header(&mut f.block, &mut counts);
        checked_path_params(&mut f.block, &mut counts)?;
        shared_send(f, &mut counts)?;
        typed_errors(f, &mut counts)?;
        let used = type_refs(&*f, &type_names);
        roots.entry(feature).or_default().extend(used);
    }
    // Schemas the generated methods never mention: SSE events, multipart bodies,
    // and the event groups of x-oaiMeta.
    let lookup = NameLookup::new(&type_names);
    let mut warnings = Vec::new();
    for (op_id, schemas) in &report.extra_roots {
        let op = ops
            .iter()
            .find(|o| &o.operation_id == op_id)
            .with_context(|| format!("extra roots for unknown operation {op_id}"))?;
        for s in schemas {
            let t = lookup
                .get(s)
                .with_context(|| format!("no generated type for schema {s}"))?;
            roots.entry(op.feature).or_default().insert(t);
        }
    }
    for group in doc
        .pointer("/x-oaiMeta/groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = group.get("id").and_then(Value::as_str).unwrap_or_default();
        // A group the table does not know: the feature of its operations, or one derived
        // from its id (reported by `cargo xtask gen`).
        let lists_objects = group
            .get("sections")
            .and_then(Value::as_array)
            .is_some_and(|s| {
                s.iter()
                    .any(|x| x.get("type").and_then(Value::as_str) != Some("endpoint"))
            });
        if !lists_objects {
            continue;
        }
        let feature = match META_GROUPS.iter().find(|(g, _)| *g == id) {
            Some((_, f)) => *f,
            None => features::meta_group_feature(group, ops),
        };
        for section in group
            .get("sections")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(key) = section.get("key").and_then(Value::as_str) else {
                continue;
            };
            if section.get("type").and_then(Value::as_str) == Some("endpoint") {
                continue;
            }
            match lookup.get(key) {
                Some(t) => {
                    roots.entry(feature).or_default().insert(t);
                }
                None => warnings.push(format!(
                    "x-oaiMeta group {id:?} lists schema {key}, which generated no type"
                )),
            }
        }
    }
    for (schema, feature) in UNION_ROOTS {
        // A spec without the union (an older one) needs no root for it.
        match lookup.get(schema) {
            Some(t) => {
                roots.entry(*feature).or_default().insert(t);
            }
            None => warnings.push(format!(
                "UNION_ROOTS names schema {schema}, which generated no type (not in this spec)"
            )),
        }
    }
    let reach = reachability(&graph, &roots);
    if std::env::var_os("XTASK_DEBUG_ROOTS").is_some() {
        for (feature, rs) in &roots {
            for r in rs {
                let one = BTreeMap::from([(*feature, BTreeSet::from([r.clone()]))]);
                eprintln!("root {feature} {r} {}", reachability(&graph, &one).len());
            }
        }
    }
    let orphans = type_names
        .iter()
        .filter(|t| !reach.contains_key(*t))
        .count();
    counts.insert(
        "types reached by no operation or event group (gated on `full`)",
        orphans,
    );

    let pages = page_types(&new_items);
    let serde_both = crate::extras::serde_round_trippable(&new_items);
    let mut roundtrip_entries = Vec::new();

    // Each item goes to the part file of its cfg clause; the file is included under that
    // clause, so rustc does not even read the parts of groups that are turned off.
    let mut parts: BTreeMap<String, Part> = BTreeMap::new();
    let mut ungated = Vec::new();
    for item in new_items {
        let clause: Option<(String, TokenStream)> = match &item {
            Item::Impl(imp) => {
                // An impl needs every type it names.
                let names = type_refs(imp, &type_names);
                if names.is_empty() {
                    None
                } else {
                    let sets: Vec<BTreeSet<&'static str>> = names
                        .iter()
                        .map(|n| {
                            reach
                                .get(n)
                                .cloned()
                                .unwrap_or_else(|| BTreeSet::from(["full"]))
                        })
                        .collect();
                    let full = BTreeSet::from(["full"]);
                    let mut all = sets[0].clone();
                    for s in &sets[1..] {
                        all = all.intersection(s).copied().collect();
                    }
                    if sets.contains(&full) {
                        // `full` turns on every group, so it implies the other clauses.
                        all = full;
                    }
                    if all.is_empty() {
                        // Types of disjoint groups: the impl needs all of them.
                        let mut sets = sets;
                        sets.sort();
                        sets.dedup();
                        let clauses: Vec<TokenStream> = sets
                            .iter()
                            .map(|s| cfg_any(s.iter().copied().collect()))
                            .collect();
                        let key = format!(
                            "all-{}",
                            sets.iter()
                                .map(|s| s.iter().copied().collect::<Vec<_>>().join("+"))
                                .collect::<Vec<_>>()
                                .join("--")
                        );
                        Some((key, quote!(all(#(#clauses),*))))
                    } else {
                        Some(feature_clause(&all))
                    }
                }
            }
            other => item_type_name(other).map(|n| {
                let set = reach
                    .get(&n.to_string())
                    .cloned()
                    .unwrap_or_else(|| BTreeSet::from(["full"]));
                let clause = feature_clause(&set);
                if serde_both.contains(&n.to_string()) {
                    roundtrip_entries.push((n.to_string(), clause.1.clone()));
                }
                clause
            }),
        };
        match clause {
            Some((key, cfg)) => parts
                .entry(key)
                .or_insert_with(|| Part {
                    cfg,
                    items: Vec::new(),
                })
                .items
                .push(item),
            None => ungated.push(item),
        }
    }
    let mut type_parts = BTreeMap::new();
    for (key, part) in parts {
        let file_name = part_file_name(&key);
        let cfg = &part.cfg;
        let path = format!("types/{file_name}");
        ungated.push(parse_quote!(#[cfg(#cfg)] include!(#path);));
        type_parts.insert(file_name, part);
    }
    if let Item::Mod(m) = &mut file.items[types_idx] {
        if let Some(content) = m.content.as_mut() {
            content.1 = ungated;
        }
    }

    // Methods: one `impl Client` part per feature.
    let mut method_parts: BTreeMap<String, Part> = BTreeMap::new();
    let Item::Impl(client_impl) = &mut file.items[methods_idx] else {
        unreachable!()
    };
    let attrs = client_impl.attrs.clone();
    for it in std::mem::take(&mut client_impl.items) {
        let syn::ImplItem::Fn(mut f) = it else {
            continue;
        };
        let pos = f
            .attrs
            .iter()
            .position(|a| a.path().is_ident("cfg"))
            .context("method without cfg")?;
        let cfg_attr = f.attrs.remove(pos);
        let syn::Meta::List(list) = &cfg_attr.meta else {
            bail!("odd cfg on a method")
        };
        let cfg = list.tokens.clone();
        let feature = cfg
            .to_string()
            .split('"')
            .nth(1)
            .unwrap_or("misc")
            .to_owned();
        let part = method_parts
            .entry(format!("{feature}.rs"))
            .or_insert_with(|| Part {
                cfg,
                items: vec![parse_quote!(#(#attrs)* impl Client {})],
            });
        let companion = paginated_companion(&f, &pages);
        if let Some(Item::Impl(imp)) = part.items.first_mut() {
            imp.items.push(syn::ImplItem::Fn(f));
            if let Some(c) = companion {
                imp.items.push(syn::ImplItem::Fn(c));
                bump(&mut counts, "list operation gains a _paginated companion");
            }
        }
    }
    let mut replacement = Vec::new();
    for (name, part) in &method_parts {
        let cfg = &part.cfg;
        let path = format!("methods/{name}");
        replacement.push(parse_quote!(#[cfg(#cfg)] include!(#path);));
    }
    file.items.splice(methods_idx..=methods_idx, replacement);

    // --- coverage ------------------------------------------------------------------------
    let hand_written = hand_written_ops()?;
    let mut unsupported = Vec::new();
    for op in ops {
        let id = &op.operation_id;
        let is_gen = generated_ops.contains(id);
        let is_hand = hand_written.contains_key(id);
        let unsup = UNSUPPORTED.iter().find(|(u, _)| u == id);
        if let Some((_, why)) = unsup {
            unsupported.push((id.clone(), why.to_string()));
        }
        if !is_gen && !is_hand && unsup.is_none() {
            let why = report
                .set_aside
                .iter()
                .find(|s| &s.operation_id == id)
                .map(|s| s.reason.clone())
                .unwrap_or_else(|| "not generated".into());
            bail!(
                "operation {id} ({} {}) is neither generated ({why}), nor hand-written in src/ \
                 (a method with #[doc(alias = \"{id}\")]), nor listed as unsupported",
                op.method.to_uppercase(),
                op.path
            );
        }
    }
    for d in &report.dropped_params {
        if !hand_written.contains_key(&d.operation_id)
            && !UNSUPPORTED.iter().any(|(u, _)| *u == d.operation_id)
        {
            bail!(
                "parameter {} of {} ({}) was dropped from the generated method; a hand-written \
                 variant with #[doc(alias = \"{}\")] must provide it",
                d.name,
                d.operation_id,
                d.reason,
                d.operation_id
            );
        }
    }

    let spec_ids: BTreeSet<&str> = ops.iter().map(|o| o.operation_id.as_str()).collect();
    let hand_written_gone = hand_written
        .iter()
        .filter(|(id, _)| !spec_ids.contains(id.as_str()))
        .map(|(id, file)| (id.clone(), file.clone()))
        .collect();
    Ok(Output {
        file,
        type_parts,
        method_parts,
        counts,
        generated_ops: generated_ops.len(),
        hand_written: hand_written
            .into_keys()
            .filter(|h| !generated_ops.contains(h) && spec_ids.contains(h.as_str()))
            .collect(),
        hand_written_gone,
        unsupported,
        roundtrip_table: crate::extras::roundtrip_table(&roundtrip_entries),
        warnings,
    })
}

/// Items written to one file under `generated/`, included under `cfg`.
pub struct Part {
    pub cfg: TokenStream,
    pub items: Vec<Item>,
}

/// `(bucket key, cfg clause)` for a feature set.
fn feature_clause(set: &BTreeSet<&'static str>) -> (String, TokenStream) {
    let key = set.iter().copied().collect::<Vec<_>>().join("+");
    (key, cfg_any(set.iter().copied().collect()))
}

/// A readable file name for a bucket; long ones are shortened with a hash.
fn part_file_name(key: &str) -> String {
    if key.len() <= 80 {
        return format!("{key}.rs");
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let head: String = key.chars().take(40).collect();
    format!("{head}-{h:016x}.rs")
}

fn cfg_any(mut feats: Vec<&'static str>) -> TokenStream {
    feats.sort_unstable();
    feats.dedup();
    quote!(any(#(feature = #feats),*))
}

fn item_type_name(item: &Item) -> Option<&syn::Ident> {
    match item {
        Item::Struct(s) => Some(&s.ident),
        Item::Enum(e) => Some(&e.ident),
        Item::Type(t) => Some(&t.ident),
        _ => None,
    }
}

fn is_client_methods_impl(imp: &ItemImpl) -> bool {
    imp.trait_.is_none()
        && matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident("Client"))
        && imp
            .items
            .iter()
            .any(|i| matches!(i, syn::ImplItem::Fn(f) if f.sig.asyncness.is_some()))
}

/// Reads "Sends a `POST` request to `/chat/completions`" from progenitor's method doc.
fn sends_request_to(attrs: &[Attribute]) -> Option<(String, String)> {
    for a in attrs {
        let syn::Meta::NameValue(nv) = &a.meta else {
            continue;
        };
        let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) = &nv.value
        else {
            continue;
        };
        let text = s.value();
        let i = text.find("Sends a `")?;
        let rest = &text[i + "Sends a `".len()..];
        let (method, rest) = rest.split_once('`')?;
        let rest = rest.split_once('`')?.1;
        let (path, _) = rest.split_once('`')?;
        return Some((method.to_owned(), path.to_owned()));
    }
    None
}

/// The generated types an item refers to: names in type position, and `types::X` paths.
/// (A plain identifier scan would also count enum variants that share a type's name.)
fn type_refs<T: Visitable>(node: &T, names: &BTreeSet<String>) -> BTreeSet<String> {
    struct V<'a> {
        names: &'a BTreeSet<String>,
        out: BTreeSet<String>,
    }
    impl<'ast> syn::visit::Visit<'ast> for V<'_> {
        fn visit_type_path(&mut self, tp: &'ast syn::TypePath) {
            // `Foo` or `types::Foo`, not `S::Error` (an associated type).
            let segs = &tp.path.segments;
            let local = tp.qself.is_none()
                && (segs.len() == 1
                    || segs
                        .iter()
                        .nth(segs.len().saturating_sub(2))
                        .is_some_and(|s| {
                            s.ident == "types" || s.ident == "self" || s.ident == "super"
                        }));
            if let (true, Some(last)) = (local, segs.last()) {
                let s = last.ident.to_string();
                if self.names.contains(&s) {
                    self.out.insert(s);
                }
            }
            syn::visit::visit_type_path(self, tp);
        }
        fn visit_path(&mut self, p: &'ast syn::Path) {
            let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
            for w in segs.windows(2) {
                if w[0] == "types" && self.names.contains(&w[1]) {
                    self.out.insert(w[1].clone());
                }
            }
            syn::visit::visit_path(self, p);
        }
    }
    let mut v = V {
        names,
        out: BTreeSet::new(),
    };
    node.visit_with(&mut v);
    v.out
}

/// A syntax node [`type_refs`] reads in place (printing it and parsing it back, as before,
/// took a quarter of the generator's time).
trait Visitable {
    fn visit_with<'a>(&'a self, v: &mut impl syn::visit::Visit<'a>);
}

impl Visitable for Item {
    fn visit_with<'a>(&'a self, v: &mut impl syn::visit::Visit<'a>) {
        v.visit_item(self);
    }
}

impl Visitable for syn::ItemImpl {
    fn visit_with<'a>(&'a self, v: &mut impl syn::visit::Visit<'a>) {
        v.visit_item_impl(self);
    }
}

impl Visitable for syn::ImplItemFn {
    fn visit_with<'a>(&'a self, v: &mut impl syn::visit::Visit<'a>) {
        v.visit_impl_item_fn(self);
    }
}

/// Type name -> the type names its definition mentions.
fn type_graph(items: &[Item], names: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
    let mut g = BTreeMap::new();
    for it in items {
        if let Some(n) = item_type_name(it) {
            let mut refs = type_refs(it, names);
            refs.remove(&n.to_string());
            g.insert(n.to_string(), refs);
        }
    }
    g
}

fn reachability(
    graph: &BTreeMap<String, BTreeSet<String>>,
    roots: &BTreeMap<&'static str, BTreeSet<String>>,
) -> BTreeMap<String, BTreeSet<&'static str>> {
    let mut out: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    for (feature, rs) in roots {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = rs.iter().collect();
        while let Some(t) = stack.pop() {
            if !seen.insert(t.clone()) {
                continue;
            }
            if let Some(next) = graph.get(t) {
                stack.extend(next.iter());
            }
        }
        for t in seen {
            out.entry(t).or_default().insert(feature);
        }
    }
    // `full` turns on every group, so it needs no mention; but it must reach the orphans,
    // which the caller handles.
    out
}

/// Schema name -> generated type name, tolerant of typify's renaming.
struct NameLookup(HashMap<String, String>);

impl NameLookup {
    fn new(names: &BTreeSet<String>) -> Self {
        Self(names.iter().map(|n| (squash(n), n.clone())).collect())
    }
    fn get(&self, schema: &str) -> Option<String> {
        self.0.get(&squash(schema)).cloned()
    }
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Operation ids that src/ implements by hand (`#[doc(alias = "...")]` on a method), with
/// the file (relative to the project) of the first one.
fn hand_written_ops() -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let root = crate::root();
    let src = root.join("src");
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p)?;
                for line in text.lines() {
                    let Some(rest) = line.trim_start().strip_prefix("#[doc(alias = \"") else {
                        continue;
                    };
                    if let Some(end) = rest.find('"') {
                        let rel = p.strip_prefix(&root).unwrap_or(&p);
                        out.entry(rest[..end].to_owned())
                            .or_insert_with(|| rel.display().to_string());
                    }
                }
            }
        }
    }
    Ok(out)
}

// --- forward compatibility ---------------------------------------------------------------

fn has_derive(attrs: &[Attribute], name: &str) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("derive") && a.meta.to_token_stream_string().contains(name))
}

trait MetaString {
    fn to_token_stream_string(&self) -> String;
}
impl MetaString for syn::Meta {
    fn to_token_stream_string(&self) -> String {
        quote!(#self).to_string()
    }
}

/// Removes the named derives (matched on the last path segment).
fn strip_derives(attrs: &mut [Attribute], remove: &[&str]) {
    for a in attrs.iter_mut() {
        if !a.path().is_ident("derive") {
            continue;
        }
        let Ok(paths) = a.parse_args_with(
            syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        let kept: Vec<&syn::Path> = paths
            .iter()
            .filter(|p| {
                let last = p
                    .segments
                    .last()
                    .map(|s| s.ident.to_string())
                    .unwrap_or_default();
                !remove.contains(&last.as_str())
            })
            .collect();
        *a = parse_quote!(#[derive(#(#kept),*)]);
    }
}

fn strip_deny_unknown_fields(attrs: &mut Vec<Attribute>, counts: &mut Counts) {
    for a in attrs.iter_mut() {
        if !a.path().is_ident("serde") {
            continue;
        }
        let Ok(metas) = a.parse_args_with(
            syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        if !metas
            .iter()
            .any(|m| m.path().is_ident("deny_unknown_fields"))
        {
            continue;
        }
        let kept: Vec<&syn::Meta> = metas
            .iter()
            .filter(|m| !m.path().is_ident("deny_unknown_fields"))
            .collect();
        *a = parse_quote!(#[serde(#(#kept),*)]);
        bump(counts, "deny_unknown_fields removed");
    }
    attrs
        .retain(|a| !(a.path().is_ident("serde") && a.meta.to_token_stream_string() == "serde ()"));
}

/// A required-but-nullable field reads a missing key as `None`; a required list reads a
/// missing key as empty (gpt-audio chunks have no `choices`).
fn lenient_field(f: &mut syn::Field, counts: &mut Counts) {
    let ty_s = {
        let t = &f.ty;
        quote!(#t).to_string()
    };
    let mut has_default = false;
    for a in f.attrs.iter_mut() {
        if !a.path().is_ident("serde") {
            continue;
        }
        let Ok(metas) = a.parse_args_with(
            syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        let mut changed = false;
        let kept: Vec<TokenStream> = metas
            .iter()
            .map(|m| {
                let s = quote!(#m).to_string();
                if s.contains("deserialize_with") && s.contains("Option::deserialize") {
                    changed = true;
                    quote!(default)
                } else {
                    quote!(#m)
                }
            })
            .collect();
        if metas.iter().any(|m| m.path().is_ident("default")) {
            has_default = true;
        }
        if changed {
            has_default = true;
            *a = parse_quote!(#[serde(#(#kept),*)]);
            bump(counts, "required nullable field: missing reads as None");
        }
    }
    if !has_default && ty_s.starts_with(":: std :: vec :: Vec") {
        f.attrs.push(parse_quote!(#[serde(default)]));
        bump(counts, "required list field: missing reads as empty");
    }
}

fn is_string_enum(e: &ItemEnum) -> bool {
    !e.variants.is_empty()
        && has_derive(&e.attrs, "Deserialize")
        && !e.attrs.iter().any(|a| a.path().is_ident("serde"))
        && e.variants.iter().all(|v| matches!(v.fields, Fields::Unit))
}

/// The wire value of a unit variant: its `#[serde(rename = "...")]` or its name.
fn wire_name(v: &syn::Variant) -> String {
    serde_str(&v.attrs, "rename").unwrap_or_else(|| v.ident.to_string())
}

/// The string value of `key` in the first `#[serde(key = "...")]` among `attrs`.
fn serde_str(attrs: &[Attribute], key: &str) -> Option<String> {
    for a in attrs {
        if !a.path().is_ident("serde") {
            continue;
        }
        let Ok(metas) = a.parse_args_with(
            syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        for m in metas {
            if let syn::Meta::NameValue(nv) = m {
                if nv.path.is_ident(key) {
                    if let syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) = nv.value
                    {
                        return Some(s.value());
                    }
                }
            }
        }
    }
    None
}

/// Impls typify wrote for string enums that the open enum replaces.
fn replaced_string_enum_impl(imp: &ItemImpl, string_enums: &BTreeSet<String>) -> bool {
    let syn::Type::Path(p) = &*imp.self_ty else {
        return false;
    };
    let Some(name) = p.path.get_ident().map(|i| i.to_string()) else {
        return false;
    };
    if !string_enums.contains(&name) {
        return false;
    }
    let Some((_, tr, _)) = &imp.trait_ else {
        return false;
    };
    let tr = quote!(#tr).to_string();
    tr.contains("Display") || tr.contains("FromStr") || tr.contains("TryFrom")
}

/// A string enum becomes open: `Other(String)` keeps an unknown value.
fn open_string_enum(mut e: ItemEnum, counts: &mut Counts) -> Result<Vec<Item>> {
    bump(counts, "string enum opened with Other(String)");
    strip_derives(&mut e.attrs, &["Copy", "Serialize", "Deserialize"]);
    let name = e.ident.clone();
    let idents: Vec<syn::Ident> = e.variants.iter().map(|v| v.ident.clone()).collect();
    let wires: Vec<String> = e.variants.iter().map(wire_name).collect();
    for v in e.variants.iter_mut() {
        v.attrs.retain(|a| !a.path().is_ident("serde"));
        let w = wire_name_from_ident_or(&wires, &idents, &v.ident);
        let doc = format!("`{w}`");
        v.attrs.push(parse_quote!(#[doc = #doc]));
    }
    // The catch-all is `Other`, unless the API itself has a value named "other".
    let other = if idents.iter().any(|i| i == "Other") {
        bump(
            counts,
            "string enum with an `other` value: catch-all named Unrecognized",
        );
        syn::Ident::new("Unrecognized", proc_macro2::Span::call_site())
    } else {
        syn::Ident::new("Other", proc_macro2::Span::call_site())
    };
    e.variants.push(parse_quote! {
        /// A value this version of the SDK does not know, kept as sent.
        #other(::std::string::String)
    });
    let items: Vec<Item> = vec![
        Item::Enum(e),
        parse_quote! {
            impl #name {
                /// The value as sent on the wire.
                pub fn as_str(&self) -> &str {
                    match self {
                        #(Self::#idents => #wires,)*
                        Self::#other(s) => s.as_str(),
                    }
                }
            }
        },
        parse_quote! {
            impl ::std::convert::From<&str> for #name {
                fn from(value: &str) -> Self {
                    match value {
                        #(#wires => Self::#idents,)*
                        unknown => Self::#other(unknown.to_owned()),
                    }
                }
            }
        },
        parse_quote! {
            impl ::std::convert::From<::std::string::String> for #name {
                fn from(value: ::std::string::String) -> Self {
                    match value.as_str() {
                        #(#wires => Self::#idents,)*
                        _ => Self::#other(value),
                    }
                }
            }
        },
        parse_quote! {
            impl ::std::str::FromStr for #name {
                type Err = ::std::convert::Infallible;
                fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                    Ok(Self::from(value))
                }
            }
        },
        parse_quote! {
            impl ::std::fmt::Display for #name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }
        },
        parse_quote! {
            impl ::serde::Serialize for #name {
                fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                    s.serialize_str(self.as_str())
                }
            }
        },
        parse_quote! {
            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                    crate::codegen_support::deserialize_open_str(d)
                }
            }
        },
    ];
    Ok(items)
}

fn wire_name_from_ident_or(wires: &[String], idents: &[syn::Ident], id: &syn::Ident) -> String {
    idents
        .iter()
        .position(|i| i == id)
        .and_then(|p| wires.get(p).cloned())
        .unwrap_or_else(|| id.to_string())
}

/// struct name -> (wire field name -> the values it can take) for each required field
/// whose type is a string enum: the candidates for a union's discriminator. Optional
/// fields of a string enum type are there too, named `?field` (see [`shared_tag_union`]).
fn struct_const_tags(items: &[Item]) -> HashMap<String, BTreeMap<String, Vec<String>>> {
    let mut single: HashMap<String, Vec<String>> = HashMap::new();
    for it in items {
        if let Item::Enum(e) = it {
            if is_string_enum(e) {
                single.insert(
                    e.ident.to_string(),
                    e.variants.iter().map(wire_name).collect(),
                );
            }
        }
    }
    let mut out: HashMap<String, BTreeMap<String, Vec<String>>> = HashMap::new();
    // A tagged union (`#[serde(tag = "event")]`) takes the values of its tag:
    // it can be a member of a union told apart by that field (e.g. `AssistantStreamEvent`,
    // whose members are unions of events by `event`).
    for it in items {
        let Item::Enum(e) = it else { continue };
        if let Some(tag) = internal_tag(&e.attrs) {
            out.entry(e.ident.to_string())
                .or_default()
                .insert(tag, e.variants.iter().map(wire_name).collect());
        }
    }
    for it in items {
        let Item::Struct(s) = it else { continue };
        let Fields::Named(fields) = &s.fields else {
            continue;
        };
        for f in &fields.named {
            let syn::Type::Path(p) = &f.ty else { continue };
            let Some(last) = p.path.segments.last() else {
                continue;
            };
            let (inner, optional) = match option_inner(last) {
                Some(inner) => (inner, true),
                None => (&last.ident, false),
            };
            let Some(tag) = single.get(&inner.to_string()) else {
                continue;
            };
            let Some(ident) = &f.ident else { continue };
            let mut wire = field_wire_name(&f.attrs)
                .unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_owned());
            if optional {
                wire.insert(0, '?');
            }
            out.entry(s.ident.to_string())
                .or_default()
                .insert(wire, tag.clone());
        }
    }
    out
}

/// `X` of an `Option<X>` path segment.
fn option_inner(seg: &syn::PathSegment) -> Option<&syn::Ident> {
    if seg.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(syn::Type::Path(p)) => Some(&p.path.segments.last()?.ident),
        _ => None,
    }
}

/// The tag field of an internally or adjacently tagged serde enum (`#[serde(tag = "...")]`,
/// with or without `content`): a map whose tag field holds a variant's name decodes as it.
fn internal_tag(attrs: &[Attribute]) -> Option<String> {
    serde_str(attrs, "tag")
}

fn field_wire_name(attrs: &[Attribute]) -> Option<String> {
    serde_str(attrs, "rename")
}

/// Unions gain `Unknown(serde_json::Value)`; discriminated ones decode by their `type`.
fn open_union(
    mut e: ItemEnum,
    const_tags: &HashMap<String, BTreeMap<String, Vec<String>>>,
    counts: &mut Counts,
) -> Result<Vec<Item>> {
    strip_derives(&mut e.attrs, &["Copy", "Eq", "Hash", "Ord", "PartialOrd"]);
    strip_deny_unknown_fields(&mut e.attrs, counts);
    let serde_attr = e
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("serde"))
        .map(|a| a.meta.to_token_stream_string())
        .collect::<Vec<_>>()
        .join(" ");
    let untagged = serde_attr.contains("untagged");
    let tagged = serde_attr.contains("tag =");
    if !untagged && !tagged {
        // Not a serde union (e.g. an integer enum with its own impls): leave it.
        return Ok(vec![Item::Enum(e)]);
    }
    let name = e.ident.clone();
    if e.variants.iter().any(|v| v.ident == "Unknown") {
        bail!("union {name} already has a variant named Unknown");
    }

    // Discriminated: every variant is a newtype of a struct with a constant field (`type`,
    // or `role`, `object`, ...), all with distinct values.
    let mut members: Vec<(syn::Ident, syn::Type, BTreeMap<String, Vec<String>>)> = Vec::new();
    if untagged {
        for v in &e.variants {
            let Fields::Unnamed(u) = &v.fields else { break };
            if u.unnamed.len() != 1 {
                break;
            }
            let Some(f) = u.unnamed.first() else { break };
            let syn::Type::Path(p) = &f.ty else { break };
            let Some(last) = p.path.segments.last() else {
                break;
            };
            let Some(consts) = const_tags.get(&last.ident.to_string()) else {
                break;
            };
            members.push((v.ident.clone(), f.ty.clone(), consts.clone()));
        }
    }
    let mut tag_field = None;
    if untagged && !members.is_empty() && members.len() == e.variants.len() {
        let mut candidates: Vec<&String> = members[0]
            .2
            .keys()
            .filter(|k| !k.starts_with('?'))
            .collect();
        // `type` first: it is what OpenAI's unions are usually told apart by.
        candidates.sort_by_key(|k| (k.as_str() != "type", k.as_str()));
        for field in candidates {
            let values: Option<Vec<&Vec<String>>> =
                members.iter().map(|m| m.2.get(field)).collect();
            if let Some(values) = values {
                // Each value names one member: the members' value sets must not overlap.
                let mut seen = BTreeSet::new();
                if values.iter().flat_map(|v| v.iter()).all(|v| seen.insert(v)) {
                    tag_field = Some(field.clone());
                    break;
                }
            }
        }
    }
    let tags: Vec<(String, syn::Ident, syn::Type)> = match &tag_field {
        Some(f) => members
            .iter()
            .flat_map(|(i, t, c)| {
                c.get(f)
                    .into_iter()
                    .flatten()
                    .map(move |v| (v.clone(), i.clone(), t.clone()))
            })
            .collect(),
        None => Vec::new(),
    };
    let discriminated = tag_field.is_some();
    if untagged && !discriminated {
        if let Some(items) = shared_tag_union(&mut e, const_tags, counts) {
            return Ok(items);
        }
    }

    if discriminated {
        bump(counts, "discriminated union decodes by `type`");
        strip_derives(&mut e.attrs, &["Deserialize"]);
        e.variants.push(parse_quote! {
            /// A member this version of the SDK does not know, kept as sent.
            Unknown(::serde_json::Value)
        });
        let wires: Vec<&String> = tags.iter().map(|(t, _, _)| t).collect();
        let idents: Vec<&syn::Ident> = tags.iter().map(|(_, i, _)| i).collect();
        let tys: Vec<&syn::Type> = tags.iter().map(|(_, _, t)| t).collect();
        let name_s = name.to_string();
        let tag_s = tag_field.clone().unwrap_or_default();
        if tag_s != "type" {
            bump(
                counts,
                "discriminated union decodes by a field other than `type`",
            );
        }
        let idx: Vec<usize> = (0..tags.len()).collect();
        let dispatch: Item = parse_quote! {
            impl crate::codegen_support::TagDispatch for #name {
                const NAME: &'static str = #name_s;
                const TAG: &'static str = #tag_s;
                fn variant(tag: &str) -> ::std::option::Option<usize> {
                    match tag {
                        #(#wires => Some(#idx),)*
                        _ => None,
                    }
                }
                fn deserialize_variant<'de, D: ::serde::Deserializer<'de>>(
                    index: usize,
                    d: D,
                ) -> ::std::result::Result<Self, D::Error> {
                    match index {
                        #(#idx => <#tys as ::serde::Deserialize>::deserialize(d).map(Self::#idents),)*
                        _ => Err(<D::Error as ::serde::de::Error>::custom("tag index out of range")),
                    }
                }
                fn unknown(value: ::serde_json::Value) -> Self {
                    Self::Unknown(value)
                }
            }
        };
        let de: Item = parse_quote! {
            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                    crate::codegen_support::deserialize_tagged(d)
                }
            }
        };
        return Ok(vec![Item::Enum(e), dispatch, de]);
    }

    if untagged {
        bump(counts, "untagged union gains Unknown(Value)");
        e.variants.push(parse_quote! {
            /// A value of a shape this version of the SDK does not know, kept as sent.
            Unknown(::serde_json::Value)
        });
    } else {
        bump(counts, "tagged union gains Unknown(Value)");
        e.variants.push(parse_quote! {
            /// A member this version of the SDK does not know, kept as sent.
            #[serde(untagged)]
            Unknown(::serde_json::Value)
        });
    }
    Ok(vec![Item::Enum(e)])
}

/// A union whose members all carry `type`, but where several share a value (`message` is
/// both `InputMessage` and `OutputMessage` in `Item`) or carry it as optional
/// (`InputMessage`): serde's untagged decode took the first member that fit, and since
/// string enums are open a `function_call` item fit `FileSearchToolCall`. Here a map is
/// decoded only by the members whose `type` holds its value (a map without `type`: those
/// whose `type` is optional), first those whose other constant fields (`role`) agree with
/// it. `const_tags` holds optional fields as `?name` (see [`struct_const_tags`]).
fn shared_tag_union(
    e: &mut ItemEnum,
    const_tags: &HashMap<String, BTreeMap<String, Vec<String>>>,
    counts: &mut Counts,
) -> Option<Vec<Item>> {
    const TAG: &str = "type";
    const OPT_TAG: &str = "?type";
    let mut members = Vec::new();
    for v in &e.variants {
        let Fields::Unnamed(u) = &v.fields else {
            return None;
        };
        if u.unnamed.len() != 1 {
            return None;
        }
        let f = u.unnamed.first()?;
        let syn::Type::Path(p) = &f.ty else {
            return None;
        };
        let consts = const_tags.get(&p.path.segments.last()?.ident.to_string())?;
        let (tags, required) = match (consts.get(TAG), consts.get(OPT_TAG)) {
            (Some(t), _) => (t.clone(), true),
            (None, Some(t)) => (t.clone(), false),
            (None, None) => return None,
        };
        let others: Vec<(String, Vec<String>)> = consts
            .iter()
            .filter(|(k, _)| k.as_str() != TAG && k.as_str() != OPT_TAG)
            .map(|(k, v)| (k.trim_start_matches('?').to_owned(), v.clone()))
            .collect();
        members.push((v.ident.clone(), f.ty.clone(), tags, required, others));
    }
    if members.is_empty() {
        return None;
    }
    bump(counts, "union with shared or optional `type` decodes by it");
    strip_derives(&mut e.attrs, &["Deserialize"]);
    e.variants.push(parse_quote! {
        /// A member this version of the SDK does not know, kept as sent.
        Unknown(::serde_json::Value)
    });
    let name = e.ident.clone();
    let name_s = name.to_string();
    let member_lits = members.iter().map(|(_, _, tags, required, others)| {
        let keys = others.iter().map(|(k, _)| k);
        let values = others.iter().map(|(_, v)| v);
        quote! {
            crate::codegen_support::Member {
                tags: &[#(#tags),*],
                tag_required: #required,
                consts: &[#((#keys, &[#(#values),*] as &[&str])),*],
            }
        }
    });
    let idx: Vec<usize> = (0..members.len()).collect();
    let tys = members.iter().map(|m| &m.1);
    let idents = members.iter().map(|m| &m.0);
    let dispatch: Item = parse_quote! {
        impl crate::codegen_support::SharedTagDispatch for #name {
            const NAME: &'static str = #name_s;
            const TAG: &'static str = #TAG;
            const MEMBERS: &'static [crate::codegen_support::Member] = &[#(#member_lits),*];
            fn deserialize_member(
                index: usize,
                value: &::serde_json::Value,
            ) -> ::std::result::Result<Self, ::serde_json::Error> {
                match index {
                    #(#idx => <#tys as ::serde::Deserialize>::deserialize(value).map(Self::#idents),)*
                    _ => Err(<::serde_json::Error as ::serde::de::Error>::custom("member index out of range")),
                }
            }
            fn unknown(value: ::serde_json::Value) -> Self {
                Self::Unknown(value)
            }
        }
    };
    let de: Item = parse_quote! {
        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                crate::codegen_support::deserialize_shared_tag(d)
            }
        }
    };
    Some(vec![Item::Enum(e.clone()), dispatch, de])
}

/// Drops progenitor's `api-version` header: OpenAI does not read it, and Azure takes
/// `api-version` as a query parameter (set by the client configuration instead).
fn strip_api_version_header(block: &mut syn::Block, counts: &mut Counts) {
    let before = block.stmts.len();
    block
        .stmts
        .retain(|s| !quote!(#s).to_string().contains("\"api-version\""));
    if block.stmts.len() != before {
        bump(counts, "api-version header dropped from a method");
    }
}

/// Routes every path parameter through `crate::codegen_support::path_param`, which refuses
/// an empty, `.` or `..` value (URL normalization would address another resource) before
/// anything is sent. progenitor writes `format!("{}/a/{}", self.baseurl, encode_path(&x.to_string()))`;
/// the macro's arguments are token streams, so they are parsed, rewritten and re-emitted.
fn checked_path_params(block: &mut syn::Block, counts: &mut Counts) -> Result<()> {
    struct V {
        rewritten: usize,
        error: Option<anyhow::Error>,
    }
    impl V {
        fn rewrite_arg(&mut self, arg: &mut syn::Expr) {
            let syn::Expr::Call(call) = arg else { return };
            let syn::Expr::Path(func) = &*call.func else {
                return;
            };
            let is_encode_path =
                matches!(func.path.segments.last(), Some(s) if s.ident == "encode_path");
            if !is_encode_path {
                return;
            }
            let Some(inner) = call.args.first() else {
                self.error = Some(anyhow::anyhow!("encode_path() without an argument"));
                return;
            };
            // `&name.to_string()` or `&name`: the parameter's name is the first path in it.
            struct FirstIdent(Option<String>);
            impl<'ast> syn::visit::Visit<'ast> for FirstIdent {
                fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
                    if self.0.is_none() {
                        if let Some(id) = p.path.get_ident() {
                            self.0 = Some(id.to_string());
                        }
                    }
                }
            }
            let mut name = FirstIdent(None);
            syn::visit::Visit::visit_expr(&mut name, inner);
            let Some(name) = name.0 else {
                self.error = Some(anyhow::anyhow!(
                    "encode_path({}) names no parameter",
                    quote!(#inner)
                ));
                return;
            };
            let name = name.trim_start_matches("r#").to_owned();
            *arg = parse_quote!(crate::codegen_support::path_param(#name, #inner)?);
            self.rewritten += 1;
        }
    }
    impl syn::visit_mut::VisitMut for V {
        fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
            if !mac.path.is_ident("format") || !mac.tokens.to_string().contains("encode_path") {
                return;
            }
            let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
            let mut args = match syn::parse::Parser::parse2(parser, mac.tokens.clone()) {
                Ok(a) => a,
                Err(e) => {
                    self.error = Some(anyhow::anyhow!("format! arguments do not parse: {e}"));
                    return;
                }
            };
            for arg in args.iter_mut() {
                self.rewrite_arg(arg);
            }
            mac.tokens = quote!(#args);
        }
    }
    let mut v = V {
        rewritten: 0,
        error: None,
    };
    syn::visit_mut::VisitMut::visit_block_mut(&mut v, block);
    if let Some(e) = v.error {
        return Err(e);
    }
    if quote!(#block).to_string().contains("encode_path (") {
        bail!("a path parameter is still encoded without the segment check");
    }
    for _ in 0..v.rewritten {
        bump(counts, "path parameter checked (no empty, `.` or `..`)");
    }
    Ok(())
}

/// Sends through one shared function and decodes through another: progenitor writes the
/// hook calls (`pre`, `exec`, `post`) and `ResponseValue::from_response` into every method;
/// `crate::codegen_support::{execute, response_value}` make the same calls once, and the
/// answer is read as text (one serde_json reader for every generated type). A smaller
/// method body is less for the compiler to check for each of the API's operations.
fn shared_send(f: &mut syn::ImplItemFn, counts: &mut Counts) -> Result<()> {
    let name = f.sig.ident.to_string();
    let stmts = &mut f.block.stmts;
    let text = |s: &syn::Stmt| quote!(#s).to_string();
    let Some(at) = stmts
        .iter()
        .position(|s| text(s).starts_with("let info = OperationInfo {"))
    else {
        bail!("method {name} has no `let info = OperationInfo {{ .. }}`");
    };
    let expected = [
        "self . pre (& mut request , & info) . await ? ;",
        "let result = self . exec (request , & info) . await ;",
        "self . post (& result , & info) . await ? ;",
        "let response = result ? ;",
    ];
    let found: Vec<String> = stmts.iter().skip(at + 1).take(4).map(text).collect();
    if found != expected {
        bail!(
            "method {name}: the hook calls after `info` are not progenitor's usual ones: {found:?}"
        );
    }
    let info = &stmts[at];
    let syn::Stmt::Local(local) = info else {
        bail!("method {name}: `info` is not a `let`");
    };
    let Some(init) = &local.init else {
        bail!("method {name}: `info` has no value");
    };
    let syn::Expr::Struct(st) = &*init.expr else {
        bail!("method {name}: `info` is not a struct literal");
    };
    let Some(op) = st
        .fields
        .iter()
        .find(|fv| matches!(&fv.member, syn::Member::Named(i) if i == "operation_id"))
    else {
        bail!("method {name}: `info` has no operation_id");
    };
    let op = op.expr.clone();
    let send: syn::Stmt =
        parse_quote!(let response = crate::codegen_support::execute(self, request, #op).await?;);
    stmts.splice(at..at + 5, [send]);

    struct Decode(usize);
    impl syn::visit_mut::VisitMut for Decode {
        fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
            if let syn::Expr::Path(p) = &*call.func {
                if quote!(#p).to_string() == "ResponseValue :: from_response" {
                    *call.func = parse_quote!(crate::codegen_support::response_value);
                    self.0 += 1;
                }
            }
            syn::visit_mut::visit_expr_call_mut(self, call);
        }
    }
    let mut decode = Decode(0);
    syn::visit_mut::VisitMut::visit_block_mut(&mut decode, &mut f.block);
    if quote!(#f).to_string().contains("from_response") {
        bail!("method {name} still calls `from_response`");
    }
    bump(counts, "method sends through codegen_support::execute");
    for _ in 0..decode.0 {
        bump(counts, "answer decoded by codegen_support::response_value");
    }
    Ok(())
}

/// Makes a method return `crate::Error`: error statuses hand the raw response to the SDK's
/// error conversion (which keeps the status, the request id and a non-JSON body), and a
/// success body that does not decode is reported with its JSON path.
fn typed_errors(f: &mut syn::ImplItemFn, counts: &mut Counts) -> Result<()> {
    // Error arms: `400u16..=499u16 => { Err(Error::ErrorResponse(...)) }` -> raw response.
    struct Arms;
    impl syn::visit_mut::VisitMut for Arms {
        fn visit_arm_mut(&mut self, arm: &mut syn::Arm) {
            let pat = {
                let p = &arm.pat;
                quote!(#p).to_string()
            };
            let body = {
                let b = &arm.body;
                quote!(#b).to_string()
            };
            if body.contains("ErrorResponse") && (pat.starts_with("4") || pat.starts_with("5")) {
                *arm.body = parse_quote!(Err(Error::UnexpectedResponse(response)));
            }
            syn::visit_mut::visit_arm_mut(self, arm);
        }
    }
    syn::visit_mut::VisitMut::visit_block_mut(&mut Arms, &mut f.block);

    // `Result<ResponseValue<T>, Error<types::ErrorResponse>>` -> `Result<ResponseValue<T>, crate::Error>`.
    let syn::ReturnType::Type(_, ret) = &f.sig.output else {
        bail!("method {} returns nothing", f.sig.ident);
    };
    let syn::Type::Path(rp) = &**ret else {
        bail!("method {} has an odd return type", f.sig.ident)
    };
    let last = rp.path.segments.last().context("empty return path")?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        bail!("method {} does not return a Result", f.sig.ident);
    };
    let Some(syn::GenericArgument::Type(ok_ty)) = args.args.first() else {
        bail!("method {} has no success type", f.sig.ident);
    };
    let ok_ty = ok_ty.clone();
    // A body that does not decode: `from_generated` finds its JSON path from the position
    // serde_json reports, with no second decode (so no code per response type).
    let block = &f.block;
    f.block = parse_quote!({
        let result: ::std::result::Result<#ok_ty, Error<types::ErrorResponse>> = async move #block.await;
        match result {
            Ok(v) => Ok(v),
            Err(e) => Err(crate::error::from_generated(e).await),
        }
    });
    f.sig.output = parse_quote!(-> ::std::result::Result<#ok_ty, crate::Error>);
    bump(counts, "method returns crate::Error");
    Ok(())
}

fn is_display_impl(imp: &ItemImpl) -> bool {
    imp.trait_
        .as_ref()
        .is_some_and(|(_, p, _)| quote!(#p).to_string().ends_with("Display"))
}

fn add_unknown_display_arm(block: &mut syn::Block) {
    struct V;
    impl syn::visit_mut::VisitMut for V {
        fn visit_expr_match_mut(&mut self, m: &mut syn::ExprMatch) {
            let has_self_variants = m.arms.iter().any(|a| {
                let p = &a.pat;
                quote!(#p).to_string().starts_with("Self ::")
            });
            let has_wild = m.arms.iter().any(|a| matches!(a.pat, syn::Pat::Wild(_)));
            if has_self_variants && !has_wild {
                m.arms.push(parse_quote!(Self::Unknown(x) => x.fmt(f),));
            }
        }
    }
    syn::visit_mut::VisitMut::visit_block_mut(&mut V, block);
}

/// A list answer: `data: Vec<Item>`, `has_more`, and how to find the next cursor.
struct PageType {
    item: syn::Type,
    has_more_optional: bool,
    /// `Some(true)` when `last_id` is an `Option<String>`, `Some(false)` a `String`.
    last_id_optional: Option<bool>,
}

fn page_types(items: &[Item]) -> HashMap<String, PageType> {
    let mut out = HashMap::new();
    for it in items {
        let Item::Struct(s) = it else { continue };
        let Fields::Named(fields) = &s.fields else {
            continue;
        };
        let field = |name: &str| {
            fields
                .named
                .iter()
                .find(|f| f.ident.as_ref().is_some_and(|i| i == name))
        };
        let (Some(data), Some(has_more)) = (field("data"), field("has_more")) else {
            continue;
        };
        let ty_s = |f: &syn::Field| {
            let t = &f.ty;
            quote!(#t).to_string().replace(' ', "")
        };
        let has_more_s = ty_s(has_more);
        let has_more_optional = match has_more_s.as_str() {
            "bool" => false,
            "::std::option::Option<bool>" => true,
            _ => continue,
        };
        let syn::Type::Path(p) = &data.ty else {
            continue;
        };
        let Some(last) = p.path.segments.last() else {
            continue;
        };
        if last.ident != "Vec" {
            continue;
        }
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            continue;
        };
        let Some(syn::GenericArgument::Type(item)) = args.args.first() else {
            continue;
        };
        let last_id_optional =
            field("last_id").map(|f| ty_s(f).starts_with("::std::option::Option"));
        out.insert(
            s.ident.to_string(),
            PageType {
                item: item.clone(),
                has_more_optional,
                last_id_optional,
            },
        );
    }
    out
}

/// `list_x(after, limit, ...)` -> `list_x_paginated(limit, ...)`, a [`Paginator`] over every
/// page. Only for operations with an `after: Option<&str>` cursor and a page answer.
///
/// `#[inline]`: like the async methods it calls (whose bodies are compiled where they are
/// awaited), the companion and its page decoding are compiled in the crate that calls it,
/// not for every build of this one (a chat-only build compiled the decoding of every stored
/// completion's type for its two companions).
fn paginated_companion(
    f: &syn::ImplItemFn,
    pages: &HashMap<String, PageType>,
) -> Option<syn::ImplItemFn> {
    let mut has_after = false;
    let mut cloned = Vec::new();
    let mut params = Vec::new();
    let mut args = Vec::new();
    for input in f.sig.inputs.iter().skip(1) {
        let syn::FnArg::Typed(pt) = input else {
            return None;
        };
        let syn::Pat::Ident(pi) = &*pt.pat else {
            return None;
        };
        if pi.ident == "after" {
            has_after = true;
            args.push(quote!(after.as_deref()));
        } else {
            let id = &pi.ident;
            if matches!(&*pt.ty, syn::Type::Reference(_)) {
                args.push(quote!(#id));
            } else {
                cloned.push(pi.ident.clone());
                args.push(quote!(#id.clone()));
            }
            params.push(pt.clone());
        }
    }
    if !has_after {
        return None;
    }
    // ResponseValue<types::Page> -> Page
    let syn::ReturnType::Type(_, ret) = &f.sig.output else {
        return None;
    };
    let ret_s = quote!(#ret).to_string().replace(' ', "");
    let start = ret_s.find("ResponseValue<types::")? + "ResponseValue<types::".len();
    let rest = &ret_s[start..];
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let page = pages.get(&name)?;
    let item = &page.item;
    let item_s = quote!(#item).to_string();
    let item_ty: TokenStream = if item_s.starts_with("::") {
        quote!(#item)
    } else {
        quote!(types::#item)
    };
    let has_more = if page.has_more_optional {
        quote!(page.has_more.unwrap_or(false))
    } else {
        quote!(page.has_more)
    };
    let cursor = match page.last_id_optional {
        Some(true) => quote!(page
            .last_id
            .clone()
            .or_else(|| page.data.last().and_then(crate::pagination::item_id))),
        Some(false) => quote!(Some(page.last_id.clone())),
        None => quote!(page.data.last().and_then(crate::pagination::item_id)),
    };
    let method = &f.sig.ident;
    let name = syn::Ident::new(&format!("{method}_paginated"), method.span());
    let generics = &f.sig.generics;
    let doc = format!(
        "Every item of [`Self::{method}`], across all pages, fetched lazily: see [`crate::pagination`]."
    );
    Some(parse_quote! {
        #[doc = #doc]
        #[inline]
        pub fn #name #generics(&'a self, #(#params),*) -> crate::pagination::Paginator<'a, #item_ty> {
            crate::pagination::Paginator::new(move |after: ::std::option::Option<::std::string::String>| {
                #(let #cloned = #cloned.clone();)*
                let fetch: crate::pagination::PageFuture<'a, #item_ty> = ::std::boxed::Box::pin(async move {
                    let page = self.#method(#(#args),*).await?.into_inner();
                    let cursor = #cursor;
                    Ok(crate::pagination::PageParts { has_more: #has_more, cursor, items: page.data })
                });
                fetch
            })
        }
    })
}
