//! Unknown object fields are kept (issue 13).
//!
//! Every struct with named fields that typify derives `Deserialize` for gains
//! `pub extra: crate::ExtraFields`, serialized back flattened, and a `Deserialize` impl
//! written here in place of serde's derive: a match on the key with a fallback arm that
//! stores an unknown key and its value in `extra` (`None` until the first one, so the
//! common case costs nothing). It is also smaller than serde's derive (no `visit_seq`, no
//! field-identifier enum), which the crate's build time needs.
//!
//! The generated impl reads a key as `crate::codegen_support::FieldName` (borrowed from
//! the input when it can be), and a missing required field is serde's usual
//! `missing field` error.
//!
//! Such a struct's `Serialize` is written here too, in place of serde's derive with
//! `#[serde(flatten)] extra` (whose expansion goes through serde's `FlatMapSerializer`):
//! the same calls that derive makes, so the same output for every serializer. A map of
//! unknown length, each known field as an entry in declaration order (under its `rename`,
//! skipped when its `skip_serializing_if` says so), then the unknown fields' entries.
//! With neither serde derive left, the fields' `#[serde(...)]` attributes go
//! (`strip_serde_field_attrs`, once nothing reads them any more).

use anyhow::{bail, Result};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{parse_quote, Attribute, Fields, Item, ItemStruct};

/// The field that holds the unknown fields.
pub const FIELD: &str = "extra";

