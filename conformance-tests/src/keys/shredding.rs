//! Crypto-shredding: destroyed subjects read as erased, everywhere, for good.

use std::time::Duration;

use pupsourcing::encryption::{EncryptorConfig, Revealed};
use pupsourcing::spi::{KeyId, KeyLookup, KeyStore};
use pupsourcing::{Database, EncryptionError};

use super::{kek, process, ring, setup, subject};
use crate::KeysBackend;

fn is_shredded<T: std::fmt::Debug>(result: &Result<T, EncryptionError>) -> bool {
    matches!(result, Err(EncryptionError::Shredded { .. }))
}

/// After shredding, every version of the subject's data is `Shredded` (and reveals as
/// `Revealed::Shredded`), new data for it is refused, and other subjects are untouched.
pub async fn shredded_subjects_read_as_erased<B: KeysBackend>(backend: &B) {
    let kek = kek("kek-1");
    let (db, _store, keys, encryptor) = setup(backend, ring(&kek)).await;
    let v1 = encryptor
        .seal(&subject("users", "alice"), "email", &"a@example.com".to_owned())
        .await
        .unwrap();
    encryptor.rotate(&subject("users", "alice")).await.unwrap();
    let v2 = encryptor
        .seal(&subject("users", "alice"), "email", &"a2@example.com".to_owned())
        .await
        .unwrap();
    let bobs =
        encryptor.encrypt(&subject("users", "bob"), "email", b"bob@example.com").await.unwrap();

    assert_eq!(
        encryptor.shred(&subject("users", "alice")).await.unwrap(),
        2,
        "two versions destroyed"
    );
    let cold = process::<B>(&db, &keys, ring(&kek), EncryptorConfig::default());
    for encryptor in [&encryptor, &cold] {
        for sealed in [&v1, &v2] {
            let result =
                encryptor.decrypt(&subject("users", "alice"), "email", sealed.envelope()).await;
            assert!(is_shredded(&result), "{result:?}");
            let revealed =
                encryptor.reveal(&subject("users", "alice"), "email", sealed).await.unwrap();
            assert_eq!(revealed, Revealed::Shredded);
        }
        let refused = encryptor.encrypt(&subject("users", "alice"), "email", b"new").await;
        assert!(is_shredded(&refused), "no new key for a shredded subject: {refused:?}");
        let back = encryptor.decrypt(&subject("users", "bob"), "email", &bobs).await.unwrap();
        assert_eq!(&back[..], b"bob@example.com");
    }
    assert_eq!(
        encryptor.shred(&subject("users", "alice")).await.unwrap(),
        0,
        "shredding again is a no-op"
    );

    let mut tx = db.begin_read().await.unwrap();
    let lookup = keys.get(&mut tx, &KeyId::new("users", "alice", 1)).await.unwrap();
    assert_eq!(lookup, KeyLookup::Destroyed { up_to_version: 2 });
    let lookup = keys.current(&mut tx, "users", "alice").await.unwrap();
    assert_eq!(lookup, KeyLookup::Destroyed { up_to_version: 2 });
    db.rollback(tx).await.unwrap();

    let refused = pupsourcing::encryption::Subject::new("users", "");
    assert!(matches!(refused, Err(EncryptionError::InvalidInput(_))), "{refused:?}");
    let carol = encryptor.encrypt(&subject("users", "carol"), "x", b"").await;
    assert!(carol.is_ok(), "a never-shredded subject still gets a key: {carol:?}");
}

/// Another process keeps decrypting from its cache at most until its cache TTL passes, then
/// reads the subject as shredded too.
pub async fn shredding_reaches_other_processes_after_their_ttl<B: KeysBackend>(backend: &B) {
    let kek = kek("kek-1");
    let (db, _store, keys, encryptor) = setup(backend, ring(&kek)).await;
    let ttl = Duration::from_millis(300);
    let other = process::<B>(
        &db,
        &keys,
        ring(&kek),
        EncryptorConfig { cache_ttl: ttl, ..Default::default() },
    );
    let envelope =
        encryptor.encrypt(&subject("users", "alice"), "email", b"a@example.com").await.unwrap();
    other
        .decrypt(&subject("users", "alice"), "email", &envelope)
        .await
        .expect("warms the other cache");

    encryptor.shred(&subject("users", "alice")).await.unwrap();
    assert!(is_shredded(&encryptor.decrypt(&subject("users", "alice"), "email", &envelope).await));
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    let result = other.decrypt(&subject("users", "alice"), "email", &envelope).await;
    assert!(is_shredded(&result), "after its TTL the other process sees the shredding: {result:?}");
}

/// A shredded subject gets no new key unless the encryptor allows it explicitly; then its new
/// key continues the version numbers and the old data stays erased.
pub async fn recreation_after_shredding_is_refused_unless_allowed<B: KeysBackend>(backend: &B) {
    let kek = kek("kek-1");
    let (db, _store, keys, encryptor) = setup(backend, ring(&kek)).await;
    let old = encryptor.encrypt(&subject("users", "alice"), "email", b"old").await.unwrap();
    encryptor.shred(&subject("users", "alice")).await.unwrap();

    let mut tx = db.begin().await.unwrap();
    assert!(is_shredded(&encryptor.within(&mut tx).create_key(&subject("users", "alice")).await));
    db.rollback(tx).await.unwrap();
    assert!(is_shredded(&encryptor.rotate(&subject("users", "alice")).await));

    let never_keyed = encryptor.shred(&subject("users", "dave")).await.unwrap();
    assert_eq!(never_keyed, 0);
    assert!(
        is_shredded(&encryptor.encrypt(&subject("users", "dave"), "email", b"x").await),
        "tombstoned before any key"
    );

    let allowing = process::<B>(
        &db,
        &keys,
        ring(&kek),
        EncryptorConfig { allow_recreate_after_shred: true, ..Default::default() },
    );
    let new = allowing.encrypt(&subject("users", "alice"), "email", b"new").await.unwrap();
    assert_eq!(new.key_version(), 2, "versions continue after the tombstone");
    assert_eq!(
        &allowing.decrypt(&subject("users", "alice"), "email", &new).await.unwrap()[..],
        b"new"
    );
    assert!(
        is_shredded(&allowing.decrypt(&subject("users", "alice"), "email", &old).await),
        "old data stays erased"
    );
    assert_eq!(
        &encryptor.decrypt(&subject("users", "alice"), "email", &new).await.unwrap()[..],
        b"new"
    );
}
