use pupsourcing::DomainEvent;

#[derive(DomainEvent)]
enum Events {
    #[event(name = "Moved")]
    Moved { from: String, to: String },
}

fn main() {}
