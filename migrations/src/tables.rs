//! Table names: configurable, validated, and the single source every adapter builds SQL from.

use sea_query::{SchemaName, TableName};

use crate::{Ident, NameError};

/// The names of every table (and the optional schema) pupsourcing uses.
///
/// Defaults: `events`, `stream_heads`, `event_frontier` and `event_holes` (the last two on
/// PostgreSQL only), the worker's `worker_*`, `consumer_checkpoints` and `consumer_status`, and
/// the key store's `data_keys` and `key_tombstones`, and `snapshots`, in the connection's
/// default schema.
///
/// ```
/// use pupsourcing_migrations::Tables;
///
/// let tables = Tables::new().with_schema("es")?.with_prefix("billing_")?;
/// assert_eq!(tables.qualified(tables.events()), "\"es\".\"billing_events\"");
/// # Ok::<(), pupsourcing_migrations::NameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tables {
    schema: Option<Ident>,
    events: Ident,
    stream_heads: Ident,
    frontier: Ident,
    holes: Ident,
    nodes: Ident,
    leader: Ident,
    consumers: Ident,
    assignments: Ident,
    checkpoints: Ident,
    consumer_status: Ident,
    data_keys: Ident,
    key_tombstones: Ident,
    snapshots: Ident,
}

impl Default for Tables {
    fn default() -> Self {
        Self {
            schema: None,
            events: Ident::new_static("events"),
            stream_heads: Ident::new_static("stream_heads"),
            frontier: Ident::new_static("event_frontier"),
            holes: Ident::new_static("event_holes"),
            nodes: Ident::new_static("worker_nodes"),
            leader: Ident::new_static("worker_leader"),
            consumers: Ident::new_static("worker_consumers"),
            assignments: Ident::new_static("worker_assignments"),
            checkpoints: Ident::new_static("consumer_checkpoints"),
            consumer_status: Ident::new_static("consumer_status"),
            data_keys: Ident::new_static("data_keys"),
            key_tombstones: Ident::new_static("key_tombstones"),
            snapshots: Ident::new_static("snapshots"),
        }
    }
}

impl Tables {
    /// The default names.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts every table in `schema` (PostgreSQL only; created by the migration if missing).
    pub fn with_schema(mut self, schema: &str) -> Result<Self, NameError> {
        self.schema = Some(Ident::new(schema)?);
        Ok(self)
    }

    /// Prefixes every table name, e.g. to keep two stores apart in one database.
    pub fn with_prefix(self, prefix: &str) -> Result<Self, NameError> {
        Ok(Self {
            schema: self.schema,
            events: self.events.prefixed(prefix)?,
            stream_heads: self.stream_heads.prefixed(prefix)?,
            frontier: self.frontier.prefixed(prefix)?,
            holes: self.holes.prefixed(prefix)?,
            nodes: self.nodes.prefixed(prefix)?,
            leader: self.leader.prefixed(prefix)?,
            consumers: self.consumers.prefixed(prefix)?,
            assignments: self.assignments.prefixed(prefix)?,
            checkpoints: self.checkpoints.prefixed(prefix)?,
            consumer_status: self.consumer_status.prefixed(prefix)?,
            data_keys: self.data_keys.prefixed(prefix)?,
            key_tombstones: self.key_tombstones.prefixed(prefix)?,
            snapshots: self.snapshots.prefixed(prefix)?,
        })
    }

    /// Renames the events table.
    pub fn with_events(mut self, name: &str) -> Result<Self, NameError> {
        self.events = Ident::new(name)?;
        Ok(self)
    }

    /// Renames the stream-heads table (one row per stream with its current version).
    pub fn with_stream_heads(mut self, name: &str) -> Result<Self, NameError> {
        self.stream_heads = Ident::new(name)?;
        Ok(self)
    }

    /// Renames the frontier table (one row: the safe position; PostgreSQL only).
    pub fn with_frontier(mut self, name: &str) -> Result<Self, NameError> {
        self.frontier = Ident::new(name)?;
        Ok(self)
    }

    /// Renames the holes table (missing positions above the frontier and how each was resolved;
    /// PostgreSQL only).
    pub fn with_holes(mut self, name: &str) -> Result<Self, NameError> {
        self.holes = Ident::new(name)?;
        Ok(self)
    }

    /// The schema, if one is set.
    pub fn schema(&self) -> Option<&Ident> {
        self.schema.as_ref()
    }

    /// The events table.
    pub fn events(&self) -> &Ident {
        &self.events
    }

    /// The stream-heads table.
    pub fn stream_heads(&self) -> &Ident {
        &self.stream_heads
    }

    /// The frontier table.
    pub fn frontier(&self) -> &Ident {
        &self.frontier
    }

    /// The holes table.
    pub fn holes(&self) -> &Ident {
        &self.holes
    }

    /// The worker's nodes table.
    pub fn nodes(&self) -> &Ident {
        &self.nodes
    }

    /// The worker's leader-lease table (one row).
    pub fn leader(&self) -> &Ident {
        &self.leader
    }

    /// The worker's consumers table (partition counts and repartitionings).
    pub fn consumers(&self) -> &Ident {
        &self.consumers
    }

    /// The worker's assignments table (unit, owner, epoch).
    pub fn assignments(&self) -> &Ident {
        &self.assignments
    }

