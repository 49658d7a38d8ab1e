//! Data-key rotation and KEK re-wrapping.

use std::sync::Arc;

use pupsourcing::encryption::{AeadWrapper, DataKey, EncryptorConfig, KeyWrapper, Keyring};
use pupsourcing::spi::{KeyId, KeyLookup, KeyStore};
use pupsourcing::{Database, EncryptionError};

use super::{kek, process, ring, setup};
use crate::KeysBackend;

/// After a rotation new data uses the new version, old data still decrypts (in this process
/// and others), and the old version is marked retired.
pub async fn rotation_keeps_old_data_readable<B: KeysBackend>(backend: &B) {
    let kek = kek("kek-1");
    let (db, _store, keys, encryptor) = setup(backend, ring(&kek)).await;
    let old = encryptor.encrypt(&super::subject("users", "alice"), "email", b"old").await.unwrap();
    assert_eq!(encryptor.rotate(&super::subject("users", "alice")).await.unwrap(), 2);
    let new = encryptor.encrypt(&super::subject("users", "alice"), "email", b"new").await.unwrap();
    assert_eq!((old.key_version(), new.key_version()), (1, 2));

    let other = process::<B>(&db, &keys, ring(&kek), EncryptorConfig::default());
    for encryptor in [&encryptor, &other] {
        assert_eq!(
            &encryptor.decrypt(&super::subject("users", "alice"), "email", &old).await.unwrap()[..],
            b"old"
        );
        assert_eq!(
            &encryptor.decrypt(&super::subject("users", "alice"), "email", &new).await.unwrap()[..],
            b"new"
        );
    }
    let fresh = other.encrypt(&super::subject("users", "alice"), "email", b"x").await.unwrap();
    assert_eq!(fresh.key_version(), 2, "another process writes with the current version");
    assert_eq!(other.rotate(&super::subject("users", "alice")).await.unwrap(), 3);
    assert_eq!(encryptor.rotate(&super::subject("users", "never-keyed")).await.unwrap(), 1);

    let mut tx = db.begin_read().await.unwrap();
    let KeyLookup::Found(v1) = keys.get(&mut tx, &KeyId::new("users", "alice", 1)).await.unwrap()
    else {
        panic!("version 1 is kept");
    };
    let KeyLookup::Found(v3) = keys.current(&mut tx, "users", "alice").await.unwrap() else {
        panic!("alice has a current key");
    };
    db.rollback(tx).await.unwrap();
    assert!(v1.retired_at.is_some_and(|at| at >= v1.created_at), "v1 retired: {v1:?}");
    assert_eq!((v3.id.version, v3.retired_at), (3, None));
    assert_eq!(v3.algorithm, "xchacha20poly1305");
    assert_eq!(v3.kek_id, "kek-1");
}

/// Re-wrapping moves every data key to a new KEK page by page; it can stop and resume from its
/// cursor, reports keys it cannot unwrap without stopping, and afterwards the old KEK can be
/// dropped: everything still decrypts.
pub async fn rewrap_is_resumable_and_lets_the_old_kek_go<B: KeysBackend>(backend: &B) {
    let old_kek = kek("kek-old");
    let (db, _store, keys, old) = setup(backend, ring(&old_kek)).await;
    let mut sealed = Vec::new();
    for i in 0..25 {
        let subject = format!("user-{i:02}");
        sealed.push((
            subject.clone(),
            old.encrypt(&super::subject("users", &subject), "email", subject.as_bytes())
                .await
                .unwrap(),
        ));
    }
    old.rotate(&super::subject("users", "user-03")).await.unwrap();
    let stranger = process::<B>(&db, &keys, ring(&kek("kek-lost")), EncryptorConfig::default());
    let orphan =
        stranger.encrypt(&super::subject("users", "zz-orphan"), "email", b"o").await.unwrap();

    let new_kek: Arc<dyn KeyWrapper> =
        Arc::new(AeadWrapper::new("kek-new", &DataKey::generate()).unwrap());
    let both = Keyring::from_arc(Arc::clone(&new_kek)).with_previous(Arc::clone(&old_kek));
    let migrating = process::<B>(&db, &keys, both, EncryptorConfig::default());

    let mut first = migrating.rewrap(Arc::clone(&new_kek), 10);
    let page = first.next_page().await.unwrap().expect("a first page");
    assert_eq!((page.rewrapped, page.total_rewrapped), (10, 10));
    assert!(page.failed.is_empty());
    let cursor = page.cursor.clone().expect("a cursor");
    drop(first);

    let mut resumed = migrating.rewrap(Arc::clone(&new_kek), 10).resume_after(cursor);
    let (mut total, mut failed) = (10, Vec::new());
    while let Some(page) = resumed.next_page().await.unwrap() {
        total += page.rewrapped;
        failed.extend(page.failed);
    }
    assert_eq!(total, 26, "25 subjects plus a rotated version");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, KeyId::new("users", "zz-orphan", 1));
    assert!(
        matches!(failed[0].1, EncryptionError::KekUnavailable { ref kek_id } if kek_id == "kek-lost")
    );

    let mut again = migrating.rewrap(Arc::clone(&new_kek), 100);
    let page = again.next_page().await.unwrap().expect("only the orphan is left");
    assert_eq!((page.rewrapped, page.failed.len()), (0, 1));
    assert!(again.next_page().await.unwrap().is_none());

    let only_new = process::<B>(&db, &keys, Keyring::from_arc(new_kek), EncryptorConfig::default());
    for (subject, envelope) in &sealed {
        let back =
            only_new.decrypt(&super::subject("users", subject), "email", envelope).await.unwrap();
        assert_eq!(&back[..], subject.as_bytes());
    }
    let lost = only_new.decrypt(&super::subject("users", "zz-orphan"), "email", &orphan).await;
    assert!(matches!(lost, Err(EncryptionError::KekUnavailable { .. })), "{lost:?}");
    let newer =
        only_new.encrypt(&super::subject("users", "user-03"), "email", b"v2").await.unwrap();
    assert_eq!(newer.key_version(), 2);
}
