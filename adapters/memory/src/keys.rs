//! The key store over a [`MemoryDatabase`].

use async_trait::async_trait;
use chrono::Utc;
use pupsourcing::EncryptionError;
use pupsourcing::spi::{KeyId, KeyLookup, KeyStore, NewKey, StoredKey};

use crate::MemoryStore;
use crate::state::{KeyState, State};
use crate::{MemoryDatabase, MemoryTx};

/// A [`KeyStore`] kept in a [`MemoryDatabase`], in the same transactions as its events.
#[derive(Debug, Clone)]
pub struct MemoryKeyStore;

impl MemoryKeyStore {
    /// A key store beside `store` (its keys live in the transactions of the store's database).
    pub fn new(store: &MemoryStore) -> Self {
        let _ = store;
        Self
    }
}

fn newest(keys: &KeyState, scope: &str, subject: &str) -> KeyLookup {
    let first = KeyId::new(scope, subject, 0);
    let newest = keys
        .keys
        .range(first..)
        .take_while(|(id, _)| id.scope == scope && id.subject == subject)
        .last();
    match newest {
        Some((_, key)) => KeyLookup::Found(key.clone()),
        None => tombstone(keys, scope, subject),
    }
}

fn tombstone(keys: &KeyState, scope: &str, subject: &str) -> KeyLookup {
    match keys.tombstones.get(&(scope.to_owned(), subject.to_owned())) {
        Some(up_to_version) => KeyLookup::Destroyed { up_to_version: *up_to_version },
        None => KeyLookup::Missing,
    }
}

async fn keys_mut<'a>(
    tx: &'a mut MemoryTx,
    operation: &'static str,
) -> Result<&'a mut KeyState, EncryptionError> {
    Ok(&mut tx.write(operation).await?.keys)
}

#[async_trait]
impl KeyStore<MemoryDatabase> for MemoryKeyStore {
    async fn lock_subject(
        &self,
        tx: &mut MemoryTx,
        scope: &str,
        subject: &str,
    ) -> Result<KeyLookup, EncryptionError> {
        KeyId::check_names(scope, subject)?;
        let keys = keys_mut(tx, "lock_subject").await?;
        Ok(newest(keys, scope, subject))
    }

    async fn current(
        &self,
        tx: &mut MemoryTx,
        scope: &str,
        subject: &str,
    ) -> Result<KeyLookup, EncryptionError> {
        KeyId::check_names(scope, subject)?;
        Ok(tx.read(|state: &State| newest(&state.keys, scope, subject)))
    }

    async fn get(&self, tx: &mut MemoryTx, id: &KeyId) -> Result<KeyLookup, EncryptionError> {
        KeyId::check_names(&id.scope, &id.subject)?;
        Ok(tx.read(|state: &State| match state.keys.keys.get(id) {
            Some(key) => KeyLookup::Found(key.clone()),
            None => match tombstone(&state.keys, &id.scope, &id.subject) {
                KeyLookup::Destroyed { up_to_version } if id.version <= up_to_version => {
                    KeyLookup::Destroyed { up_to_version }
                }
                _ => KeyLookup::Missing,
            },
        }))
    }

    async fn insert(&self, tx: &mut MemoryTx, key: &NewKey) -> Result<StoredKey, EncryptionError> {
        key.check()?;
        let keys = keys_mut(tx, "insert_key").await?;
        if keys.keys.contains_key(&key.id) {
            return Err(EncryptionError::KeyExists {
                scope: key.id.scope.clone(),
                subject: key.id.subject.clone(),
            });
        }
        let now = Utc::now();
        let first = KeyId::new(key.id.scope.as_str(), key.id.subject.as_str(), 0);
        for (_, older) in keys
            .keys
            .range_mut(first..key.id.clone())
            .filter(|(id, _)| id.scope == key.id.scope && id.subject == key.id.subject)
        {
            older.retired_at.get_or_insert(now);
        }
        let stored = StoredKey {
            id: key.id.clone(),
            wrapped: key.wrapped.clone(),
            algorithm: key.algorithm.clone(),
            kek_id: key.kek_id.clone(),
            created_at: now,
            retired_at: None,
        };
        keys.keys.insert(key.id.clone(), stored.clone());
        Ok(stored)
    }

    async fn destroy(
        &self,
        tx: &mut MemoryTx,
        scope: &str,
        subject: &str,
    ) -> Result<u64, EncryptionError> {
        KeyId::check_names(scope, subject)?;
        let keys = keys_mut(tx, "destroy_keys").await?;
        let doomed: Vec<KeyId> = keys
            .keys
            .range(KeyId::new(scope, subject, 0)..)
            .take_while(|(id, _)| id.scope == scope && id.subject == subject)
            .map(|(id, _)| id.clone())
            .collect();
        let highest = doomed.iter().map(|id| id.version).max().unwrap_or(0);
        for id in &doomed {
            keys.keys.remove(id);
        }
        let up_to = keys.tombstones.entry((scope.to_owned(), subject.to_owned())).or_insert(0);
        *up_to = (*up_to).max(highest);
        Ok(u64::try_from(doomed.len()).unwrap_or(u64::MAX))
    }

    async fn wrapped_by_other(
        &self,
        tx: &mut MemoryTx,
        kek_id: &str,
        after: Option<KeyId>,
        limit: usize,
    ) -> Result<Vec<StoredKey>, EncryptionError> {
        Ok(tx.read(|state: &State| {
            state
                .keys
                .keys
                .values()
                .filter(|key| {
                    after.as_ref().is_none_or(|after| key.id > *after) && key.kek_id != kek_id
                })
                .take(limit)
                .cloned()
                .collect()
        }))
    }

    async fn rewrap(
        &self,
        tx: &mut MemoryTx,
        id: &KeyId,
        wrapped: &[u8],
        kek_id: &str,
    ) -> Result<bool, EncryptionError> {
        StoredKey::check_wrapping(wrapped, kek_id)?;
        let keys = keys_mut(tx, "rewrap_key").await?;
        Ok(match keys.keys.get_mut(id) {
            Some(key) => {
                key.wrapped = wrapped.to_vec();
                key.kek_id = kek_id.to_owned();
                true
            }
            None => false,
        })
    }
}
