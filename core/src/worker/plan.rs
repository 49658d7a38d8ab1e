//! The leader's decisions, as a pure function of what the database holds.
//!
//! Assignment is sticky and moves as little as possible: a unit stays with its owner while the
//! owner is alive, still runs the consumer and holds no more than its fair share
//! (`ceil(units / nodes)`); every other unit goes to the least-loaded node that runs its
//! consumer. Partition counts follow the newest node (by registration time), and a change
//! drains the old partitions to a common position before the new ones start there.

use std::collections::{BTreeMap, BTreeSet};

use crate::worker::coordinator::{
    ConsumerSpec, FinishTransition, LiveNode, Plan, StartTransition, Topology, UnitId,
};

/// Plans creations, repartitionings and assignments. `safe_frontier` is where a repartitioning
/// that starts now drains to (every checkpoint is at or below it).
pub fn plan(topology: &Topology, nodes: &[LiveNode], safe_frontier: u64) -> Plan {
    let desired = desired_partitions(nodes);
    let mut plan = Plan::default();
    let known: BTreeSet<&str> = topology.consumers.iter().map(|c| c.name.as_str()).collect();
    for (name, partitions) in &desired {
        if !known.contains(name.as_str()) {
            plan.create.push(ConsumerSpec { name: name.clone(), partitions: *partitions });
        }
    }

    let mut removed: BTreeSet<(String, u32)> = BTreeSet::new();
    for consumer in &topology.consumers {
        let units = topology.units.iter().filter(|u| u.unit.consumer == consumer.name);
        match (consumer.transition, desired.get(&consumer.name)) {
            (Some(transition), _) => {
                let mut old = units.filter(|u| u.unit.partitions == transition.from_partitions);
                if old.all(|u| u.checkpoint >= transition.drain_position) {
                    removed.insert((consumer.name.clone(), transition.from_partitions));
                    plan.finish_transitions.push(FinishTransition {
                        consumer: consumer.name.clone(),
                        from_partitions: transition.from_partitions,
                        to_partitions: consumer.partitions,
                        drain_position: transition.drain_position,
                    });
                }
            }
            (None, Some(&wanted)) if wanted != consumer.partitions => {
                let drain_position = units.map(|u| u.checkpoint).fold(safe_frontier, u64::max);
                plan.start_transitions.push(StartTransition {
                    consumer: consumer.name.clone(),
                    from_partitions: consumer.partitions,
                    to_partitions: wanted,
                    drain_position,
                });
            }
            _ => {}
        }
    }

    let mut units: BTreeMap<UnitId, Option<String>> = topology
        .units
        .iter()
        .filter(|u| !removed.contains(&(u.unit.consumer.clone(), u.unit.partitions)))
        .map(|u| (u.unit.clone(), u.owner.clone()))
        .collect();
    let new_units = plan
        .create
        .iter()
        .map(|c| (c.name.clone(), c.partitions))
        .chain(plan.finish_transitions.iter().map(|f| (f.consumer.clone(), f.to_partitions)));
    for (name, partitions) in new_units {
        for partition in 0..partitions.max(1) {
            units.insert(UnitId::new(name.clone(), partitions.max(1), partition), None);
        }
    }
    plan.assign = assign(&units, nodes);
    plan
}

/// For each consumer any live node runs, the partition count of the newest such node.
fn desired_partitions(nodes: &[LiveNode]) -> BTreeMap<String, u32> {
    let mut newest: Vec<&LiveNode> = nodes.iter().collect();
    newest.sort_by(|a, b| (a.started_at, &a.info.node_id).cmp(&(b.started_at, &b.info.node_id)));
    let mut desired = BTreeMap::new();
    for node in newest {
        for consumer in &node.info.consumers {
            desired.insert(consumer.name.clone(), consumer.partitions.max(1));
        }
    }
    desired
}

/// Sticky, minimal-movement assignment within fair shares; returns only the changes.
fn assign(
    units: &BTreeMap<UnitId, Option<String>>,
    nodes: &[LiveNode],
) -> Vec<(UnitId, Option<String>)> {
    let runs =
        |node: &LiveNode, consumer: &str| node.info.consumers.iter().any(|c| c.name == consumer);
    let eligible: BTreeMap<&UnitId, Vec<&str>> = units
        .keys()
        .map(|unit| {
            let mut owners: Vec<&str> = nodes
                .iter()
                .filter(|n| runs(n, &unit.consumer))
                .map(|n| n.info.node_id.as_str())
                .collect();
            owners.sort_unstable();
            (unit, owners)
        })
        .collect();
    let workers: BTreeSet<&str> = eligible.values().flatten().copied().collect();
    let assignable = eligible.values().filter(|owners| !owners.is_empty()).count();
    let capacity = if workers.is_empty() { 0 } else { assignable.div_ceil(workers.len()) };

    let mut load: BTreeMap<&str, usize> = workers.iter().map(|w| (*w, 0)).collect();
    let mut target: BTreeMap<&UnitId, Option<&str>> = BTreeMap::new();
    for (unit, owner) in units {
        let keep = owner
            .as_deref()
            .filter(|o| eligible[unit].contains(o) && load.get(o).is_some_and(|l| *l < capacity));
        if let Some(owner) = keep
            && let Some(count) = load.get_mut(owner)
        {
            *count += 1;
            target.insert(unit, Some(owner));
        }
    }
    for unit in units.keys() {
        if target.contains_key(unit) {
            continue;
        }
        let choice = eligible[unit].iter().copied().min_by_key(|node| (load[node], *node));
        if let Some(node) = choice
            && let Some(count) = load.get_mut(node)
        {
            *count += 1;
        }
        target.insert(unit, choice);
    }
    units
        .iter()
        .filter(|(unit, owner)| target[unit] != owner.as_deref())
        .map(|(unit, _)| ((*unit).clone(), target[unit].map(str::to_owned)))
        .collect()
}

#[cfg(test)]
mod tests;
