use pupsourcing::DomainEvent;

#[derive(DomainEvent)]
enum Events {}

fn main() {}
