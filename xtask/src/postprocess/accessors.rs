//! Generated accessors of discriminated unions, so the hand-written layer never lists a
//! union's members: `TAGS` (every tag value the spec knows), `tag()` (the value of this
//! one, read from the JSON for `Unknown`) and one accessor per field that every member
//! has with the same scalar type (`sequence_number()`), which reads `Unknown` too. A member
//! the next spec adds goes through them with no code change; one it removes disappears.

use std::collections::{BTreeMap, HashMap};

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{parse_quote, Fields, Item};

use super::{bump, field_wire_name, internal_tag, wire_name, Counts};

/// A struct's named fields: wire name → (Rust ident, type as text).
type FieldMap = BTreeMap<String, (syn::Ident, String)>;

/// The accessor impls for every discriminated union of `items` (after the rewrite: unions
/// with `Unknown` and a `TagDispatch` impl). `const_tags` is from the items before it.
pub(super) fn generate(
    items: &[Item],
    const_tags: &HashMap<String, BTreeMap<String, Vec<String>>>,
    counts: &mut Counts,
) -> Vec<Item> {
    let mut structs: HashMap<String, FieldMap> = HashMap::new();
    let mut enums: HashMap<String, &syn::ItemEnum> = HashMap::new();
    let mut dispatch_tag: BTreeMap<String, String> = BTreeMap::new();
    for it in items {
        match it {
            Item::Struct(s) => {
                let mut fields = FieldMap::new();
                if let Fields::Named(named) = &s.fields {
                    for f in &named.named {
                        let Some(ident) = &f.ident else { continue };
                        let wire = field_wire_name(&f.attrs).unwrap_or_else(|| {
                            ident.to_string().trim_start_matches("r#").to_owned()
                        });
                        let ty = &f.ty;
                        fields.insert(wire, (ident.clone(), quote!(#ty).to_string()));
                    }
                }
                structs.insert(s.ident.to_string(), fields);
            }
            Item::Enum(e) => {
                enums.insert(e.ident.to_string(), e);
            }
            Item::Impl(imp) => {
                if let Some((name, tag)) = tag_dispatch(imp) {
                    dispatch_tag.insert(name, tag);
                }
            }
            _ => {}
        }
    }

    let mut out = Vec::new();
    let mut nested = Vec::new();
    for (name, tag) in &dispatch_tag {
        let Some(e) = enums.get(name) else { continue };
        let mut arms = Vec::new();
        let mut tags = Vec::new();
        let mut member_fields: Vec<Option<&FieldMap>> = Vec::new();
        let mut ok = true;
        for v in &e.variants {
            if v.ident == "Unknown" {
                continue;
            }
            let ident = &v.ident;
            let Some(member) = newtype_name(v) else {
                ok = false;
                break;
            };
            let values = const_tags
                .get(&member)
                .and_then(|m| m.get(tag))
                .cloned()
                .unwrap_or_default();
            tags.extend(values.iter().cloned());
            let expr: TokenStream = if values.len() == 1 {
                let w = &values[0];
                quote!(#w)
            } else if let Some((fid, _)) = structs.get(&member).and_then(|f| f.get(tag)) {
                quote!(x.#fid.as_str())
            } else if enums
                .get(&member)
                .is_some_and(|m| internal_tag(&m.attrs).as_deref() == Some(tag.as_str()))
            {
                nested.push(member.clone());
                quote!(x.tag())
            } else {
                ok = false;
                break;
            };
            arms.push(quote!(Self::#ident(x) => { let _ = x; #expr }));
            member_fields.push(structs.get(&member));
        }
        if !ok || arms.is_empty() {
            bump(counts, "discriminated union without generated accessors");
            continue;
        }
        tags.sort();
        tags.dedup();
        let union = format_ident!("{name}");
        let doc_tag = format!(
            "The `{tag}` of this value; for [`Unknown`](Self::Unknown), read from its JSON \
             (`\"\"` when it has none)."
        );
        let doc_tags = format!("Every `{tag}` value the spec defines for this union, sorted.");
        let field_accessors = common_fields(&member_fields, tag, e);
        out.push(parse_quote! {
            impl #union {
                #[doc = #doc_tags]
                pub const TAGS: &'static [&'static str] = &[#(#tags),*];
                #[doc = #doc_tag]
                pub fn tag(&self) -> &str {
                    match self {
                        #(#arms)*
                        Self::Unknown(v) => v.get(#tag).and_then(::serde_json::Value::as_str).unwrap_or(""),
                    }
                }
                #(#field_accessors)*
            }
        });
        bump(counts, "discriminated union gains TAGS and tag()");
    }
    // Serde-tagged enums that are members of a discriminated union: `tag()` too.
    nested.sort();
    nested.dedup();
    for name in nested {
        let Some(e) = enums.get(&name) else { continue };
        let Some(tag) = internal_tag(&e.attrs) else {
            continue;
        };
        let arms = e.variants.iter().filter(|v| v.ident != "Unknown").map(|v| {
            let ident = &v.ident;
            let w = wire_name(v);
            quote!(Self::#ident { .. } => #w,)
        });
        let union = format_ident!("{name}");
        let doc = format!("The `{tag}` of this value; for `Unknown`, read from its JSON.");
        out.push(parse_quote! {
            impl #union {
                #[doc = #doc]
                pub fn tag(&self) -> &str {
                    match self {
                        #(#arms)*
                        Self::Unknown(v) => v.get(#tag).and_then(::serde_json::Value::as_str).unwrap_or(""),
                    }
                }
            }
        });
    }
    out
}

/// `(union name, tag field)` of `impl TagDispatch for X { const TAG = "..."; }`.
fn tag_dispatch(imp: &syn::ItemImpl) -> Option<(String, String)> {
    let (_, path, _) = imp.trait_.as_ref()?;
    if path.segments.last()?.ident != "TagDispatch" {
        return None;
    }
    let syn::Type::Path(self_ty) = &*imp.self_ty else {
        return None;
    };
    let name = self_ty.path.segments.last()?.ident.to_string();
    imp.items.iter().find_map(|i| match i {
        syn::ImplItem::Const(c) if c.ident == "TAG" => match &c.expr {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some((name.clone(), s.value())),
            _ => None,
        },
        _ => None,
    })
}

/// The type name of a newtype variant `V(T)`.
fn newtype_name(v: &syn::Variant) -> Option<String> {
    let Fields::Unnamed(u) = &v.fields else {
        return None;
    };
    if u.unnamed.len() != 1 {
        return None;
    }
    let syn::Type::Path(p) = &u.unnamed.first()?.ty else {
        return None;
    };
    Some(p.path.segments.last()?.ident.to_string())
}

/// Accessors for the scalar fields most member structs have (with one type): `None` for
/// the members without the field. Most, not all, so that the accessor outlives a new member
/// that lacks the field (the hand-written layer can rely on it).
fn common_fields(members: &[Option<&FieldMap>], tag: &str, e: &syn::ItemEnum) -> Vec<TokenStream> {
    if members.is_empty() || members.iter().any(Option::is_none) {
        return Vec::new();
    }
    let members: Vec<&FieldMap> = members.iter().flatten().copied().collect();
    // wire name → (ident, type) → how many members have it so.
    let mut seen: BTreeMap<&String, BTreeMap<(&syn::Ident, &String), usize>> = BTreeMap::new();
    for m in &members {
        for (wire, (ident, ty)) in m.iter() {
            *seen
                .entry(wire)
                .or_default()
                .entry((ident, ty))
                .or_default() += 1;
        }
    }
    let variants: Vec<&syn::Variant> = e.variants.iter().filter(|v| v.ident != "Unknown").collect();
    let mut out = Vec::new();
    for (wire, kinds) in seen {
        if kinds.len() != 1 {
            continue;
        }
        let Some(((ident, ty), n)) = kinds.into_iter().next() else {
            continue;
        };
        if *wire == tag || ident == "tag" || ident.to_string().starts_with("r#") {
            continue;
        }
        if n * 2 <= members.len() || n < 2 {
            continue;
        }
        let (ret, get, map): (TokenStream, TokenStream, TokenStream) = match ty.as_str() {
            "i64" => (quote!(i64), quote!(as_i64), quote!(*x)),
            "u64" => (quote!(u64), quote!(as_u64), quote!(*x)),
            "f64" => (quote!(f64), quote!(as_f64), quote!(*x)),
            "bool" => (quote!(bool), quote!(as_bool), quote!(*x)),
            ":: std :: string :: String" => (quote!(&str), quote!(as_str), quote!(x.as_str())),
            _ => continue,
        };
        let arms = variants.iter().zip(&members).map(|(v, m)| {
            let vi = &v.ident;
            if m.get(wire).is_some() {
                quote!(Self::#vi(m) => { let x = &m.#ident; Some(#map) })
            } else {
                quote!(Self::#vi(_) => None,)
            }
        });
        let doc = format!(
            "The `{wire}` of this value, `None` for a member without it; for \
             [`Unknown`](Self::Unknown), read from its JSON."
        );
        out.push(quote! {
            #[doc = #doc]
            pub fn #ident(&self) -> ::std::option::Option<#ret> {
                match self {
                    #(#arms)*
                    Self::Unknown(v) => v.get(#wire).and_then(::serde_json::Value::#get),
                }
            }
        });
    }
    out
}
