//! The trait `#[derive(DomainEvent)]` implements, and what it gives for free.

use crate::typed::{DecodeError, DecodeFailure, EncodeError};
use crate::{Event, EventFilter, PersistedEvent, StreamId};

/// One event type an enum knows: what the derive's type table lists for filters and tooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTypeInfo {
    /// The stored name.
    pub name: &'static str,
    /// The version new events are written with.
    pub version: u32,
    /// Earlier names that still decode into this type.
    pub aliases: &'static [&'static str],
    /// Older versions that are upcast, ascending.
    pub upcasts_from: &'static [u32],
}

/// An enum of typed events, with the stable names and versions they are stored under.
///
/// Implemented by `#[derive(DomainEvent)]` (feature `derive`); the provided methods turn values
/// into [`Event`]s and [`PersistedEvent`]s back into values.
///
/// ```
/// # #[cfg(feature = "derive")] {
/// use pupsourcing::{DomainEvent, PersistedEvent, StreamId};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Opened { owner: String, currency: String }
///
/// /// What version 1 of `AccountOpened` held.
/// #[derive(Deserialize)]
/// struct OpenedV1 { owner: String }
///
/// impl From<OpenedV1> for Opened {
///     fn from(old: OpenedV1) -> Self { Opened { owner: old.owner, currency: "EUR".into() } }
/// }
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Deposited { cents: u64 }
///
/// #[derive(Debug, PartialEq, DomainEvent)]
/// #[event(aggregate_type = "account")]
/// enum AccountEvent {
///     #[event(name = "AccountOpened", version = 2, upcast(from = 1, via = OpenedV1))]
///     Opened(Opened),
///     #[event(name = "MoneyDeposited", aliases = ["Deposited"])]
///     Deposited(Deposited),
///     #[event(name = "AccountClosed")]
///     Closed,
/// }
///
/// let account = StreamId::new("account", "a-1");
/// let event = AccountEvent::Deposited(Deposited { cents: 500 }).to_event(&account)?;
/// assert_eq!((event.event_type.as_str(), event.event_version), ("MoneyDeposited", 1));
///
/// // An event an older deployment wrote: version 1, without a currency.
/// let old = pupsourcing::Event::new(&account, "AccountOpened", br#"{"owner":"ann"}"#.to_vec());
/// let stored = PersistedEvent { event: old, global_position: 1, aggregate_version: 1 };
/// let opened = AccountEvent::decode(&stored)?;
/// assert_eq!(opened, AccountEvent::Opened(Opened { owner: "ann".into(), currency: "EUR".into() }));
/// assert_eq!(AccountEvent::filter().event_type_list().len(), 4); // three names, one alias
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait DomainEvent: Sized {
    /// The aggregate type every event of the enum belongs to, when declared with
    /// `#[event(aggregate_type = "...")]`: encoding to and decoding from another refuses.
    const AGGREGATE_TYPE: Option<&'static str>;

    /// Every event type of the enum.
    const TYPES: &'static [EventTypeInfo];

    /// The stored name of this event.
    fn event_type(&self) -> &'static str;

    /// The version this event is written with.
    fn event_version(&self) -> u32;

    /// The payload bytes of this event.
    fn encode_payload(&self) -> Result<Vec<u8>, EncodeError>;

    /// Decodes a payload stored as `event_type` (a name or an alias) at `version`, upcasting
    /// older versions.
    fn decode_payload(
        event_type: &str,
        version: u32,
        payload: &[u8],
    ) -> Result<Self, DecodeFailure>;

    /// This event as an [`Event`] of `stream` (a fresh event id, created now).
    fn to_event(&self, stream: &StreamId) -> Result<Event, EncodeError> {
        if let Some(expected) = Self::AGGREGATE_TYPE
            && stream.aggregate_type() != expected
        {
            return Err(EncodeError::WrongAggregateType { stream: stream.clone(), expected });
        }
        let payload = self.encode_payload()?;
        Ok(Event::new(stream, self.event_type(), payload).with_event_version(self.event_version()))
    }

    /// Decodes a stored event: its exact type and version, an alias, or an older version
    /// upcast. Every failure names the event (type, version, stream, position).
    fn decode(event: &PersistedEvent) -> Result<Self, DecodeError> {
        if let Some(expected) = Self::AGGREGATE_TYPE
            && event.stream().aggregate_type() != expected
        {
            return Err(DecodeError::wrong_aggregate(event, expected));
        }
        Self::decode_payload(
            &event.event.event_type,
            event.event.event_version,
            &event.event.payload,
        )
        .map_err(|failure| DecodeError::new(event, failure))
    }

    /// Like [`decode`](Self::decode), with `None` for an event type the enum does not know (a
    /// consumer that handles a subset of a stream's events). Every other failure, a version
    /// newer than the code above all, is still an error.
    fn decode_known(event: &PersistedEvent) -> Result<Option<Self>, DecodeError> {
        match Self::decode(event) {
            Ok(decoded) => Ok(Some(decoded)),
            Err(err) if err.kind() == crate::typed::DecodeErrorKind::UnknownType => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// A filter that reads only the enum's event types (names and aliases), of its aggregate
    /// type when declared: what a typed consumer reads.
    fn filter() -> EventFilter {
        let names = Self::TYPES
            .iter()
            .flat_map(|info| std::iter::once(info.name).chain(info.aliases.iter().copied()));
        let filter = EventFilter::all().event_types(names);
        match Self::AGGREGATE_TYPE {
            Some(aggregate_type) => filter.aggregate_types([aggregate_type]),
            None => filter,
        }
    }
}

/// One upcast step of generated code: the application's own `TryFrom` (every `From` is one),
/// its error kept as the failure's source.
pub fn upcast<A, B>(old: A) -> Result<B, DecodeFailure>
where
    B: TryFrom<A>,
    B::Error: Into<crate::BoxError>,
{
    B::try_from(old).map_err(|err| DecodeFailure::Upcast(err.into()))
}
