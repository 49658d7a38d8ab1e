//! Race-free get-or-create across processes.

use std::sync::Arc;

use pupsourcing::Database;
use pupsourcing::encryption::EncryptorConfig;
use pupsourcing::spi::{KeyId, KeyLookup, KeyStore};
use tokio::sync::Barrier;

use super::{kek, process, ring, setup, subject};
use crate::KeysBackend;

const RACERS: usize = 32;

/// 32 processes (own encryptors, own caches) using a new subject at the same moment create
/// exactly one key, and every one of them decrypts what every other wrote.
pub async fn concurrent_first_uses_create_one_key<B: KeysBackend>(backend: &B) {
    let kek = kek("kek-1");
    let (db, _store, keys, _encryptor) = setup(backend, ring(&kek)).await;
    let barrier = Arc::new(Barrier::new(RACERS));
    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let encryptor = process::<B>(&db, &keys, ring(&kek), EncryptorConfig::default());
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                let plaintext = format!("written by {i}");
                let envelope = encryptor
                    .encrypt(&subject("users", "alice"), "email", plaintext.as_bytes())
                    .await;
                (encryptor, plaintext, envelope.expect("concurrent first use"))
            })
        })
        .collect();
    let mut written = Vec::new();
    for racer in racers {
        written.push(racer.await.expect("racer"));
    }
    for (_, _, envelope) in &written {
        assert_eq!(envelope.key_version(), 1, "one key, version 1");
    }
    for (reader, _, _) in written.iter().step_by(7) {
        for (_, plaintext, envelope) in &written {
            let back = reader.decrypt(&subject("users", "alice"), "email", envelope).await.unwrap();
            assert_eq!(&back[..], plaintext.as_bytes());
        }
    }
    let mut tx = db.begin_read().await.unwrap();
    assert!(
        matches!(keys.current(&mut tx, "users", "alice").await.unwrap(), KeyLookup::Found(k) if k.id.version == 1)
    );
    assert_eq!(
        keys.get(&mut tx, &KeyId::new("users", "alice", 2)).await.unwrap(),
        KeyLookup::Missing
    );
    db.rollback(tx).await.unwrap();
}
