use pupsourcing::DomainEvent;

#[derive(serde::Serialize, serde::Deserialize)]
struct Renamed {
    label: String,
}

fn label_v1(mut value: serde_json::Value) -> serde_json::Value {
    value["label"] = value["name"].take();
    value
}

#[derive(DomainEvent)]
#[event(codec = pupsourcing::typed::JsonCodec)]
enum Events {
    #[event(name = "Renamed", version = 2, upcast(from = 1, json = label_v1))]
    Renamed(Renamed),
}

fn main() {}
