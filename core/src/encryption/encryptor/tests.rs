//! The encryptor's own transaction handling and caching, against mocked ports.

use std::sync::Arc;

use chrono::Utc;

use super::*;
use crate::encryption::AeadWrapper;
use crate::mock::{MockDatabase, MockKeyStore, MockTx};
use crate::{BackendError, BackendErrorKind};

fn db(commits: usize, rollbacks: usize) -> MockDatabase {
    let mut db = MockDatabase::new();
    db.expect_begin().returning(|| Ok(MockTx));
    db.expect_begin_read().returning(|| Ok(MockTx));
    db.expect_commit().times(commits).returning(|_| Ok(()));
    db.expect_rollback().times(rollbacks).returning(|_| Ok(()));
    db
}

fn keyring() -> (Keyring, Arc<AeadWrapper>) {
    let kek = Arc::new(AeadWrapper::new("kek", &DataKey::generate()).unwrap());
    (Keyring::new(Arc::clone(&kek)), kek)
}

fn stored(kek: &AeadWrapper, id: KeyId) -> StoredKey {
    let wrapped = kek.wrap(&DataKey::generate(), &KeyBinding { id: &id, kek_id: "kek" }).unwrap();
    StoredKey {
        id,
        wrapped,
        algorithm: DATA_KEY_ALGORITHM.into(),
        kek_id: "kek".into(),
        created_at: Utc::now(),
        retired_at: None,
    }
}

fn busy() -> EncryptionError {
    EncryptionError::Backend(BackendError::new(BackendErrorKind::Busy, "insert_key", "busy"))
}

#[tokio::test]
async fn a_failed_key_creation_rolls_back_and_leaves_nothing_cached() {
    let (keyring, _) = keyring();
    let mut keys = MockKeyStore::new();
    keys.expect_current().times(2).returning(|_, _, _| Ok(KeyLookup::Missing));
    keys.expect_lock_subject().times(2).returning(|_, _, _| Ok(KeyLookup::Missing));
    keys.expect_insert().times(1).returning(|_, _| Err(busy()));
    keys.expect_insert().times(1).returning(|_, key| {
        Ok(StoredKey {
            id: key.id.clone(),
            wrapped: key.wrapped.clone(),
            algorithm: key.algorithm.clone(),
            kek_id: key.kek_id.clone(),
            created_at: Utc::now(),
            retired_at: None,
        })
    });
    let encryptor = Encryptor::assemble(db(1, 1), keys, keyring, EncryptorConfig::default());

    let failed = encryptor
        .encrypt(&Subject::new("s", "a").expect("valid subject"), "f", b"x")
        .await
        .unwrap_err();
    assert!(failed.is_retryable(), "{failed:?}");
    let envelope = encryptor
        .encrypt(&Subject::new("s", "a").expect("valid subject"), "f", b"x")
        .await
        .unwrap();
    assert_eq!(envelope.key_version(), 1);
    let again = encryptor
        .encrypt(&Subject::new("s", "a").expect("valid subject"), "f", b"y")
        .await
        .unwrap();
    assert_eq!(
        &encryptor
            .decrypt(&Subject::new("s", "a").expect("valid subject"), "f", &again)
            .await
            .unwrap()[..],
        b"y"
    );
}

#[tokio::test]
async fn decrypting_reads_each_key_once_then_uses_the_cache() {
    let (keyring, kek) = keyring();
    let row = stored(&kek, KeyId::new("s", "a", 1));
    let mut keys = MockKeyStore::new();
    keys.expect_current().times(1).returning(move |_, _, _| Ok(KeyLookup::Found(row.clone())));
    keys.expect_get().never();
    let encryptor = Encryptor::assemble(db(1, 0), keys, keyring, EncryptorConfig::default());
    let envelope = encryptor
        .encrypt(&Subject::new("s", "a").expect("valid subject"), "f", b"x")
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            &encryptor
                .decrypt(&Subject::new("s", "a").expect("valid subject"), "f", &envelope)
                .await
                .unwrap()[..],
            b"x"
        );
    }
}

#[tokio::test]
async fn a_missing_kek_is_never_reported_as_shredding() {
    let (keyring, _) = keyring();
    let (_, other) = self::keyring();
    let row = stored(&other, KeyId::new("s", "a", 1));
    let row = StoredKey { kek_id: "retired-kek".into(), ..row };
    let mut keys = MockKeyStore::new();
    keys.expect_get().times(2).returning(move |_, _| Ok(KeyLookup::Found(row.clone())));
    let encryptor = Encryptor::assemble(db(0, 2), keys, keyring, EncryptorConfig::default());
    let envelope = Envelope::new(1, [0; NONCE], vec![0; 32]);
    let failed =
        encryptor.decrypt(&Subject::new("s", "a").expect("valid subject"), "f", &envelope).await;
    assert!(
        matches!(failed, Err(EncryptionError::KekUnavailable { ref kek_id }) if kek_id == "retired-kek")
    );
    let revealed = encryptor
        .reveal::<String>(&Subject::new("s", "a").expect("valid subject"), "f", &Pii::new(envelope))
        .await;
    assert!(matches!(revealed, Err(EncryptionError::KekUnavailable { .. })), "{revealed:?}");
}

#[tokio::test]
async fn shredding_forgets_the_subject_locally_at_once() {
    let (keyring, kek) = keyring();
    let row = stored(&kek, KeyId::new("s", "a", 1));
    let mut keys = MockKeyStore::new();
    keys.expect_current().times(1).returning(move |_, _, _| Ok(KeyLookup::Found(row.clone())));
    keys.expect_lock_subject().times(1).returning(|_, _, _| Ok(KeyLookup::Missing));
    keys.expect_destroy().times(1).returning(|_, _, _| Ok(1));
    keys.expect_get().times(1).returning(|_, _| Ok(KeyLookup::Destroyed { up_to_version: 1 }));
    let encryptor = Encryptor::assemble(db(2, 1), keys, keyring, EncryptorConfig::default());
    let envelope = encryptor
        .encrypt(&Subject::new("s", "a").expect("valid subject"), "f", b"x")
        .await
        .unwrap();
    assert_eq!(encryptor.shred(&Subject::new("s", "a").expect("valid subject")).await.unwrap(), 1);
    let after =
        encryptor.decrypt(&Subject::new("s", "a").expect("valid subject"), "f", &envelope).await;
    assert!(matches!(after, Err(EncryptionError::Shredded { .. })), "{after:?}");
}
