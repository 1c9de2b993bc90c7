import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACCOUNT, type SnsRecord } from '../world/model';
import type { World } from '../world/world';

/** The notification events/lifecycle-terminating.json carries: the action the served world holds open. */
export interface TryOutAction {
  group: string;
  hook: string;
  instanceId: string;
  token: string;
}

const EVENTS = join(__dirname, '..', '..', 'events');
const FIXTURE = join(EVENTS, 'lifecycle-terminating.json');
const LAUNCH_FIXTURE = join(EVENTS, 'lifecycle-launching.json');

/**
 * The fixture's notification, and the topic it arrived on: the served world's lifecycle topic, so a
 * requeue published by `invoke local` (to the topic the record names) lands in the served world.
 */
export function tryOutAction(file = FIXTURE): TryOutAction & { message: string; subject: string; topicName: string } {
  const record = (JSON.parse(readFileSync(file, 'utf8')) as { Records: { Sns: { Message: string; Subject: string; TopicArn: string } }[] }).Records[0]!;
  const message = JSON.parse(record.Sns.Message) as Record<string, string>;
  return {
    group: message.AutoScalingGroupName!,
    hook: message.LifecycleHookName!,
    instanceId: message.EC2InstanceId!,
    token: message.LifecycleActionToken!,
    message: record.Sns.Message,
    subject: record.Sns.Subject,
    topicName: record.Sns.TopicArn.split(':').pop()!,
  };
}

/**
 * For `--serve`: the group, hook and instance that events/lifecycle-terminating.json names, in
 * `cluster`, with the instance held in Terminating:Wait by an open lifecycle action whose token is
 * the fixture's, so the README's `serverless invoke local -f lifecycleHook -p
 * events/lifecycle-terminating.json` drains and completes a real action. AWS chooses tokens, so the
 * world's action is given the fixture's token after it starts, and the notification is the fixture's
 * (published once the token agrees, so what the simulator shows as published is what was invoked).
 * The instance joins after the scenario's tasks were placed: it runs only the daemon services.
 */
export function openTryOutAction(world: World, cluster: string, topicArn: string): TryOutAction {
  const action = tryOutAction();
  if (world.groups.has(action.group) || world.ec2.has(action.instanceId)) return action;
  world.createGroup({ name: action.group, cluster, minSize: 0, maxSize: 2, desiredCapacity: 1, instanceCpu: 2048, instanceMemory: 4096, instanceIds: [action.instanceId] });
  const hook = world.putLifecycleHook({ groupName: action.group, name: action.hook, heartbeatTimeout: 600, defaultResult: 'CONTINUE' });
  world.callSync('autoscaling', 'TerminateInstanceInAutoScalingGroup', { InstanceId: action.instanceId, ShouldDecrementDesiredCapacity: true });
  const started = [...world.lifecycleActions.values()].find((candidate) => candidate.instanceId === action.instanceId && candidate.state === 'active');
  if (!started) throw new Error(`the try-out instance ${action.instanceId} is not waiting in a lifecycle action`);
  world.lifecycleActions.delete(started.token);
  started.token = action.token;
  world.lifecycleActions.set(started.token, started);
  hook.topicArn = topicArn;
  hook.roleArn = `arn:aws:iam::${ACCOUNT}:role/autoscaling-notification`;
  world.rules.sns.publish(topicArn, action.message, action.subject);
  return action;
}

/** The notification events/lifecycle-launching.json carries. */
export const launchTryOutAction = () => tryOutAction(LAUNCH_FIXTURE);

/**
 * For `--serve`, after openTryOutAction: the launch hook and instance events/lifecycle-launching.json
 * names, in the same group, held in Pending:Wait by an open launch action with the fixture's token.
 * The instance has booted: its container instance is ACTIVE in `cluster` with its daemon tasks
 * RUNNING, so `serverless invoke local -f lifecycleHook -p events/lifecycle-launching.json` finds it
 * ready and completes the action with CONTINUE.
 */
export function openLaunchTryOutAction(world: World, cluster: string, topicArn: string): TryOutAction {
  const action = launchTryOutAction();
  const group = world.groups.get(action.group);
  if (!group || world.ec2.has(action.instanceId)) return action;
  const hook = world.putLifecycleHook({ groupName: group.name, name: action.hook, transition: 'autoscaling:EC2_INSTANCE_LAUNCHING', heartbeatTimeout: 300, defaultResult: 'CONTINUE' });
  world.addInstance({ cluster, cpu: group.instanceCpu, memory: group.instanceMemory, instanceType: group.instanceType, groupName: group.name, id: action.instanceId });
  const member = { id: action.instanceId, lifecycleState: 'Pending' as const, healthStatus: 'Healthy' as const, protectedFromScaleIn: false, launchedAt: world.now() };
  group.instances.set(member.id, member);
  group.maxSize += 1;
  group.desiredCapacity += 1;
  world.rules.autoScaling.holdForLaunch(group, member);
  // Its daemon tasks, RUNNING at once, as on an instance that booted a minute ago.
  world.placeInitialTasks();
  const started = [...world.lifecycleActions.values()].find((candidate) => candidate.instanceId === action.instanceId && candidate.state === 'active');
  if (!started) throw new Error(`the try-out instance ${action.instanceId} is not waiting in a launch action`);
  world.lifecycleActions.delete(started.token);
  started.token = action.token;
  world.lifecycleActions.set(started.token, started);
  hook.topicArn = topicArn;
  hook.roleArn = `arn:aws:iam::${ACCOUNT}:role/autoscaling-notification`;
  world.rules.sns.publish(topicArn, action.message, action.subject);
  return action;
}

/**
 * Records what the world publishes to `topicArn` (Auto Scaling's notifications, the drainer's
 * requeue messages) and returns the `/_sim/published` view: the records as one SNS event, which
 * `serverless invoke local -p` takes as it is, so a requeue loop can be followed by hand.
 * `?last=<n>` keeps the newest n.
 */
export function publishedView(world: World, topicArn: string, onPublish: (record: SnsRecord) => void = () => undefined) {
  const records: SnsRecord[] = [];
  world.subscribe(topicArn, (record) => {
    records.push(record);
    onPublish(record);
  });
  return (query: URLSearchParams): { Records: SnsRecord[] } => {
    const last = Number(query.get('last'));
    return { Records: Number.isInteger(last) && last > 0 ? records.slice(-last) : [...records] };
  };
}
