//! The bank-account command flow: an account aggregate on the typed API, commands that can be
//! refused (no overdraft), and eight tellers working on one account at once, every conflict
//! resolved by the repository's retry (reload, decide again) without losing a single update.
//!
//! Runs on a fresh SQLite database by default (in the temporary directory, or at the path given
//! as the first argument); set `DATABASE_URL=postgres://...` (or `mysql://...`)
//! to run it on PostgreSQL (or MySQL/MariaDB).

#![allow(clippy::print_stdout)]

use std::sync::Arc;

use pupsourcing::aggregate::{CommandError, CommandRetry, Decider, Repository};
use pupsourcing::{Backend, BoxError, Database, DomainEvent, EventStore, StreamId};
use serde::{Deserialize, Serialize};
use tokio::sync::Barrier;

/// Money came in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Deposited {
    cents: u64,
}

/// Money went out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Withdrawn {
    cents: u64,
}

#[derive(Debug, Clone, PartialEq, DomainEvent)]
#[event(aggregate_type = "account")]
enum AccountEvent {
    #[event(name = "AccountOpened")]
    Opened,
    #[event(name = "MoneyDeposited")]
    Deposited(Deposited),
    #[event(name = "MoneyWithdrawn")]
    Withdrawn(Withdrawn),
}

#[derive(Debug, Clone, Copy)]
enum Command {
    Open,
    Deposit(u64),
    Withdraw(u64),
}

#[derive(Debug, thiserror::Error)]
enum Refused {
    #[error("the account is already open")]
    AlreadyOpen,
    #[error("the account is not open")]
    NotOpen,
    #[error("insufficient funds: balance {balance}, asked {asked}")]
    InsufficientFunds { balance: u64, asked: u64 },
}

#[derive(Debug, Default)]
struct Account {
    open: bool,
    balance: u64,
}

struct Accounts;

impl Decider for Accounts {
    type State = Account;
    type Event = AccountEvent;
    type Command = Command;
    type Error = Refused;

    fn initial_state(&self) -> Account {
        Account::default()
    }

    fn evolve(&self, mut account: Account, event: &AccountEvent) -> Account {
        match event {
            AccountEvent::Opened => account.open = true,
            AccountEvent::Deposited(d) => account.balance += d.cents,
            AccountEvent::Withdrawn(w) => account.balance -= w.cents,
        }
        account
    }

    fn decide(&self, account: &Account, command: &Command) -> Result<Vec<AccountEvent>, Refused> {
        match *command {
            Command::Open if account.open => Err(Refused::AlreadyOpen),
            Command::Open => Ok(vec![AccountEvent::Opened]),
            _ if !account.open => Err(Refused::NotOpen),
            Command::Deposit(cents) => Ok(vec![AccountEvent::Deposited(Deposited { cents })]),
            Command::Withdraw(asked) if asked > account.balance => {
                Err(Refused::InsufficientFunds { balance: account.balance, asked })
            }
            Command::Withdraw(cents) => Ok(vec![AccountEvent::Withdrawn(Withdrawn { cents })]),
        }
    }
}

const TELLERS: u64 = 8;
const OPERATIONS: u64 = 10;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    pupsourcing_examples::on_any_backend!("bank-account", run)
}

async fn run<D, S, C, K>(backend: &Backend<D, S, C, K>) -> Result<(), BoxError>
where
    D: Database,
    S: EventStore<D> + Clone,
{
    let retry = CommandRetry { attempts: 100, ..CommandRetry::default() };
    let accounts = Arc::new(Repository::new(backend, Accounts).with_retry(retry));
    let account = StreamId::new("account", uuid::Uuid::new_v4().simple().to_string());

    accounts.execute(&account, &Command::Open).await?;
    accounts.execute(&account, &Command::Deposit(10_000)).await?;
    println!("opened {} with 100.00", account.aggregate_id());
    match accounts.execute(&account, &Command::Withdraw(1_000_000)).await {
        Err(CommandError::Domain(refused)) => {
            println!("a withdrawal of 10 000.00 is refused: {refused}")
        }
        other => return Err(format!("the overdraft was not refused: {other:?}").into()),
    }

    println!(
        "{TELLERS} tellers make {OPERATIONS} deposits of 1.00 and one withdrawal of 0.50 each, at once"
    );
    let start = Arc::new(Barrier::new(usize::try_from(TELLERS)?));
    let tellers: Vec<_> = (0..TELLERS)
        .map(|_| {
            let (accounts, account, start) =
                (Arc::clone(&accounts), account.clone(), Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                let mut retried = 0;
                for _ in 0..OPERATIONS {
                    retried +=
                        accounts.execute(&account, &Command::Deposit(100)).await?.attempts - 1;
                }
                retried += accounts.execute(&account, &Command::Withdraw(50)).await?.attempts - 1;
                Ok::<u32, CommandError<Refused>>(retried)
            })
        })
        .collect();
    let mut retried = 0;
    for teller in tellers {
        retried += teller.await??;
    }
    let loaded = accounts.load_committed(&account).await?;
    let expected = 10_000 + TELLERS * (OPERATIONS * 100 - 50);
    println!(
        "balance {}.{:02} at version {}: {} commands were retried after a conflict; no update lost: {}",
        loaded.state.balance / 100,
        loaded.state.balance % 100,
        loaded.version,
        retried,
        loaded.state.balance == expected
    );
    if loaded.state.balance != expected || loaded.version != 2 + TELLERS * (OPERATIONS + 1) {
        return Err(format!("expected {expected} cents, got {}", loaded.state.balance).into());
    }
    Ok(())
}
