//! Reading and checking the `#[event(...)]` attributes; every mistake is a `syn::Error` that
//! points at the attribute (or variant) at fault.

use std::collections::{BTreeMap, HashMap};

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Expr, ExprArray, Fields, Lit, LitInt, LitStr, Path, Type};

/// The enum as the attributes describe it.
pub(crate) struct EnumSpec {
    pub(crate) aggregate_type: Option<LitStr>,
    pub(crate) codec: Option<Path>,
    pub(crate) variants: Vec<VariantSpec>,
}

/// One variant.
pub(crate) struct VariantSpec {
    pub(crate) ident: syn::Ident,
    /// The payload type, `None` for a unit variant.
    pub(crate) payload: Option<Type>,
    pub(crate) name: LitStr,
    pub(crate) version: u32,
    pub(crate) aliases: Vec<LitStr>,
    /// Upcast steps by the version they start from, ascending.
    pub(crate) upcasts: BTreeMap<u32, Step>,
}

/// How a payload of one old version becomes the next version.
pub(crate) enum Step {
    /// Deserialize into this old type, then convert with `TryFrom` towards the current one.
    Via(Type),
    /// Rewrite the JSON with this function into the next version's JSON.
    Json(Path),
}

pub(crate) fn parse(input: &DeriveInput) -> syn::Result<EnumSpec> {
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            "DomainEvent is derived for enums whose variants are the event types",
        ));
    };
    let mut spec = EnumSpec { aggregate_type: None, codec: None, variants: Vec::new() };
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("event")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("aggregate_type") {
                spec.aggregate_type = Some(non_empty(meta.value()?.parse()?)?);
            } else if meta.path.is_ident("codec") {
                spec.codec = Some(meta.value()?.parse()?);
            } else {
                return Err(meta.error("expected `aggregate_type = \"...\"` or `codec = Type`"));
            }
            Ok(())
        })?;
    }
    if data.variants.is_empty() {
        return Err(syn::Error::new(
            input.ident.span(),
            "a DomainEvent enum needs at least one event",
        ));
    }
    for variant in &data.variants {
        spec.variants.push(variant_spec(variant)?);
    }
    check_unique_names(&spec.variants)?;
    if let Some(codec) = &spec.codec
        && spec
            .variants
            .iter()
            .any(|v| v.upcasts.values().any(|step| matches!(step, Step::Json(_))))
    {
        return Err(syn::Error::new(
            codec.span(),
            "`json` upcasts rewrite JSON payloads: they cannot be combined with another codec",
        ));
    }
    Ok(spec)
}

