//! Snapshots and crypto-shredding: a snapshot is never a way around erasure.

use pupsourcing::aggregate::{Decider, Repository, SnapshotPolicy};
use pupsourcing::encryption::{Encryptor, Pii, Revealed};
use pupsourcing::snapshot::SnapshotAdmin;
use pupsourcing::{Backend, DomainEvent, StreamId};
use serde::{Deserialize, Serialize};

use super::ledger::all_snapshots;
use crate::SnapshotsBackend;
use crate::keys::{kek, ring, subject};
use crate::support::unique_stream;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Registered {
    email: Pii<String>,
}

#[derive(Debug, Clone, PartialEq, DomainEvent)]
#[event(aggregate_type = "customer")]
enum CustomerEvent {
    #[event(name = "Registered")]
    Registered(Registered),
}

/// The state keeps the sealed value, as the event does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Customer {
    email: Option<Pii<String>>,
    registrations: u64,
}

struct Customers;

impl Decider for Customers {
    type State = Customer;
    type Event = CustomerEvent;
    type Command = Pii<String>;
    type Error = std::convert::Infallible;

    fn initial_state(&self) -> Customer {
        Customer::default()
    }

    fn evolve(&self, state: Customer, CustomerEvent::Registered(r): &CustomerEvent) -> Customer {
        Customer { email: Some(r.email.clone()), registrations: state.registrations + 1 }
    }

    fn decide(
        &self,
        _: &Customer,
        email: &Pii<String>,
    ) -> Result<Vec<CustomerEvent>, std::convert::Infallible> {
        Ok(vec![CustomerEvent::Registered(Registered { email: email.clone() })])
    }
}

/// A state holding sealed values snapshots only ciphertext (the plaintext appears nowhere in
/// the snapshot's bytes); once the subject is shredded, the state loaded from the snapshot
/// reveals as erased, exactly like the events. Dropping a stream's snapshots (the procedure
/// for states that hold plaintext) leaves none behind and loads by full replay.
pub async fn shredded_subjects_stay_erased_in_snapshots<B: SnapshotsBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let (keys, snapshots) = (backend.key_store(&store), backend.snapshot_store(&store));
    let handle = Backend::from_parts(db.clone(), store.clone(), (), keys);
    let encryptor = Encryptor::new(&handle, ring(&kek("kek-1")));
    let customers = Repository::new(&handle, Customers)
        .with_snapshots(snapshots.clone(), SnapshotPolicy::every(1));
    let (alice, bob) = (subject("customers", "alice"), subject("customers", "bob"));
    let streams = [alice.clone(), bob.clone()]
        .map(|_| StreamId::new("customer", unique_stream("customer").aggregate_id()));
    for (who, stream, email) in
        [(&alice, &streams[0], "alice@example.com"), (&bob, &streams[1], "bob@example.com")]
    {
        let sealed = encryptor.seal(who, "email", &email.to_owned()).await.expect("seal");
        customers.execute(stream, &sealed).await.expect("register");
        let stored = all_snapshots(&db, &snapshots, stream).await;
        assert_eq!(stored.len(), 1);
        let bytes = String::from_utf8_lossy(&stored[0].state);
        assert!(!bytes.contains(email), "the snapshot holds the plaintext: {bytes}");
    }

    assert!(encryptor.shred(&alice).await.expect("shred") > 0);
    for (who, stream, expected) in [
        (&alice, &streams[0], Revealed::Shredded),
        (&bob, &streams[1], Revealed::Plain("bob@example.com".to_owned())),
    ] {
        let loaded = customers.load_committed(stream).await.expect("load");
        assert_eq!(loaded.snapshot, Some(1), "loaded from the snapshot");
        let email = loaded.state.email.expect("an email");
        assert_eq!(encryptor.reveal(who, "email", &email).await.expect("reveal"), expected);
    }

    let admin = SnapshotAdmin::new(&handle, snapshots.clone());
    assert_eq!(admin.drop_stream(&streams[0]).await.expect("drop"), 1);
    assert!(all_snapshots(&db, &snapshots, &streams[0]).await.is_empty());
    let replayed = customers.load_committed(&streams[0]).await.expect("load");
    assert_eq!((replayed.snapshot, replayed.state.registrations), (None, 1));
    assert_eq!(admin.stats("customer").await.expect("stats").count, 1, "bob's remains");
    assert_eq!(admin.drop_aggregate_type("customer").await.expect("drop"), 1);
    assert_eq!(admin.stats("customer").await.expect("stats").count, 0);
}
