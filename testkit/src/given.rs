//! Given/when/then for deciders: pure, no database.

#![allow(clippy::panic)] // assertions: a panic is how a test fails

use std::fmt::Debug;

use pupsourcing::aggregate::Decider;

/// The past of an aggregate: start a test with [`given`].
pub struct Given<Dc: Decider> {
    decider: Dc,
    history: Vec<Dc::Event>,
}

/// An aggregate that has seen `history`, about to receive a command.
///
/// ```
/// use pupsourcing::aggregate::decider;
/// use pupsourcing::DomainEvent;
/// use pupsourcing_testkit::given::given;
///
/// #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Deposited { cents: u64 }
///
/// #[derive(Debug, PartialEq, DomainEvent)]
/// enum AccountEvent {
///     #[event(name = "MoneyDeposited")]
///     Deposited(Deposited),
/// }
///
/// #[derive(Debug, PartialEq, thiserror::Error)]
/// #[error("deposits must be positive")]
/// struct NotPositive;
///
/// let account = || decider(
///     || 0u64,
///     |balance, AccountEvent::Deposited(d): &AccountEvent| balance + d.cents,
///     |_: &u64, cents: &u64| match cents {
///         0 => Err(NotPositive),
///         &cents => Ok(vec![AccountEvent::Deposited(Deposited { cents })]),
///     },
/// );
///
/// given(account(), [AccountEvent::Deposited(Deposited { cents: 5 })])
///     .when(&10)
///     .then([AccountEvent::Deposited(Deposited { cents: 10 })]);
/// given(account(), []).when(&0).then_error(NotPositive);
/// ```
pub fn given<Dc: Decider>(decider: Dc, history: impl IntoIterator<Item = Dc::Event>) -> Given<Dc> {
    Given { decider, history: history.into_iter().collect() }
}

impl<Dc: Decider> Given<Dc>
where
    Dc::Event: Debug,
{
    /// Folds the history and decides `command`.
    pub fn when(self, command: &Dc::Command) -> Then<Dc>
    where
        Dc::Command: Debug,
    {
        let state = self
            .history
            .iter()
            .fold(self.decider.initial_state(), |state, event| self.decider.evolve(state, event));
        let decided = self.decider.decide(&state, command);
        Then { history: self.history, command: format!("{command:?}"), decided }
    }
}

/// The decision, to be checked.
pub struct Then<Dc: Decider> {
    history: Vec<Dc::Event>,
    command: String,
    decided: Result<Vec<Dc::Event>, Dc::Error>,
}

impl<Dc: Decider> Then<Dc>
where
    Dc::Event: Debug + PartialEq,
{
    /// The command produced exactly these events, in this order.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = Dc::Event>) {
        let expected: Vec<Dc::Event> = expected.into_iter().collect();
        match &self.decided {
            Ok(events) if *events == expected => {}
            Ok(events) => self.fail(&format!("expected events {expected:#?}\nbut got {events:#?}")),
            Err(err) => {
                self.fail(&format!("expected events {expected:#?}\nbut it was refused: {err}"))
            }
        }
    }

    /// The command produced no event.
    #[track_caller]
    pub fn then_nothing(self) {
        self.then([]);
    }

    /// The command was refused with `expected`.
    #[track_caller]
    pub fn then_error(self, expected: Dc::Error)
    where
        Dc::Error: PartialEq,
    {
        match &self.decided {
            Err(err) if *err == expected => {}
            Err(err) => self.fail(&format!("expected the error {expected:?}\nbut got {err:?}")),
            Ok(events) => {
                self.fail(&format!("expected the error {expected:?}\nbut got events {events:#?}"))
            }
        }
    }

    /// The decision, for checks of your own.
    pub fn decision(self) -> Result<Vec<Dc::Event>, Dc::Error> {
        self.decided
    }

    #[track_caller]
    fn fail(&self, what: &str) -> ! {
        panic!("given {:#?}\nwhen {}\n{what}", self.history, self.command)
    }
}