fn variant_spec(variant: &syn::Variant) -> syn::Result<VariantSpec> {
    let payload = match &variant.fields {
        Fields::Unit => None,
        Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
            fields.unnamed.first().map(|field| field.ty.clone())
        }
        other => {
            return Err(syn::Error::new(
                other.span(),
                "a DomainEvent variant wraps one payload type, `Opened(Opened)`, or none, `Closed`",
            ));
        }
    };
    let (mut name, mut version, mut aliases) = (None, None::<LitInt>, Vec::new());
    let mut upcasts: BTreeMap<u32, Step> = BTreeMap::new();
    let mut upcast_spans: HashMap<u32, Span> = HashMap::new();
    for attr in variant.attrs.iter().filter(|a| a.path().is_ident("event")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                name = Some(non_empty(meta.value()?.parse()?)?);
            } else if meta.path.is_ident("version") {
                version = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("aliases") {
                let list: ExprArray = meta.value()?.parse()?;
                for element in list.elems {
                    match element {
                        Expr::Lit(syn::ExprLit { lit: Lit::Str(alias), .. }) => {
                            aliases.push(non_empty(alias)?);
                        }
                        other => {
                            return Err(syn::Error::new(other.span(), "an alias is a string"));
                        }
                    }
                }
            } else if meta.path.is_ident("upcast") {
                let (mut from, mut step) = (None::<LitInt>, None);
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("from") {
                        from = Some(inner.value()?.parse()?);
                    } else if inner.path.is_ident("via") {
                        step = Some(Step::Via(inner.value()?.parse()?));
                    } else if inner.path.is_ident("json") {
                        step = Some(Step::Json(inner.value()?.parse()?));
                    } else {
                        return Err(inner.error(
                            "expected `from = N` and `via = OldType` or `json = function`",
                        ));
                    }
                    Ok(())
                })?;
                let from = from.ok_or_else(|| meta.error("an upcast needs `from = N`"))?;
                let step = step.ok_or_else(|| {
                    meta.error("an upcast needs `via = OldType` or `json = function`")
                })?;
                let version = from.base10_parse::<u32>()?;
                if upcasts.insert(version, step).is_some() {
                    return Err(syn::Error::new(
                        from.span(),
                        format!("a second upcast from version {version}"),
                    ));
                }
                upcast_spans.insert(version, from.span());
            } else {
                return Err(meta.error(
                    "expected `name`, `version`, `aliases` or `upcast(from = N, via = OldType)`",
                ));
            }
            Ok(())
        })?;
    }
    let name = name.ok_or_else(|| {
        syn::Error::new(
            variant.ident.span(),
            "every DomainEvent variant needs a stable name: #[event(name = \"...\")]",
        )
    })?;
    let version = match &version {
        Some(literal) => {
            let value = literal.base10_parse::<u32>()?;
            if value == 0 || value > 0x7fff_ffff {
                return Err(syn::Error::new(
                    literal.span(),
                    "versions start at 1 (and fit an i32)",
                ));
            }
            value
        }
        None => 1,
    };
    check_upcasts(&payload, version, &upcasts, &upcast_spans, &variant.ident)?;
    Ok(VariantSpec { ident: variant.ident.clone(), payload, name, version, aliases, upcasts })
}

/// Upcasts start below the current version and run without a gap up to it; a `via` step
/// converts into the next step's type, so the next step cannot be a `json` one.
fn check_upcasts(
    payload: &Option<Type>,
    version: u32,
    upcasts: &BTreeMap<u32, Step>,
    spans: &HashMap<u32, Span>,
    variant: &syn::Ident,
) -> syn::Result<()> {
    let Some(&oldest) = upcasts.keys().next() else { return Ok(()) };
    let span = |from: u32| spans.get(&from).copied().unwrap_or_else(|| variant.span());
    if payload.is_none() {
        return Err(syn::Error::new(span(oldest), "a unit variant has no payload to upcast"));
    }
    for &from in upcasts.keys() {
        if from == 0 || from >= version {
            return Err(syn::Error::new(
                span(from),
                format!("an upcast starts from a version below the current one ({version})"),
            ));
        }
    }
    for missing in oldest..version {
        if !upcasts.contains_key(&missing) {
            return Err(syn::Error::new(
                variant.span(),
                format!(
                    "the upcast chain has a gap: nothing upcasts version {missing} (versions {oldest} to {} need one each)",
                    version - 1
                ),
            ));
        }
    }
    for (&from, step) in upcasts {
        if matches!(step, Step::Via(_)) && matches!(upcasts.get(&(from + 1)), Some(Step::Json(_))) {
            return Err(syn::Error::new(
                span(from + 1),
                "a `via` upcast converts into the next version's type: it cannot be followed by a `json` upcast",
            ));
        }
    }
    Ok(())
}

fn check_unique_names(variants: &[VariantSpec]) -> syn::Result<()> {
    let mut seen: HashMap<String, ()> = HashMap::new();
    for variant in variants {
        for literal in std::iter::once(&variant.name).chain(&variant.aliases) {
            if seen.insert(literal.value(), ()).is_some() {
                return Err(syn::Error::new(
                    literal.span(),
                    format!(
                        "the event name {:?} is used twice (as a name or an alias)",
                        literal.value()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn non_empty(literal: LitStr) -> syn::Result<LitStr> {
    if literal.value().is_empty() {
        return Err(syn::Error::new(literal.span(), "a name must not be empty"));
    }
    Ok(literal)
}
