//! The key-store port, called directly.

use pupsourcing::spi::{KeyId, KeyLookup, KeyStore, NewKey};
use pupsourcing::{Database, EncryptionError};

use crate::KeysBackend;

fn key(subject: &str, version: u32, kek: &str) -> NewKey {
    NewKey {
        id: KeyId::new("scope", subject, version),
        wrapped: format!("wrapped {subject} v{version}").into_bytes(),
        algorithm: "xchacha20poly1305".into(),
        kek_id: kek.into(),
    }
}

/// Insert, lookups, retirement, destruction with tombstones, paging by KEK and re-wrapping
/// behave the same on every backend, and uncommitted changes vanish on rollback.
pub async fn key_store_contract<B: KeysBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let keys = backend.key_store(&store);
    let mut tx = db.begin().await.unwrap();
    assert_eq!(keys.lock_subject(&mut tx, "scope", "a").await.unwrap(), KeyLookup::Missing);
    let a1 = keys.insert(&mut tx, &key("a", 1, "k1")).await.unwrap();
    assert_eq!((a1.wrapped.as_slice(), a1.retired_at), (&b"wrapped a v1"[..], None));
    let exists = keys.insert(&mut tx, &key("a", 1, "k1")).await;
    assert!(matches!(exists, Err(EncryptionError::KeyExists { .. })), "{exists:?}");
    keys.insert(&mut tx, &key("a", 2, "k2")).await.unwrap();
    for subject in ["b", "c", "d"] {
        keys.insert(&mut tx, &key(subject, 1, "k1")).await.unwrap();
    }
    db.commit(tx).await.unwrap();

    let mut tx = db.begin().await.unwrap();
    let KeyLookup::Found(current) = keys.current(&mut tx, "scope", "a").await.unwrap() else {
        panic!("a has keys");
    };
    assert_eq!(current.id.version, 2);
    let KeyLookup::Found(old) = keys.get(&mut tx, &KeyId::new("scope", "a", 1)).await.unwrap()
    else {
        panic!("a v1 exists");
    };
    assert!(old.retired_at.is_some(), "inserting v2 retired v1");
    assert_eq!(keys.get(&mut tx, &KeyId::new("scope", "a", 3)).await.unwrap(), KeyLookup::Missing);
    assert_eq!(keys.get(&mut tx, &KeyId::new("other", "a", 1)).await.unwrap(), KeyLookup::Missing);

    let page = keys.wrapped_by_other(&mut tx, "k2", None, 2).await.unwrap();
    let ids: Vec<_> = page.iter().map(|k| k.id.to_string()).collect();
    assert_eq!(ids, ["scope/a/v1", "scope/b/v1"]);
    let page = keys.wrapped_by_other(&mut tx, "k2", Some(page[1].id.clone()), 10).await.unwrap();
    let ids: Vec<_> = page.iter().map(|k| k.id.to_string()).collect();
    assert_eq!(ids, ["scope/c/v1", "scope/d/v1"]);
    assert!(keys.rewrap(&mut tx, &KeyId::new("scope", "b", 1), b"rewrapped", "k2").await.unwrap());
    assert!(!keys.rewrap(&mut tx, &KeyId::new("scope", "z", 1), b"x", "k2").await.unwrap());
    assert_eq!(keys.destroy(&mut tx, "scope", "a").await.unwrap(), 2);
    assert_eq!(keys.destroy(&mut tx, "scope", "never").await.unwrap(), 0);
    db.rollback(tx).await.unwrap();

    let mut tx = db.begin().await.unwrap();
    assert!(
        matches!(keys.current(&mut tx, "scope", "a").await.unwrap(), KeyLookup::Found(_)),
        "destroy rolled back"
    );
    assert_eq!(keys.current(&mut tx, "scope", "never").await.unwrap(), KeyLookup::Missing);
    let b = keys.get(&mut tx, &KeyId::new("scope", "b", 1)).await.unwrap();
    assert!(matches!(b, KeyLookup::Found(k) if k.kek_id == "k1"), "rewrap rolled back");

    assert_eq!(keys.destroy(&mut tx, "scope", "a").await.unwrap(), 2);
    assert_eq!(keys.destroy(&mut tx, "scope", "never").await.unwrap(), 0);
    assert!(keys.rewrap(&mut tx, &KeyId::new("scope", "b", 1), b"rewrapped", "k2").await.unwrap());
    db.commit(tx).await.unwrap();

    let mut tx = db.begin().await.unwrap();
    let destroyed = KeyLookup::Destroyed { up_to_version: 2 };
    assert_eq!(keys.current(&mut tx, "scope", "a").await.unwrap(), destroyed);
    assert_eq!(keys.lock_subject(&mut tx, "scope", "a").await.unwrap(), destroyed);
    assert_eq!(keys.get(&mut tx, &KeyId::new("scope", "a", 1)).await.unwrap(), destroyed);
    assert_eq!(keys.get(&mut tx, &KeyId::new("scope", "a", 3)).await.unwrap(), KeyLookup::Missing);
    let none = KeyLookup::Destroyed { up_to_version: 0 };
    assert_eq!(keys.current(&mut tx, "scope", "never").await.unwrap(), none);
    let b = keys.get(&mut tx, &KeyId::new("scope", "b", 1)).await.unwrap();
    assert!(
        matches!(&b, KeyLookup::Found(k) if k.kek_id == "k2" && k.wrapped == b"rewrapped"),
        "{b:?}"
    );

    keys.insert(&mut tx, &key("a", 3, "k2")).await.unwrap();
    assert!(
        matches!(keys.current(&mut tx, "scope", "a").await.unwrap(), KeyLookup::Found(k) if k.id.version == 3)
    );
    assert_eq!(keys.destroy(&mut tx, "scope", "a").await.unwrap(), 1);
    assert_eq!(
        keys.current(&mut tx, "scope", "a").await.unwrap(),
        KeyLookup::Destroyed { up_to_version: 3 }
    );
    let page = keys.wrapped_by_other(&mut tx, "k1", None, 10).await.unwrap();
    assert_eq!(page.len(), 1, "only b is wrapped by k2 now: {page:?}");
    db.commit(tx).await.unwrap();
}
