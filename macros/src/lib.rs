//! `#[derive(DomainEvent)]`: see `pupsourcing::DomainEvent` and the `pupsourcing::typed` module
//! for what it generates and how to use it.

mod attrs;
mod expand;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Implements `pupsourcing::DomainEvent` for an enum of newtype and unit variants.
///
/// ```text
/// #[derive(DomainEvent)]
/// #[event(aggregate_type = "account")]
/// enum AccountEvent {
///     #[event(name = "AccountOpened", version = 2, upcast(from = 1, via = OpenedV1))]
///     Opened(Opened),
///     #[event(name = "MoneyDeposited", aliases = ["Deposited"])]
///     Deposited(Deposited),
///     #[event(name = "AccountClosed")]
///     Closed,
/// }
/// ```
#[proc_macro_derive(DomainEvent, attributes(event))]
pub fn derive_domain_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    attrs::parse(&input)
        .and_then(|parsed| expand::expand(&input, &parsed))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
