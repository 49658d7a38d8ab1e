use pupsourcing::DomainEvent;

#[derive(serde::Serialize, serde::Deserialize)]
struct Opened {}

#[derive(DomainEvent)]
enum Events {
    #[event(name = "Opened")]
    First(Opened),
    #[event(name = "Closed", aliases = ["Opened"])]
    Second,
}

fn main() {}
