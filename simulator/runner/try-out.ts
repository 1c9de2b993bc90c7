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

const FIXTURE = join(__dirname, '..', '..', 'events', 'lifecycle-terminating.json');

/**
 * The fixture's notification, and the topic it arrived on: the served world's lifecycle topic, so a
 * requeue published by `invoke local` (to the topic the record names) lands in the served world.
 */
export function tryOutAction(): TryOutAction & { message: string; subject: string; topicName: string } {
  const record = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { Records: { Sns: { Message: string; Subject: string; TopicArn: string } }[] }).Records[0]!;
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