/// Adds `extra` to `s` and returns its `Deserialize` and `Serialize` impls, or nothing
/// (and leaves `s` alone) when `s` is not a struct with named fields that derives
/// `Deserialize`.
pub fn keep_unknown_fields(s: &mut ItemStruct) -> Result<Vec<Item>> {
    let Fields::Named(fields) = &s.fields else {
        return Ok(Vec::new());
    };
    if !strip_derive(&mut s.attrs, "Deserialize") {
        return Ok(Vec::new());
    }
    if !strip_derive(&mut s.attrs, "Serialize") {
        bail!("{} derives Deserialize but not Serialize", s.ident);
    }
    let name = &s.ident;
    let mut locals = Vec::new();
    let mut arms = Vec::new();
    let mut inits = Vec::new();
    let mut entries = Vec::new();
    for (i, f) in fields.named.iter().enumerate() {
        let ident = f.ident.as_ref().expect("named field");
        if ident == FIELD {
            bail!("{name} has a spec property named `{FIELD}`: rename the field of unknown fields in xtask/src/extras.rs");
        }
        let ty = &f.ty;
        let local = format_ident!("f{}", i);
        let wire = serde_value(&f.attrs, "rename")
            .unwrap_or_else(|| syn::ext::IdentExt::unraw(ident).to_string());
        // The type comes from the struct literal at the end.
        locals.push(quote!(let mut #local = ::std::option::Option::None;));
        arms.push(quote!(#wire => crate::codegen_support::next_field(&mut map, &mut #local),));
        let is_option = {
            let t = quote!(#ty).to_string();
            t.starts_with(":: std :: option :: Option <") || t.starts_with("Option <")
        };
        let init = match serde_default(&f.attrs) {
            Some(Some(path)) => {
                let path: syn::ExprPath = syn::parse_str(&path)?;
                quote!(#local.unwrap_or_else(#path))
            }
            Some(None) => quote!(#local.unwrap_or_default()),
            None if is_option => quote!(#local.unwrap_or_default()),
            None => quote!(crate::codegen_support::required(#local, #wire)?),
        };
        inits.push(quote!(#ident: #init,));
        let entry = quote!(map.serialize_entry(#wire, &self.#ident)?;);
        entries.push(match serde_value(&f.attrs, "skip_serializing_if") {
            None => entry,
            Some(path) => {
                // serde calls `path(&self.field)`; each of these is the inherent method of
                // the field's type.
                let method = match path.rsplit("::").next().map(str::trim) {
                    Some(m @ ("is_none" | "is_empty")) => format_ident!("{}", m),
                    _ => bail!("{name}.{ident}: skip_serializing_if = {path:?} is not known to xtask/src/extras.rs"),
                };
                quote!(if !self.#ident.#method() { #entry })
            }
        });
    }
    let extra = syn::Ident::new(FIELD, Span::call_site());
    let expecting = format!("struct {name}");
    let imp: Item = parse_quote! {
        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                crate::codegen_support::deserialize_struct(d)
            }
        }
    };
    let fields_impl: Item = parse_quote! {
        impl<'de> crate::codegen_support::StructFields<'de> for #name {
            const EXPECTING: &'static str = #expecting;
            fn visit_map<A: ::serde::de::MapAccess<'de>>(mut map: A) -> ::std::result::Result<Self, A::Error> {
                #(#locals)*
                let mut extra = crate::ExtraFields::new();
                while let ::std::option::Option::Some(key) = map.next_key::<crate::codegen_support::FieldName<'de>>()? {
                    // One `?` for every arm: a smaller body for each struct.
                    match key.as_str() {
                        #(#arms)*
                        _ => extra.read_entry(key, &mut map),
                    }?;
                }
                ::std::result::Result::Ok(#name { #(#inits)* #extra: extra })
            }
        }
    };
    let ser: Item = parse_quote! {
        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeMap as _;
                let mut map = s.serialize_map(::std::option::Option::None)?;
                #(#entries)*
                self.#extra.write_entries(&mut map)?;
                map.end()
            }
        }
    };
    let doc = "Fields the spec does not know, kept as they came and serialized back; \
               see [`ExtraFields`](crate::ExtraFields).";
    let field: syn::Field = syn::Field::parse_named.parse2(quote! {
        #[doc = #doc]
        pub #extra: crate::ExtraFields
    })?;
    if let Fields::Named(fields) = &mut s.fields {
        fields.named.push(field);
    }
    Ok(vec![imp, fields_impl, ser])
}

/// Removes the `#[serde(...)]` attributes of the fields of a struct that no longer derives
/// `Serialize` or `Deserialize` (nothing reads them, and without a serde derive they are
/// not attributes at all).
pub fn strip_serde_field_attrs(s: &mut ItemStruct) {
    let derives_serde = s.attrs.iter().any(|a| {
        a.path().is_ident("derive") && {
            let t = quote!(#a).to_string();
            t.contains("Serialize") || t.contains("Deserialize")
        }
    });
    if derives_serde {
        return;
    }
    for f in s.fields.iter_mut() {
        f.attrs.retain(|a| !a.path().is_ident("serde"));
    }
}

use syn::parse::Parser;

/// Removes derive `which` (`Serialize`, `Deserialize`); whether it was there.
fn strip_derive(attrs: &mut [Attribute], which: &str) -> bool {
    let mut found = false;
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
                let is_de = p.segments.last().is_some_and(|s| s.ident == which);
                found |= is_de;
                !is_de
            })
            .collect();
        *a = parse_quote!(#[derive(#(#kept),*)]);
    }
    found
}

/// The string value of `#[serde(key = "...")]`.
fn serde_value(attrs: &[Attribute], key: &str) -> Option<String> {
    serde_metas(attrs).into_iter().find_map(|m| match m {
        syn::Meta::NameValue(nv) if nv.path.is_ident(key) => match nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// `Some(None)` for `#[serde(default)]`, `Some(Some(path))` for `#[serde(default = "path")]`.
fn serde_default(attrs: &[Attribute]) -> Option<Option<String>> {
    serde_metas(attrs).into_iter().find_map(|m| match m {
        syn::Meta::Path(p) if p.is_ident("default") => Some(None),
        syn::Meta::NameValue(nv) if nv.path.is_ident("default") => match nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(Some(s.value())),
            _ => None,
        },
        _ => None,
    })
}

fn serde_metas(attrs: &[Attribute]) -> Vec<syn::Meta> {
    let mut out = Vec::new();
    for a in attrs {
        if !a.path().is_ident("serde") {
            continue;
        }
        if let Ok(metas) = a.parse_args_with(
            syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
        ) {
            out.extend(metas);
        }
    }
    out
}

/// The types the `roundtrip` replay kind knows by name. Not every type: a table of all
/// ~3,000 instantiated every type's decode and encode in the example, and its build took
/// over ten minutes on the 2-core machine.
pub const ROUNDTRIP_TYPES: &[&str] = &[
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
    "ChatCompletionResponseMessage",
    "Response",
    "ResponseStreamEvent",
    "OutputItem",
    "InputItem",
    "RunObject",
    "RunStepObject",
    "RunStepDeltaObject",
    "MessageObject",
    "MessageDeltaObject",
    "ThreadObject",
    "AssistantObject",
    "AssistantStreamEvent",
    "CreateEmbeddingResponse",
    "OpenAiFile",
    "Model",
    "CreateModerationResponse",
];

/// Rust source of the name table of the `roundtrip` replay kind: the types of
/// [`ROUNDTRIP_TYPES`] that are both `Deserialize` and `Serialize`, each under its cfg.
pub fn roundtrip_table(entries: &[(String, TokenStream)]) -> String {
    let entries: Vec<&(String, TokenStream)> = entries
        .iter()
        .filter(|(n, _)| ROUNDTRIP_TYPES.contains(&n.as_str()))
        .collect();
    let arms = entries.iter().map(|(name, cfg)| {
        let ident = format_ident!("{}", name);
        quote! {
            #[cfg(#cfg)]
            #name => ::std::option::Option::Some(roundtrip::<openai_sdk::types::#ident>(input)),
        }
    });
    let f: syn::File = parse_quote! {
        /// Decodes `input` as the generated type `name` and serializes it again as compact
        /// JSON; `None` when there is no such type (or its API group is turned off).
        pub fn roundtrip_by_name(name: &str, input: &[u8]) -> ::std::option::Option<::std::result::Result<::std::string::String, ::serde_json::Error>> {
            fn roundtrip<T: ::serde::de::DeserializeOwned + ::serde::Serialize>(input: &[u8]) -> ::std::result::Result<::std::string::String, ::serde_json::Error> {
                ::serde_json::to_string(&::serde_json::from_slice::<T>(input)?)
            }
            match name {
                #(#arms)*
                _ => ::std::option::Option::None,
            }
        }
    };
    format!(
        "// Generated by `cargo xtask gen` (xtask/src/extras.rs); do not edit.\n{}",
        prettyplease::unparse(&f)
    )
}

/// The names of the types that implement both `Deserialize` and `Serialize` (derived or
/// written out).
pub fn serde_round_trippable(items: &[Item]) -> std::collections::BTreeSet<String> {
    use std::collections::BTreeSet;
    let mut de = BTreeSet::new();
    let mut ser = BTreeSet::new();
    for item in items {
        let (attrs, name) = match item {
            Item::Struct(s) => (&s.attrs, s.ident.to_string()),
            Item::Enum(e) => (&e.attrs, e.ident.to_string()),
            Item::Impl(imp) => {
                let (Some((_, tr, _)), syn::Type::Path(p)) = (&imp.trait_, &*imp.self_ty) else {
                    continue;
                };
                let Some(name) = p.path.get_ident().map(|i| i.to_string()) else {
                    continue;
                };
                match tr.segments.last().map(|s| s.ident.to_string()).as_deref() {
                    Some("Deserialize") => {
                        de.insert(name);
                    }
                    Some("Serialize") => {
                        ser.insert(name);
                    }
                    _ => {}
                }
                continue;
            }
            _ => continue,
        };
        for a in attrs.iter().filter(|a| a.path().is_ident("derive")) {
            let s = quote!(#a).to_string();
            if s.contains("Deserialize") {
                de.insert(name.clone());
            }
            if s.contains(":: Serialize") || s.contains("(Serialize") || s.contains(" Serialize") {
                ser.insert(name.clone());
            }
        }
    }
    de.intersection(&ser).cloned().collect()
}
