//! Being a node: heartbeats, and running exactly the units assigned to this node.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::spi::Coordinator;
use crate::worker::context::Context;
use crate::worker::coordinator::UnitId;
use crate::worker::unit;
use crate::{Database, EventStore};

pub(crate) async fn heartbeats<D, S, C>(ctx: Arc<Context<D, S, C>>)
where
    D: Database,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    while ctx.pause(ctx.config.heartbeat_interval).await {
        if let Err(err) = ctx.coordinator.heartbeat(&ctx.node).await {
            tracing::warn!(error = %err, "heartbeat failed");
        }
    }
}

/// Starts a loop for every unit assigned here, stops those moved away, and on shutdown stops
/// them all and waits for their in-flight batches.
pub(crate) async fn run_units<D, S, C>(ctx: Arc<Context<D, S, C>>)
where
    D: Database,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    let mut running: HashMap<UnitId, (u64, watch::Sender<bool>)> = HashMap::new();
    let mut loops: JoinSet<(UnitId, u64)> = JoinSet::new();
    let mut stopping = ctx.stopping.subscribe();
    loop {
        match ctx.coordinator.assignments_of(&ctx.node.node_id).await {
            Ok(assignments) => {
                let wanted: HashMap<UnitId, u64> = assignments
                    .into_iter()
                    .filter(|a| ctx.consumers.contains_key(&a.unit.consumer))
                    .map(|a| (a.unit, a.epoch))
                    .collect();
                running.retain(|unit, (epoch, stop)| {
                    let keep = wanted.get(unit) == Some(epoch);
                    if !keep {
                        let _ = stop.send(true);
                    }
                    keep
                });
                for (unit, epoch) in wanted {
                    if running.contains_key(&unit) {
                        continue;
                    }
                    let (stop, stopped) = watch::channel(false);
                    let assignment = crate::spi::Assignment { unit: unit.clone(), epoch };
                    let task_ctx = Arc::clone(&ctx);
                    let key = unit.clone();
                    loops.spawn(async move {
                        unit::run(task_ctx, assignment, stopped).await;
                        (key, epoch)
                    });
                    running.insert(unit, (epoch, stop));
                }
            }
            Err(err) => tracing::warn!(error = %err, "could not read assignments"),
        }
        tokio::select! {
            () = tokio::time::sleep(ctx.config.heartbeat_interval) => {}
            () = ctx.reassigned.notified() => {}
            _ = stopping.changed() => break,
            Some(Ok((unit, epoch))) = loops.join_next() => {
                if running.get(&unit).is_some_and(|(current, _)| *current == epoch) {
                    running.remove(&unit);
                }
            }
        }
    }
    for (_, stop) in running.values() {
        let _ = stop.send(true);
    }
    while loops.join_next().await.is_some() {}
}
