//! Leadership: hold the lease, and while holding it keep the assignments right.

use std::sync::Arc;

use crate::spi::Coordinator;
use crate::worker::context::Context;
use crate::worker::coordinator::Lease;
use crate::worker::{metrics, plan};
use crate::{Database, EventStore, WorkerError};

pub(crate) async fn run<D, S, C>(ctx: Arc<Context<D, S, C>>)
where
    D: Database,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    let node = ctx.node.node_id.clone();
    let mut lease: Option<Lease> = None;
    loop {
        match ctx.coordinator.acquire_lease(&node, ctx.config.lease_duration).await {
            Ok(Some(held)) => {
                if lease.as_ref().map(|l| l.epoch) != Some(held.epoch) {
                    metrics::leader_change();
                    tracing::info!(node = %node, epoch = held.epoch, "became leader");
                }
                if let Err(err) = rebalance(&ctx, &held).await {
                    tracing::warn!(error = %err, "rebalance failed");
                }
                lease = Some(held);
            }
            Ok(None) => {
                if lease.take().is_some() {
                    tracing::info!(node = %node, "lost leadership");
                }
            }
            Err(err) => tracing::warn!(error = %err, "could not acquire or renew the leader lease"),
        }
        if !ctx.pause(ctx.config.heartbeat_interval).await {
            break;
        }
    }
    if let Some(lease) = lease
        && let Err(err) = ctx.coordinator.release_lease(&lease).await
    {
        tracing::warn!(error = %err, "could not release the leader lease");
    }
}

async fn rebalance<D, S, C>(ctx: &Context<D, S, C>, lease: &Lease) -> Result<(), WorkerError>
where
    D: Database,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    let nodes = ctx.coordinator.live_nodes(ctx.config.heartbeat_timeout).await?;
    let topology = ctx.coordinator.topology().await?;
    let mut tx = ctx.db.begin_read().await?;
    let frontier = ctx.store.safe_frontier(&mut tx).await?;
    ctx.db.rollback(tx).await?;
    let plan = plan::plan(&topology, &nodes, frontier);
    if plan.is_empty() {
        return Ok(());
    }
    if ctx.coordinator.apply_plan(lease, &plan).await? {
        metrics::rebalance();
        tracing::info!(
            created = plan.create.len(),
            moved = plan.assign.len(),
            repartitions_started = plan.start_transitions.len(),
            repartitions_finished = plan.finish_transitions.len(),
            "assignments rebalanced"
        );
        ctx.reassigned.notify_one();
    }
    Ok(())
}
