use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::*;
use crate::worker::coordinator::{ConsumerRecord, NodeInfo, Transition, UnitRecord};

fn node(id: &str, started: i64, consumers: &[(&str, u32)]) -> LiveNode {
    LiveNode {
        info: NodeInfo {
            node_id: id.into(),
            consumers: consumers
                .iter()
                .map(|(n, p)| ConsumerSpec { name: (*n).into(), partitions: *p })
                .collect(),
            version: "1".into(),
        },
        started_at: DateTime::<Utc>::from_timestamp(started, 0).unwrap(),
    }
}

/// Applies a plan the way a coordinator does, for multi-step tests.
fn apply(topology: &mut Topology, plan: &Plan) {
    for spec in &plan.create {
        topology.consumers.push(ConsumerRecord {
            name: spec.name.clone(),
            partitions: spec.partitions,
            transition: None,
        });
        for p in 0..spec.partitions {
            topology.units.push(UnitRecord {
                unit: UnitId::new(&spec.name, spec.partitions, p),
                owner: None,
                epoch: 0,
                checkpoint: 0,
            });
        }
    }
    for start in &plan.start_transitions {
        let consumer = topology.consumers.iter_mut().find(|c| c.name == start.consumer).unwrap();
        consumer.partitions = start.to_partitions;
        consumer.transition = Some(Transition {
            from_partitions: start.from_partitions,
            drain_position: start.drain_position,
        });
    }
    for finish in &plan.finish_transitions {
        topology.units.retain(|u| {
            !(u.unit.consumer == finish.consumer && u.unit.partitions == finish.from_partitions)
        });
        topology.consumers.iter_mut().find(|c| c.name == finish.consumer).unwrap().transition =
            None;
        for p in 0..finish.to_partitions {
            topology.units.push(UnitRecord {
                unit: UnitId::new(&finish.consumer, finish.to_partitions, p),
                owner: None,
                epoch: 0,
                checkpoint: finish.drain_position,
            });
        }
    }
    for (unit, owner) in &plan.assign {
        let record = topology.units.iter_mut().find(|u| &u.unit == unit).unwrap();
        record.owner = owner.clone();
        record.epoch += 1;
    }
}

fn loads(topology: &Topology) -> BTreeMap<String, usize> {
    let mut loads = BTreeMap::new();
    for unit in &topology.units {
        if let Some(owner) = &unit.owner {
            *loads.entry(owner.clone()).or_default() += 1;
        }
    }
    loads
}

#[test]
fn new_consumers_are_created_and_spread_fairly() {
    let nodes = [node("a", 1, &[("p", 4), ("q", 1)]), node("b", 2, &[("p", 4), ("q", 1)])];
    let mut topology = Topology::default();
    let plan = plan(&topology, &nodes, 0);
    assert_eq!(plan.create.len(), 2);
    apply(&mut topology, &plan);
    assert!(topology.units.iter().all(|u| u.owner.is_some()));
    let loads = loads(&topology);
    assert_eq!(loads.values().copied().collect::<Vec<_>>(), vec![3, 2]);
    assert!(super::plan(&topology, &nodes, 0).is_empty(), "a settled topology needs no plan");
}

#[test]
fn a_joining_node_takes_only_its_fair_share() {
    let mut nodes = vec![node("a", 1, &[("p", 6)])];
    let mut topology = Topology::default();
    let step = plan(&topology, &nodes, 0);
    apply(&mut topology, &step);
    assert_eq!(loads(&topology)["a"], 6);
    nodes.push(node("b", 2, &[("p", 6)]));
    let joined = plan(&topology, &nodes, 0);
    assert_eq!(joined.assign.len(), 3, "exactly the units beyond a's fair share move");
    apply(&mut topology, &joined);
    assert_eq!(loads(&topology).values().copied().collect::<Vec<_>>(), vec![3, 3]);
}

#[test]
fn a_dead_nodes_units_move_and_the_rest_stay() {
    let nodes = vec![node("a", 1, &[("p", 4)]), node("b", 1, &[("p", 4)])];
    let mut topology = Topology::default();
    let step = plan(&topology, &nodes, 0);
    apply(&mut topology, &step);
    let before: BTreeMap<UnitId, Option<String>> =
        topology.units.iter().map(|u| (u.unit.clone(), u.owner.clone())).collect();
    let survivors = vec![nodes[0].clone()];
    let failover = plan(&topology, &survivors, 0);
    for (unit, owner) in &failover.assign {
        assert_eq!(before[unit].as_deref(), Some("b"), "only b's units move");
        assert_eq!(owner.as_deref(), Some("a"));
    }
    assert_eq!(failover.assign.len(), 2);
}

