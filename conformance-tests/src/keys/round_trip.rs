//! Fields round-trip through every form, at every size, through warm and cold caches.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use pupsourcing::encryption::{EncryptorConfig, Envelope, Pii, Revealed};
use pupsourcing::{Database, Event, EventStore, ExpectedVersion, Stream};
use serde::{Deserialize, Serialize};

use super::{Enc, kek, pattern, process, ring, setup};
use crate::KeysBackend;
use crate::support::{read, unique_stream};

async fn check_round_trip<B: KeysBackend>(
    warm: &Enc<B>,
    cold: &Enc<B>,
    subject: &str,
    field: &str,
    plaintext: &[u8],
) -> Result<(), TestCaseError> {
    let envelope =
        warm.encrypt(&super::subject("users", subject), field, plaintext).await.expect("encrypt");
    let forms = [
        Envelope::from_bytes(&envelope.to_bytes()).expect("binary form"),
        Envelope::from_text(&envelope.to_text()).expect("text form"),
    ];
    for form in &forms {
        prop_assert_eq!(form, &envelope);
        let back =
            warm.decrypt(&super::subject("users", subject), field, form).await.expect("decrypt");
        prop_assert_eq!(&back[..], plaintext);
        let back = cold
            .decrypt(&super::subject("users", subject), field, form)
            .await
            .expect("cold decrypt");
        prop_assert_eq!(&back[..], plaintext);
    }
    Ok(())
}

/// Plaintexts of 0 bytes to 1 MiB come back byte for byte from the binary and text forms, from
/// the encrypting process and from another one reading the key store.
pub async fn fields_round_trip_from_empty_to_one_mebibyte<B: KeysBackend>(backend: &B) {
    let kek = kek("kek-1");
    let (db, _store, keys, warm) = setup(backend, ring(&kek)).await;
    let config = EncryptorConfig { cache_ttl: std::time::Duration::ZERO, ..Default::default() };
    let cold = process::<B>(&db, &keys, ring(&kek), config);
    for size in [0, 1, 200, 4096, 65_536, 1 << 20] {
        let plaintext = pattern(size);
        check_round_trip::<B>(&warm, &cold, "alice", "document", &plaintext).await.unwrap();
    }
    let envelope =
        warm.encrypt(&super::subject("users", "alice"), "email", b"a@example.com").await.unwrap();
    assert_eq!(envelope.key_version(), 1, "the first key is version 1");
    assert_eq!(envelope.to_bytes().len(), 12 + 24 + 13 + 16, "header, nonce, ciphertext, tag");
}

/// Arbitrary bytes, subjects and field labels round-trip.
pub async fn random_fields_round_trip<B: KeysBackend>(backend: &B) {
    let kek = kek("kek-1");
    let (db, _store, keys, warm) = setup(backend, ring(&kek)).await;
    let config = EncryptorConfig { cache_ttl: std::time::Duration::ZERO, ..Default::default() };
    let cold = process::<B>(&db, &keys, ring(&kek), config);
    let handle = tokio::runtime::Handle::current();
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..2048),
        "[a-zA-Z0-9@.\u{e9}-]{1,24}",
        "[a-z_]{1,12}",
    );
    let result = tokio::task::block_in_place(|| {
        let config = Config { cases: 48, failure_persistence: None, ..Config::default() };
        TestRunner::new(config).run(&strategy, |(plaintext, subject, field)| {
            handle.block_on(check_round_trip::<B>(&warm, &cold, &subject, &field, &plaintext))
        })
    });
    if let Err(err) = result {
        panic!("{err}");
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct UserRegistered {
    user_id: String,
    email: Pii<String>,
}

fn registered(stream: &Stream) -> UserRegistered {
    serde_json::from_slice(&stream.events()[0].event.payload).expect("a UserRegistered payload")
}

/// A `Pii<T>` field travels inside an event's JSON payload, sealed in the append's transaction,
/// and a projection reveals it in its own transaction; after shredding it reveals as erased.
pub async fn sealed_values_reveal_in_projections<B: KeysBackend>(backend: &B) {
    let (db, store, _keys, encryptor) = setup(backend, ring(&kek("kek-1"))).await;
    let stream = unique_stream("user");
    let mut tx = db.begin().await.unwrap();
    let email = encryptor
        .within(&mut tx)
        .seal(
            &super::subject("users", stream.aggregate_id()),
            "email",
            &"alice@example.com".to_owned(),
        )
        .await
        .unwrap();
    let payload =
        serde_json::to_vec(&UserRegistered { user_id: stream.aggregate_id().to_owned(), email })
            .unwrap();
    assert!(!String::from_utf8_lossy(&payload).contains("alice@"), "no plaintext in the event");
    store
        .append(
            &mut tx,
            ExpectedVersion::NoStream,
            vec![Event::new(&stream, "Registered", payload)],
        )
        .await
        .unwrap();
    db.commit(tx).await.unwrap();

    let event = registered(&read(&db, &store, &stream).await);
    let mut tx = db.begin_read().await.unwrap();
    let user = super::subject("users", &event.user_id);
    let revealed = encryptor.within(&mut tx).reveal(&user, "email", &event.email).await;
    assert_eq!(revealed.unwrap(), Revealed::Plain("alice@example.com".to_owned()));
    db.rollback(tx).await.unwrap();

    encryptor.shred(&super::subject("users", stream.aggregate_id())).await.unwrap();
    let event = registered(&read(&db, &store, &stream).await);
    let revealed = encryptor
        .reveal(&super::subject("users", &event.user_id), "email", &event.email)
        .await
        .unwrap();
    assert_eq!(revealed, Revealed::Shredded);
    assert_eq!(revealed.unwrap_or("[erased]".to_owned()), "[erased]");
}
