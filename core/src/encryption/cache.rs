//! A bounded, expiring cache of unwrapped data keys.
//!
//! Unwrapping costs an X25519 operation and a key-store read; a warm cache makes a field
//! encryption a few microseconds. Entries expire after a TTL, which is also how long another
//! process may keep decrypting a subject after it was shredded elsewhere. Evicted keys are wiped
//! ([`DataKey`] zeroizes on drop). Look-ups borrow the caller's names: a hit allocates nothing.
//!
//! A key created inside a caller's transaction may still be rolled back, after which another
//! process could create the same version with different bytes. Such entries are kept
//! *unconfirmed*: they only spare an unwrap once the row has been read again and its wrapped
//! bytes match, and are never used blindly. An entry becomes confirmed when a transaction of
//! the encryptor's own reads the row, or when it has aged past the TTL.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::encryption::data_key::DataKey;
use crate::spi::KeyId;

/// Scope and subject, owned.
#[derive(Debug, Clone)]
struct SubjectKey {
    scope: String,
    subject: String,
}

/// Scope and subject, owned or borrowed, so the map can be searched without allocating.
trait Names {
    fn names(&self) -> (&str, &str);
}

impl Names for SubjectKey {
    fn names(&self) -> (&str, &str) {
        (&self.scope, &self.subject)
    }
}

impl Names for (&str, &str) {
    fn names(&self) -> (&str, &str) {
        *self
    }
}

/// A borrowed look-up key.
fn lookup<'a>(names: &'a (&'a str, &'a str)) -> &'a (dyn Names + 'a) {
    names
}

impl<'a> Borrow<dyn Names + 'a> for SubjectKey {
    fn borrow(&self) -> &(dyn Names + 'a) {
        self
    }
}

impl Hash for dyn Names + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.names().hash(state);
    }
}

impl PartialEq for dyn Names + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.names() == other.names()
    }
}

impl Eq for dyn Names + '_ {}

impl Hash for SubjectKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.names().hash(state);
    }
}

impl PartialEq for SubjectKey {
    fn eq(&self, other: &Self) -> bool {
        self.names() == other.names()
    }
}

impl Eq for SubjectKey {}

struct Entry {
    key: Arc<DataKey>,
    wrapped: Arc<[u8]>,
    at: Instant,
    confirmed: bool,
}

/// What the cache holds for one subject.
#[derive(Default)]
struct Subject {
    current: Option<(u32, Instant)>,
    versions: Vec<(u32, Entry)>,
}

impl Subject {
    fn entry(&self, version: u32) -> Option<&Entry> {
        self.versions.iter().find(|(v, _)| *v == version).map(|(_, entry)| entry)
    }
}

struct Inner {
    subjects: HashMap<SubjectKey, Subject>,
    /// Cached versions in insertion order, for eviction (may hold stale ids).
    order: VecDeque<KeyId>,
    keys: usize,
}

/// Whether the row behind a cache entry is known to be committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trust {
    /// Read by a transaction the encryptor opened itself, or written by one it committed.
    Committed,
    /// Read or written inside a caller's transaction.
    CallerTx,
}

pub(crate) struct KeyCache {
    inner: Mutex<Inner>,
    capacity: usize,
    ttl: Duration,
}

impl KeyCache {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        let inner = Inner { subjects: HashMap::new(), order: VecDeque::new(), keys: 0 };
        Self { inner: Mutex::new(inner), capacity: capacity.max(1), ttl }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fresh(&self, at: Instant) -> bool {
        at.elapsed() < self.ttl
    }

    /// A key that may be used without reading the key store.
    pub(crate) fn get_confirmed(
        &self,
        scope: &str,
        subject: &str,
        version: u32,
    ) -> Option<Arc<DataKey>> {
        let inner = self.lock();
        let entry = inner.subjects.get(lookup(&(scope, subject)))?.entry(version)?;
        (entry.confirmed && self.fresh(entry.at)).then(|| Arc::clone(&entry.key))
    }

