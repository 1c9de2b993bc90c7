import type { RuledWorld } from './rules';

/**
 * EC2 stop and start (docs/aws-behaviour.md §1.6). Stopping keeps the container instance's
 * registration and its status (a DRAINING instance stays DRAINING): the tasks on it stop, the agent
 * disconnects; on start the agent reconnects to the same container instance. The state-change
 * events are `stopping`, `stopped`, then `pending`, `running`.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_container_instance_events.html
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-lifecycle.html
 *
 * Not modelled: an Auto Scaling group's health check marks a stopped member unhealthy and replaces
 * it; scenarios stop instances outside groups.
 */
export function stopInstance(world: RuledWorld, ec2InstanceId: string, reason = 'Host EC2 instance stopped'): boolean {
  const ec2 = world.ec2.get(ec2InstanceId);
  if (!ec2 || ec2.state !== 'running') return false;
  ec2.state = 'stopping';
  world.record('instance', 'instance stopping', { ec2InstanceId });
  world.emit('EC2 Instance State-change Notification', [ec2InstanceId], { 'instance-id': ec2InstanceId, state: 'stopping' });
  const instance = world.containerInstanceOf(ec2InstanceId);
  if (instance && instance.status !== 'INACTIVE') {
    const cluster = world.clusters.get(instance.cluster)!;
    for (const task of world.unstoppedTasksOn(instance)) {
      world.rules.ecs.kill(cluster, task);
      task.stoppedReason = reason;
    }
    instance.agentConnected = false;
    instance.version += 1;
    world.rules.ecs.requestSchedulerPass(cluster.name);
  }
  world.clock.schedule(world.now() + world.timings.shutdownMs, () => {
    if (ec2.state !== 'stopping') return;
    ec2.state = 'stopped';
    world.record('instance', 'instance stopped', { ec2InstanceId });
    world.emit('EC2 Instance State-change Notification', [ec2InstanceId], { 'instance-id': ec2InstanceId, state: 'stopped' });
  });
  return true;
}

/** Starts a stopped instance: `pending` now, `running` after the boot time, and the agent reconnects. */
export function startInstance(world: RuledWorld, ec2InstanceId: string): boolean {
  const ec2 = world.ec2.get(ec2InstanceId);
  if (!ec2 || ec2.state !== 'stopped') return false;
  ec2.state = 'pending';
  world.emit('EC2 Instance State-change Notification', [ec2InstanceId], { 'instance-id': ec2InstanceId, state: 'pending' });
  world.clock.schedule(world.now() + world.timings.bootMs, () => {
    if (ec2.state !== 'pending') return;
    ec2.state = 'running';
    const instance = world.containerInstanceOf(ec2InstanceId);
    if (instance && instance.status !== 'INACTIVE') {
      instance.agentConnected = true;
      instance.version += 1;
      world.rules.ecs.requestSchedulerPass(instance.cluster);
    }
    world.record('instance', 'instance running again', { ec2InstanceId, status: instance?.status });
    world.emit('EC2 Instance State-change Notification', [ec2InstanceId], { 'instance-id': ec2InstanceId, state: 'running' });
  });
  return true;
}