#[test]
fn units_go_only_to_nodes_that_run_their_consumer() {
    let nodes = vec![node("a", 1, &[("p", 2)]), node("b", 1, &[("q", 1)])];
    let mut topology = Topology::default();
    let step = plan(&topology, &nodes, 0);
    apply(&mut topology, &step);
    for unit in &topology.units {
        let expected = if unit.unit.consumer == "p" { "a" } else { "b" };
        assert_eq!(unit.owner.as_deref(), Some(expected));
    }
    let unrun = plan(&topology, &nodes[..1], 0);
    assert_eq!(unrun.assign, vec![(UnitId::new("q", 1, 0), None)], "nobody runs q any more");
}

#[test]
fn repartitioning_drains_then_switches() {
    let old = vec![node("a", 1, &[("p", 2)])];
    let mut topology = Topology::default();
    let step = plan(&topology, &old, 0);
    apply(&mut topology, &step);
    for unit in &mut topology.units {
        unit.checkpoint = 5;
    }
    let new = vec![node("a", 1, &[("p", 2)]), node("b", 2, &[("p", 3)])];
    let start = plan(&topology, &new, 9);
    assert_eq!(
        start.start_transitions,
        vec![StartTransition {
            consumer: "p".into(),
            from_partitions: 2,
            to_partitions: 3,
            drain_position: 9
        }]
    );
    apply(&mut topology, &start);
    assert!(
        plan(&topology, &new, 20).finish_transitions.is_empty(),
        "old units have not drained yet"
    );
    topology.units[0].checkpoint = 9;
    assert!(plan(&topology, &new, 20).finish_transitions.is_empty());
    topology.units[1].checkpoint = 9;
    let finish = plan(&topology, &new, 20);
    assert_eq!(finish.finish_transitions.len(), 1);
    apply(&mut topology, &finish);
    assert_eq!(topology.units.len(), 3);
    assert!(
        topology
            .units
            .iter()
            .all(|u| u.unit.partitions == 3 && u.checkpoint == 9 && u.owner.is_some())
    );
}

#[derive(Debug, Clone)]
struct Scenario {
    nodes: Vec<(u8, Vec<u8>)>,
    consumers: Vec<u32>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let consumers = proptest::collection::vec(1u32..6, 1..4);
    consumers.prop_flat_map(|consumers| {
        let count = consumers.len();
        let node = proptest::collection::vec(0u8..u8::try_from(count).unwrap(), 0..=count);
        (proptest::collection::vec((0u8..8, node), 1..6), Just(consumers))
            .prop_map(|(nodes, consumers)| Scenario { nodes, consumers })
    })
}

fn live(scenario: &Scenario) -> Vec<LiveNode> {
    let mut seen = std::collections::BTreeSet::new();
    scenario
        .nodes
        .iter()
        .filter(|(id, _)| seen.insert(*id))
        .map(|(id, runs)| {
            let consumers: Vec<(String, u32)> = runs
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .map(|c| (format!("c{c}"), scenario.consumers[usize::from(*c)]))
                .collect();
            let refs: Vec<(&str, u32)> = consumers.iter().map(|(n, p)| (n.as_str(), *p)).collect();
            node(&format!("n{id}"), 1, &refs)
        })
        .collect()
}

proptest! {
    /// Whatever the membership: every unit ends with at most one owner, always a live node that
    /// runs its consumer (and one whenever such a node exists); when every node runs every
    /// consumer no node exceeds the fair share; and a settled topology plans no change.
    #[test]
    fn assignments_are_valid_fair_and_stable(first in scenario(), second in scenario()) {
        let mut topology = Topology::default();
        for round in [&first, &second] {
            let nodes = live(round);
            for _ in 0..4 {
                let step = plan(&topology, &nodes, 0);
                if step.is_empty() {
                    break;
                }
                apply(&mut topology, &step);
            }
            for unit in &topology.units {
                let eligible: Vec<&str> = nodes
                    .iter()
                    .filter(|n| n.info.consumers.iter().any(|c| c.name == unit.unit.consumer))
                    .map(|n| n.info.node_id.as_str())
                    .collect();
                match &unit.owner {
                    Some(owner) => prop_assert!(eligible.contains(&owner.as_str()), "{unit:?} given to {owner}"),
                    None => prop_assert!(eligible.is_empty(), "{unit:?} left unassigned"),
                }
            }
            let all_run_all = nodes.iter().all(|n| n.info.consumers.len() == topology.consumers.len());
            if all_run_all && !nodes.is_empty() {
                let capacity = topology.units.len().div_ceil(nodes.len());
                prop_assert!(loads(&topology).values().all(|l| *l <= capacity));
            }
            prop_assert!(plan(&topology, &nodes, 0).is_empty(), "a settled topology must plan nothing");
        }
    }
}