    /// The consumers' checkpoints table.
    pub fn checkpoints(&self) -> &Ident {
        &self.checkpoints
    }

    /// The consumers' status table (pauses, failures, skips).
    pub fn consumer_status(&self) -> &Ident {
        &self.consumer_status
    }

    /// Renames one of the worker tables: `which` is `"nodes"`, `"leader"`, `"consumers"`,
    /// `"assignments"`, `"checkpoints"` or `"consumer_status"`.
    pub fn with_worker_table(mut self, which: &str, name: &str) -> Result<Self, NameError> {
        let name = Ident::new(name)?;
        let slot = match which {
            "nodes" => &mut self.nodes,
            "leader" => &mut self.leader,
            "consumers" => &mut self.consumers,
            "assignments" => &mut self.assignments,
            "checkpoints" => &mut self.checkpoints,
            "consumer_status" => &mut self.consumer_status,
            _ => return Err(NameError::Invalid { name: which.to_owned() }),
        };
        *slot = name;
        Ok(self)
    }

    /// The key store's data-keys table (wrapped data keys per scope, subject and version).
    pub fn data_keys(&self) -> &Ident {
        &self.data_keys
    }

    /// The key store's subject-lock table on MySQL, which has no transaction-scoped advisory
    /// locks: `<data keys>_locks`.
    pub fn key_locks(&self) -> Ident {
        self.data_keys.with_suffix("_locks")
    }

    /// The position counter of MySQL's serialized gap strategy: `<events>_counter`.
    pub fn position_counter(&self) -> Ident {
        self.events.with_suffix("_counter")
    }

    /// The key store's tombstones table (subjects whose keys were destroyed).
    pub fn key_tombstones(&self) -> &Ident {
        &self.key_tombstones
    }

    /// Renames the data-keys table.
    pub fn with_data_keys(mut self, name: &str) -> Result<Self, NameError> {
        self.data_keys = Ident::new(name)?;
        Ok(self)
    }

    /// Renames the key tombstones table.
    pub fn with_key_tombstones(mut self, name: &str) -> Result<Self, NameError> {
        self.key_tombstones = Ident::new(name)?;
        Ok(self)
    }

    /// The snapshot store's table (folded stream states at a stream version).
    pub fn snapshots(&self) -> &Ident {
        &self.snapshots
    }

    /// Renames the snapshots table.
    pub fn with_snapshots(mut self, name: &str) -> Result<Self, NameError> {
        self.snapshots = Ident::new(name)?;
        Ok(self)
    }

    /// `name` qualified by the schema and quoted, ready for SQL text.
    pub fn qualified(&self, name: &Ident) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", schema.quoted(), name.quoted()),
            None => name.quoted(),
        }
    }

    /// `name` qualified by the schema and quoted for `dialect`: in double quotes, or in
    /// backticks on MySQL (whose double quotes delimit strings unless `ANSI_QUOTES` is set).
    pub fn qualified_in(&self, dialect: crate::Dialect, name: &Ident) -> String {
        match dialect {
            crate::Dialect::Mysql => {
                let quote = |ident: &Ident| format!("`{}`", ident.as_str());
                match &self.schema {
                    Some(schema) => format!("{}.{}", quote(schema), quote(name)),
                    None => quote(name),
                }
            }
            _ => self.qualified(name),
        }
    }

    /// `name` qualified by the schema, for sea-query statements.
    pub fn table_name(&self, name: &Ident) -> TableName {
        TableName(
            self.schema.as_ref().map(|s| SchemaName(None, s.as_str().to_owned().into())),
            name.as_str().to_owned().into(),
        )
    }

    /// A stable 64-bit key derived from the qualified events table, for PostgreSQL advisory
    /// locks, so two stores in one database never contend for each other's locks.
    pub fn lock_key(&self, purpose: &str) -> i64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self.qualified(&self.events).bytes().chain([0]).chain(purpose.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        i64::from_ne_bytes(hash.to_ne_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_schema_apply_to_every_table() {
        let tables = Tables::new().with_prefix("app_").unwrap().with_schema("es").unwrap();
        assert_eq!(tables.events().as_str(), "app_events");
        assert_eq!(tables.stream_heads().as_str(), "app_stream_heads");
        assert_eq!(tables.frontier().as_str(), "app_event_frontier");
        assert_eq!(tables.holes().as_str(), "app_event_holes");
        assert_eq!(tables.data_keys().as_str(), "app_data_keys");
        assert_eq!(tables.key_tombstones().as_str(), "app_key_tombstones");
        assert_eq!(tables.qualified(tables.stream_heads()), "\"es\".\"app_stream_heads\"");
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(Tables::new().with_schema("a;b").is_err());
        assert!(Tables::new().with_prefix("x y").is_err());
        assert!(Tables::new().with_events("").is_err());
    }

    #[test]
    fn lock_keys_are_stable_and_distinct_per_store_and_purpose() {
        let a = Tables::new();
        let b = Tables::new().with_prefix("b_").unwrap();
        assert_eq!(a.lock_key("frontier"), Tables::new().lock_key("frontier"));
        assert_ne!(a.lock_key("frontier"), b.lock_key("frontier"));
        assert_ne!(a.lock_key("frontier"), a.lock_key("migrate"));
    }
}
