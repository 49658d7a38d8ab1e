//! Refused input: typed errors, nothing stored changes.

use pupsourcing::encryption::{Envelope, Subject};
use pupsourcing::spi::{KeyId, KeyLookup, KeyStore, NewKey};
use pupsourcing::{Database, EncryptionError};

use super::{kek, ring, setup};
use crate::KeysBackend;

fn invalid<T: std::fmt::Debug>(result: Result<T, EncryptionError>, what: &str) {
    assert!(matches!(result, Err(EncryptionError::InvalidInput(_))), "{what}: {result:?}");
}

/// Empty or oversized names, NUL characters, bad key versions and empty wrapped keys are refused
/// as `InvalidInput`; garbage envelopes as integrity failures; and the key store is unchanged.
pub async fn bad_key_input_is_typed_and_changes_nothing<B: KeysBackend>(backend: &B) {
    let (db, _store, keys, encryptor) = setup(backend, ring(&kek("kek-1"))).await;
    let long = "x".repeat(513);
    for (scope, subject, field) in [
        ("", "alice", "email"),
        ("users", "", "email"),
        ("users", "alice", ""),
        ("users", "al\0ice", "email"),
        (long.as_str(), "alice", "email"),
        ("users", long.as_str(), "email"),
        ("users", "alice", long.as_str()),
    ] {
        let what = format!("{scope:.8}/{subject:.8}/{field:.8}");
        // A bad scope or subject is refused when the subject is made, a bad field on use.
        match Subject::new(scope, subject) {
            Ok(valid) => invalid(encryptor.encrypt(&valid, field, b"x").await, &what),
            Err(err) => invalid::<()>(Err(err), &what),
        }
    }
    let mut tx = db.begin().await.unwrap();
    for bad in [
        NewKey {
            id: KeyId::new("s", "a", 0),
            wrapped: vec![1],
            algorithm: "x".into(),
            kek_id: "k".into(),
        },
        NewKey {
            id: KeyId::new("s", "a", u32::MAX),
            wrapped: vec![1],
            algorithm: "x".into(),
            kek_id: "k".into(),
        },
        NewKey {
            id: KeyId::new("s", "a", 1),
            wrapped: vec![],
            algorithm: "x".into(),
            kek_id: "k".into(),
        },
        NewKey {
            id: KeyId::new("s", "a", 1),
            wrapped: vec![1],
            algorithm: String::new(),
            kek_id: "k".into(),
        },
        NewKey {
            id: KeyId::new("s", "a", 1),
            wrapped: vec![1],
            algorithm: "x".into(),
            kek_id: String::new(),
        },
        NewKey {
            id: KeyId::new("", "a", 1),
            wrapped: vec![1],
            algorithm: "x".into(),
            kek_id: "k".into(),
        },
    ] {
        invalid(keys.insert(&mut tx, &bad).await, &format!("{bad:?}"));
    }
    invalid(keys.rewrap(&mut tx, &KeyId::new("s", "a", 1), b"", "k").await, "empty rewrap");
    invalid(keys.current(&mut tx, "", "a").await, "current without scope");
    invalid(keys.get(&mut tx, &KeyId::new("s", "", 1)).await, "get without subject");
    db.commit(tx).await.unwrap();

    for garbage in [&b""[..], b"PE", b"hello world, this is not an envelope at all....."] {
        assert!(matches!(Envelope::from_bytes(garbage), Err(EncryptionError::Integrity(_))));
    }
    for text in ["", "pupenc:", "pupenc:!!!", "hello"] {
        assert!(
            matches!(Envelope::from_text(text), Err(EncryptionError::Integrity(_))),
            "{text:?}"
        );
    }

    let mut tx = db.begin_read().await.unwrap();
    assert_eq!(keys.current(&mut tx, "s", "a").await.unwrap(), KeyLookup::Missing);
    assert_eq!(keys.current(&mut tx, "users", "alice").await.unwrap(), KeyLookup::Missing);
    assert!(
        keys.wrapped_by_other(&mut tx, "none", None, 10).await.unwrap().is_empty(),
        "no key was stored"
    );
    db.rollback(tx).await.unwrap();
}
