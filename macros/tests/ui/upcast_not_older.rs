use pupsourcing::DomainEvent;

#[derive(serde::Serialize, serde::Deserialize)]
struct Opened {}

#[derive(DomainEvent)]
enum Events {
    #[event(name = "Opened", version = 2, upcast(from = 2, via = Opened))]
    Opened(Opened),
}

fn main() {}
