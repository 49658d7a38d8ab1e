//! The generated `impl pupsourcing::DomainEvent`: plain matches on names and versions, readable
//! with `cargo expand`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, Type};

use crate::attrs::{EnumSpec, Step, VariantSpec};

pub(crate) fn expand(input: &DeriveInput, spec: &EnumSpec) -> syn::Result<TokenStream> {
    let ident = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    let typed = quote!(::pupsourcing::typed);
    let codec = match &spec.codec {
        Some(path) => quote!(#path),
        None => quote!(#typed::JsonCodec),
    };
    let aggregate_type = match &spec.aggregate_type {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    };
    let types = spec.variants.iter().map(|v| {
        let (name, version, aliases) = (&v.name, v.version, &v.aliases);
        let from = v.upcasts.keys();
        quote!(#typed::EventTypeInfo {
            name: #name,
            version: #version,
            aliases: &[#(#aliases),*],
            upcasts_from: &[#(#from),*],
        })
    });
    let names = spec.variants.iter().map(|v| {
        let (pattern, name) = (pattern(v), &v.name);
        quote!(#pattern => #name)
    });
    let versions = spec.variants.iter().map(|v| {
        let version = v.version;
        let pattern = pattern(v);
        quote!(#pattern => #version)
    });
    let encodes = spec.variants.iter().map(|v| {
        let (variant, name) = (&v.ident, &v.name);
        let value = match v.payload {
            Some(_) => quote!(payload),
            None => quote!(&::pupsourcing::__private::serde_json::Map::new()),
        };
        let pattern = match v.payload {
            Some(_) => quote!(Self::#variant(payload)),
            None => quote!(Self::#variant),
        };
        quote!(#pattern => <#codec as #typed::PayloadCodec>::encode(#value)
            .map_err(|source| #typed::EncodeError::Payload { event_type: #name, source }))
    });
    let decodes = spec.variants.iter().map(|v| decode_arm(v, &codec));
    Ok(quote! {
        impl #impl_generics ::pupsourcing::DomainEvent for #ident #type_generics #where_clause {
            const AGGREGATE_TYPE: ::core::option::Option<&'static str> = #aggregate_type;
            const TYPES: &'static [#typed::EventTypeInfo] = &[#(#types),*];

            fn event_type(&self) -> &'static str {
                match self { #(#names,)* }
            }

            fn event_version(&self) -> u32 {
                match self { #(#versions,)* }
            }

            fn encode_payload(&self) -> ::core::result::Result<::std::vec::Vec<u8>, #typed::EncodeError> {
                match self { #(#encodes,)* }
            }

            fn decode_payload(
                event_type: &str,
                version: u32,
                payload: &[u8],
            ) -> ::core::result::Result<Self, #typed::DecodeFailure> {
                match event_type {
                    #(#decodes,)*
                    _ => ::core::result::Result::Err(#typed::DecodeFailure::UnknownType),
                }
            }
        }
    })
}

fn pattern(variant: &VariantSpec) -> TokenStream {
    let ident = &variant.ident;
    match variant.payload {
        Some(_) => quote!(Self::#ident(_)),
        None => quote!(Self::#ident),
    }
}

/// The arm of one variant: its name and aliases, each version it decodes, and the errors for
/// versions outside that range.
fn decode_arm(variant: &VariantSpec, codec: &TokenStream) -> TokenStream {
    let typed = quote!(::pupsourcing::typed);
    let (ident, name, aliases, version) =
        (&variant.ident, &variant.name, &variant.aliases, variant.version);
    let current = match &variant.payload {
        Some(payload) => quote!(::core::result::Result::Ok(Self::#ident(
            <#codec as #typed::PayloadCodec>::decode::<#payload>(payload)
                .map_err(#typed::DecodeFailure::Payload)?
        ))),
        None => quote!(::core::result::Result::Ok(Self::#ident)),
    };
    let steps = variant.upcasts.iter().map(|(&from, step)| {
        let body = match step {
            Step::Via(old) => via_chain(variant, from, old, codec),
            Step::Json(function) => {
                let json = quote!(::pupsourcing::__private::serde_json);
                let next = from + 1;
                quote! {{
                    let value: #json::Value = #json::from_slice(payload)
                        .map_err(|err| #typed::DecodeFailure::Payload(::core::convert::Into::into(err)))?;
                    let value = #function(value)
                        .map_err(|err| #typed::DecodeFailure::Upcast(::core::convert::Into::into(err)))?;
                    let bytes = #json::to_vec(&value)
                        .map_err(|err| #typed::DecodeFailure::Payload(::core::convert::Into::into(err)))?;
                    Self::decode_payload(event_type, #next, &bytes)
                }}
            }
        };
        quote!(#from => #body)
    });
    let oldest = variant.upcasts.keys().next().copied().unwrap_or(version);
    quote! {
        #name #(| #aliases)* => match version {
            #version => #current,
            #(#steps,)*
            newer if newer > #version => ::core::result::Result::Err(
                #typed::DecodeFailure::VersionTooNew { newest: #version }
            ),
            _ => ::core::result::Result::Err(#typed::DecodeFailure::VersionTooOld { oldest: #oldest }),
        }
    }
}

/// Deserializes version `from` as `old`, then converts step by step through every later `via`
/// type into the current payload type.
fn via_chain(variant: &VariantSpec, from: u32, old: &Type, codec: &TokenStream) -> TokenStream {
    let typed = quote!(::pupsourcing::typed);
    let mut chain: Vec<&Type> = vec![old];
    for later in from + 1..variant.version {
        if let Some(Step::Via(next)) = variant.upcasts.get(&later) {
            chain.push(next);
        }
    }
    let ident = &variant.ident;
    let conversions =
        chain.iter().skip(1).map(|next| quote!(let value: #next = #typed::upcast(value)?;));
    let payload = &variant.payload;
    quote! {{
        let value: #old = <#codec as #typed::PayloadCodec>::decode(payload)
            .map_err(#typed::DecodeFailure::Payload)?;
        #(#conversions)*
        let value: #payload = #typed::upcast(value)?;
        ::core::result::Result::Ok(Self::#ident(value))
    }}
}