    /// The subject's current version and its key, if both are known, fresh and confirmed.
    pub(crate) fn current(&self, scope: &str, subject: &str) -> Option<(u32, Arc<DataKey>)> {
        let inner = self.lock();
        let cached = inner.subjects.get(lookup(&(scope, subject)))?;
        let (version, _) = cached.current.filter(|(_, at)| self.fresh(*at))?;
        let entry = cached.entry(version)?;
        (entry.confirmed && self.fresh(entry.at)).then(|| (version, Arc::clone(&entry.key)))
    }

    /// The cached key for a row just read, if its wrapped bytes are the ones cached (saves the
    /// unwrap).
    pub(crate) fn get_matching(&self, id: &KeyId, wrapped: &[u8]) -> Option<Arc<DataKey>> {
        let inner = self.lock();
        let names = (id.scope.as_str(), id.subject.as_str());
        let entry = inner.subjects.get(lookup(&names))?.entry(id.version)?;
        (self.fresh(entry.at) && *entry.wrapped == *wrapped).then(|| Arc::clone(&entry.key))
    }

    /// Caches a key whose row was just read with `trust`.
    ///
    /// A row read inside a caller's transaction counts as committed unless this cache holds it
    /// unconfirmed: the only uncommitted rows a caller's transaction can show are the ones this
    /// encryptor created in it. An unconfirmed entry keeps its creation time, so it expires
    /// (and the next read confirms it) one TTL after the key was created.
    pub(crate) fn put(&self, id: &KeyId, key: Arc<DataKey>, wrapped: &[u8], trust: Trust) {
        let mut inner = self.lock();
        let names = (id.scope.as_str(), id.subject.as_str());
        let previous = inner
            .subjects
            .get(lookup(&names))
            .and_then(|s| s.entry(id.version))
            .map(|e| (e.confirmed, e.at));
        let (confirmed, at) = match (trust, previous) {
            (Trust::CallerTx, Some((false, at))) if self.fresh(at) => (false, at),
            _ => (true, Instant::now()),
        };
        self.insert(&mut inner, id, Entry { key, wrapped: Arc::from(wrapped), at, confirmed });
    }

    /// Caches a key created inside a caller's transaction: unconfirmed until read again.
    pub(crate) fn put_created(&self, id: &KeyId, key: Arc<DataKey>, wrapped: &[u8]) {
        let entry =
            Entry { key, wrapped: Arc::from(wrapped), at: Instant::now(), confirmed: false };
        self.insert(&mut self.lock(), id, entry);
    }

    fn insert(&self, inner: &mut Inner, id: &KeyId, entry: Entry) {
        let names = (id.scope.as_str(), id.subject.as_str());
        if !inner.subjects.contains_key(lookup(&names)) {
            let key = SubjectKey { scope: id.scope.clone(), subject: id.subject.clone() };
            inner.subjects.insert(key, Subject::default());
        }
        let Some(subject) = inner.subjects.get_mut(lookup(&names)) else {
            return;
        };
        match subject.versions.iter_mut().find(|(v, _)| *v == id.version) {
            Some((_, slot)) => *slot = entry,
            None => {
                subject.versions.push((id.version, entry));
                inner.keys += 1;
                inner.order.push_back(id.clone());
            }
        }
        while inner.keys > self.capacity {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            remove(inner, &oldest);
        }
    }

    /// Records the subject's current version; only from committed state.
    pub(crate) fn set_current(&self, scope: &str, subject: &str, version: u32) {
        let mut inner = self.lock();
        if let Some(cached) = inner.subjects.get_mut(lookup(&(scope, subject))) {
            cached.current = Some((version, Instant::now()));
        }
    }

    /// Forgets every key of a subject (after shredding it).
    pub(crate) fn invalidate(&self, scope: &str, subject: &str) {
        let mut inner = self.lock();
        if let Some(removed) = inner.subjects.remove(lookup(&(scope, subject))) {
            inner.keys -= removed.versions.len();
        }
    }
}

