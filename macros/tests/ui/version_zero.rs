use pupsourcing::DomainEvent;

#[derive(DomainEvent)]
enum Events {
    #[event(name = "Closed", version = 0)]
    Closed,
}

fn main() {}
