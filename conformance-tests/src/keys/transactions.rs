//! Key creation inside the caller's transaction.

use pupsourcing::encryption::EncryptorConfig;
use pupsourcing::spi::{KeyLookup, KeyStore};
use pupsourcing::{Database, EncryptionError, Event, EventStore, ExpectedVersion};

use super::{kek, process, ring, setup, subject};
use crate::KeysBackend;
use crate::support::{read, unique_stream};

/// A key created with `encrypt_in` commits or rolls back with the caller's append. After a
/// rollback the encryptor does not keep the vanished key: when another process then creates
/// the subject's key, this one decrypts that process's data and writes under its key.
pub async fn key_creation_commits_and_rolls_back_with_the_caller<B: KeysBackend>(backend: &B) {
    let kek = kek("kek-1");
    let (db, store, keys, encryptor) = setup(backend, ring(&kek)).await;
    let stream = unique_stream("user");

    let mut tx = db.begin().await.unwrap();
    let first = encryptor
        .within(&mut tx)
        .encrypt(&subject("users", stream.aggregate_id()), "email", b"first")
        .await
        .unwrap();
    let again = encryptor
        .within(&mut tx)
        .encrypt(&subject("users", stream.aggregate_id()), "phone", b"again")
        .await
        .unwrap();
    assert_eq!((first.key_version(), again.key_version()), (1, 1));
    let back = encryptor
        .within(&mut tx)
        .decrypt(&subject("users", stream.aggregate_id()), "email", &first)
        .await
        .unwrap();
    assert_eq!(&back[..], b"first", "the key is usable inside its transaction");
    let event = Event::new(&stream, "Registered", first.to_bytes());
    store.append(&mut tx, ExpectedVersion::NoStream, vec![event]).await.unwrap();
    db.rollback(tx).await.unwrap();

    assert!(read(&db, &store, &stream).await.events().is_empty(), "the append rolled back");
    let mut tx = db.begin_read().await.unwrap();
    assert_eq!(
        keys.current(&mut tx, "users", stream.aggregate_id()).await.unwrap(),
        KeyLookup::Missing
    );
    db.rollback(tx).await.unwrap();
    let lost = encryptor.decrypt(&subject("users", stream.aggregate_id()), "email", &first).await;
    assert!(matches!(lost, Err(EncryptionError::KeyNotFound { version: 1, .. })), "{lost:?}");

    let other = process::<B>(&db, &keys, ring(&kek), EncryptorConfig::default());
    let theirs =
        other.encrypt(&subject("users", stream.aggregate_id()), "email", b"theirs").await.unwrap();
    let back = encryptor
        .decrypt(&subject("users", stream.aggregate_id()), "email", &theirs)
        .await
        .unwrap();
    assert_eq!(&back[..], b"theirs", "no stale key survives the rollback");

    let mut tx = db.begin().await.unwrap();
    let mine = encryptor
        .within(&mut tx)
        .encrypt(&subject("users", stream.aggregate_id()), "email", b"mine")
        .await
        .unwrap();
    let event = Event::new(&stream, "Registered", mine.to_bytes());
    store.append(&mut tx, ExpectedVersion::NoStream, vec![event]).await.unwrap();
    db.commit(tx).await.unwrap();
    assert_eq!(
        &other.decrypt(&subject("users", stream.aggregate_id()), "email", &mine).await.unwrap()[..],
        b"mine"
    );

    let fresh = unique_stream("user");
    let mut tx = db.begin().await.unwrap();
    let sealed = encryptor
        .within(&mut tx)
        .encrypt(&subject("users", fresh.aggregate_id()), "email", b"kept")
        .await
        .unwrap();
    db.commit(tx).await.unwrap();
    assert_eq!(
        &other.decrypt(&subject("users", fresh.aggregate_id()), "email", &sealed).await.unwrap()[..],
        b"kept"
    );
    assert_eq!(
        &encryptor
            .decrypt(&subject("users", fresh.aggregate_id()), "email", &sealed)
            .await
            .unwrap()[..],
        b"kept"
    );
}

/// `create_key` makes a subject's first key inside the caller's transaction and refuses a
/// subject that already has one.
pub async fn explicit_creation_refuses_an_existing_key<B: KeysBackend>(backend: &B) {
    let (db, _store, _keys, encryptor) = setup(backend, ring(&kek("kek-1"))).await;
    let mut tx = db.begin().await.unwrap();
    assert_eq!(encryptor.within(&mut tx).create_key(&subject("users", "alice")).await.unwrap(), 1);
    let twice = encryptor.within(&mut tx).create_key(&subject("users", "alice")).await;
    assert!(matches!(twice, Err(EncryptionError::KeyExists { .. })), "{twice:?}");
    db.commit(tx).await.unwrap();

    let mut tx = db.begin().await.unwrap();
    let exists = encryptor.within(&mut tx).create_key(&subject("users", "alice")).await;
    assert!(matches!(exists, Err(EncryptionError::KeyExists { .. })), "{exists:?}");
    db.rollback(tx).await.unwrap();
    let envelope = encryptor.encrypt(&subject("users", "alice"), "email", b"x").await.unwrap();
    assert_eq!(envelope.key_version(), 1);
}