/// Removes one cached version (if still cached), and the subject once it holds none.
fn remove(inner: &mut Inner, id: &KeyId) {
    let names = (id.scope.as_str(), id.subject.as_str());
    let Some(subject) = inner.subjects.get_mut(lookup(&names)) else {
        return;
    };
    let before = subject.versions.len();
    subject.versions.retain(|(v, _)| *v != id.version);
    inner.keys -= before - subject.versions.len();
    if subject.versions.is_empty() {
        inner.subjects.remove(lookup(&names));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Arc<DataKey> {
        Arc::new(DataKey::generate())
    }

    #[test]
    fn bounded_expiring_and_invalidated_per_subject() {
        let cache = KeyCache::new(2, Duration::from_secs(60));
        for i in 0..3 {
            cache.put(&KeyId::new("s", i.to_string(), 1), key(), b"w", Trust::Committed);
        }
        assert!(cache.get_confirmed("s", "0", 1).is_none(), "the oldest entry is evicted");
        assert!(cache.get_confirmed("s", "2", 1).is_some());
        assert!(cache.current("s", "2").is_none(), "no current version recorded yet");
        cache.set_current("s", "2", 1);
        assert_eq!(cache.current("s", "2").map(|(v, _)| v), Some(1));
        cache.put(&KeyId::new("s", "2", 2), key(), b"w2", Trust::Committed);
        assert!(cache.get_confirmed("s", "1", 1).is_none(), "capacity counts versions");
        cache.invalidate("s", "2");
        assert!(cache.get_confirmed("s", "2", 1).is_none());
        assert!(cache.current("s", "2").is_none());
        cache.put(&KeyId::new("s", "3", 1), key(), b"w", Trust::Committed);
        cache.put(&KeyId::new("s", "4", 1), key(), b"w", Trust::Committed);
        assert!(cache.get_confirmed("s", "3", 1).is_some(), "invalidation freed capacity");

        let expiring = KeyCache::new(10, Duration::ZERO);
        expiring.put(&KeyId::new("s", "x", 1), key(), b"w", Trust::Committed);
        expiring.set_current("s", "x", 1);
        assert!(expiring.get_confirmed("s", "x", 1).is_none());
        assert!(expiring.current("s", "x").is_none());
    }

    #[test]
    fn keys_created_in_a_caller_transaction_are_never_trusted_blindly() {
        let cache = KeyCache::new(10, Duration::from_secs(60));
        let id = KeyId::new("s", "x", 1);
        let created = key();
        cache.put_created(&id, Arc::clone(&created), b"mine");
        cache.set_current("s", "x", 1);
        assert!(cache.get_confirmed("s", "x", 1).is_none());
        assert!(cache.current("s", "x").is_none());
        assert!(cache.get_matching(&id, b"theirs").is_none(), "another process's row");
        assert!(Arc::ptr_eq(&cache.get_matching(&id, b"mine").unwrap(), &created));

        cache.put(&id, Arc::clone(&created), b"mine", Trust::CallerTx);
        assert!(
            cache.get_confirmed("s", "x", 1).is_none(),
            "still possibly the creating transaction"
        );
        cache.put(&id, Arc::clone(&created), b"mine", Trust::Committed);
        assert!(cache.get_confirmed("s", "x", 1).is_some());

        cache.put(&KeyId::new("s", "y", 1), key(), b"w", Trust::CallerTx);
        assert!(
            cache.get_confirmed("s", "y", 1).is_some(),
            "a row this cache did not create is committed"
        );
    }

    #[test]
    fn an_unconfirmed_key_is_confirmed_by_a_read_after_its_ttl() {
        let cache = KeyCache::new(10, Duration::from_millis(30));
        let id = KeyId::new("s", "x", 1);
        cache.put_created(&id, key(), b"mine");
        cache.put(&id, key(), b"mine", Trust::CallerTx);
        assert!(cache.get_confirmed("s", "x", 1).is_none());
        std::thread::sleep(Duration::from_millis(40));
        cache.put(&id, key(), b"mine", Trust::CallerTx);
        assert!(cache.get_confirmed("s", "x", 1).is_some());
    }
}
