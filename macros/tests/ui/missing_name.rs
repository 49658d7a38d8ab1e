use pupsourcing::DomainEvent;

#[derive(DomainEvent)]
enum Events {
    Closed,
}

fn main() {}
