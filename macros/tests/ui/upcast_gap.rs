use pupsourcing::DomainEvent;

#[derive(serde::Serialize, serde::Deserialize)]
struct Opened {}

#[derive(serde::Deserialize)]
struct OpenedV1 {}

impl From<OpenedV1> for Opened {
    fn from(_: OpenedV1) -> Self {
        Opened {}
    }
}

#[derive(DomainEvent)]
enum Events {
    #[event(name = "Opened", version = 3, upcast(from = 1, via = OpenedV1))]
    Opened(Opened),
}

fn main() {}
