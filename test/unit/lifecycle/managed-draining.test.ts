import { groupNameOf, toViews } from '../../../lib/aws/capacity-providers';
import type { ClassifiedTask } from '../../../lib/aws/tasks';
import { loadLifecycleConfig } from '../../../lib/lifecycle/config';
import {
  FRESH_ROUND,
  decideLifecycleStep,
  type ChainState,
  type LifecycleDecisionConfig,
  type LifecycleSnapshot,
  type LifecycleStep,
  type RoundProgress,
} from '../../../lib/lifecycle/decide';
import { defersToManagedDraining, hasManagedDrainingHook, managedDrainingOf, type ManagedDrainingView } from '../../../lib/lifecycle/managed-draining';
import { isRetainedState, retainedNotice } from '../../../lib/lifecycle/retained';

/**
 * Groups ECS drains itself (managed draining) and instances a group retains (docs/aws-behaviour.md
 * §3.4, §3.5): the pure rules, and the decision's rows that use them.
 */
const T0 = Date.parse('2026-03-04T10:20:11.210Z');
const S = 1000;
const CI_ARN = 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0d3cf3c5a4b84e7b9a3d1e2f4b5c6d7e';
const ACTION = { autoScalingGroupName: 'cp-asg', lifecycleHookName: 'ecs-drain-hook', instanceId: 'i-05629ab7d9287e205', lifecycleActionToken: '465e0162-e6af-4786-b4e8-bb544ae58790' };

const config: LifecycleDecisionConfig = {
  standaloneTasks: 'wait',
  pollIntervalSeconds: 10,
  drainTimeoutSeconds: 900,
  deadlineResult: 'CONTINUE',
  maxHops: 100,
  daemonGraceSeconds: 120,
  dryRun: false,
};

const chain: ChainState = {
  chainId: 'chain-0001',
  attempt: 0,
  firstSeenAt: T0,
  lastHeartbeatAt: T0,
  heartbeatTimeoutSeconds: 600,
  globalTimeoutSeconds: 60_000,
  cluster: 'prod',
  containerInstanceArn: CI_ARN,
  notification: {
    LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    AutoScalingGroupName: ACTION.autoScalingGroupName,
    LifecycleHookName: ACTION.lifecycleHookName,
    EC2InstanceId: ACTION.instanceId,
    LifecycleActionToken: ACTION.lifecycleActionToken,
  },
};

const running: ClassifiedTask = {
  taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/prod/web1',
  lastStatus: 'RUNNING',
  desiredStatus: 'RUNNING',
  group: 'service:web',
  serviceName: 'web',
  cpu: 256,
  memory: 512,
  origin: 'service',
};

function snapshot(overrides: Partial<LifecycleSnapshot>): LifecycleSnapshot {
  return { instance: { status: 'ACTIVE' }, tasks: [], actionOver: false, lease: { mine: 'lease-mine', claimed: false }, invocationEndsAt: T0 + 800 * S, ...overrides };
}

const NOW = T0 + 2 * S;
const deferred = { kind: 'complete', result: 'CONTINUE', reason: 'managed-draining', action: ACTION } as const;
const drain = { kind: 'drain', reason: 'instance-active', cluster: 'prod', containerInstanceArn: CI_ARN, pauseAfterMs: 0 } as const;

describe('defersToManagedDraining', () => {
  it.each<[ManagedDrainingView | undefined, 'defer' | 'drain-anyway' | undefined, boolean]>([
    ['enabled', 'defer', true],
    ['enabled', undefined, true],
    ['enabled', 'drain-anyway', false],
    ['disabled', 'defer', false],
    // A failed read (AccessDenied, throttled) drains as without a capacity provider.
    ['unknown', 'defer', false],
    // Not read: a later round continues the first round's choice.
    [undefined, 'defer', false],
  ])('managed draining %s, MANAGED_DRAINING=%s: defers %s', (view, mode, expected) => {
    expect(defersToManagedDraining(view, mode)).toBe(expected);
  });
});

describe('managedDrainingOf, hasManagedDrainingHook', () => {
  const providers = [
    { name: 'cp-a', autoScalingGroupName: 'cp-asg', managedScaling: true, managedTerminationProtection: false, managedDraining: true },
    { name: 'cp-b', autoScalingGroupName: 'other-asg', managedScaling: false, managedTerminationProtection: false, managedDraining: false },
  ];

  it('is enabled only for the group whose provider has managed draining; a group without a provider is disabled', () => {
    expect(managedDrainingOf(providers, 'cp-asg')).toBe('enabled');
    expect(managedDrainingOf(providers, 'other-asg')).toBe('disabled');
    expect(managedDrainingOf(providers, 'plain-asg')).toBe('disabled');
    expect(managedDrainingOf([], 'cp-asg')).toBe('disabled');
  });

  it('knows ECS’s hook by its name', () => {
    expect(hasManagedDrainingHook(['ecs-drain-hook', 'ecs-managed-draining-termination-hook'])).toBe(true);
    expect(hasManagedDrainingHook(['ecs-drain-hook'])).toBe(false);
  });
});

describe('capacity provider views (lib/aws/capacity-providers.ts)', () => {
  it('names the group from an ARN or a name; skips providers without a group (FARGATE)', () => {
    expect(groupNameOf('arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:7a1b:autoScalingGroupName/cp-asg')).toBe('cp-asg');
    expect(groupNameOf('cp-asg')).toBe('cp-asg');
    expect(
      toViews([
        { name: 'FARGATE' },
        {
          name: 'cp',
          autoScalingGroupProvider: {
            autoScalingGroupArn: 'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:7a1b:autoScalingGroupName/cp-asg',
            managedScaling: { status: 'ENABLED' },
            managedTerminationProtection: 'ENABLED',
            managedDraining: 'DISABLED',
          },
        },
      ]),
    ).toEqual([{ name: 'cp', autoScalingGroupName: 'cp-asg', managedScaling: true, managedTerminationProtection: true, managedDraining: false }]);
  });
});

interface Row {
  name: string;
  snapshot: Partial<LifecycleSnapshot>;
  config?: Partial<LifecycleDecisionConfig>;
  round?: Partial<RoundProgress>;
  expected: LifecycleStep;
}

const rows: Row[] = [
  { name: 'managed draining on: completes at once with CONTINUE, no DRAINING of ours', snapshot: { managedDraining: 'enabled' }, expected: deferred },
  {
    name: 'managed draining on, the instance already DRAINING (ECS was first) with tasks running: completes at once',
    snapshot: { managedDraining: 'enabled', instance: { status: 'DRAINING' }, tasks: [running] },
    expected: deferred,
  },
  { name: 'managed draining on, MANAGED_DRAINING=drain-anyway: drains as usual', snapshot: { managedDraining: 'enabled' }, config: { managedDraining: 'drain-anyway' }, expected: drain },
  { name: 'managed draining off: drains as usual', snapshot: { managedDraining: 'disabled' }, expected: drain },
  { name: 'capacity providers not read (failed): drains as usual', snapshot: { managedDraining: 'unknown' }, expected: drain },
  { name: 'managed draining on, but the container instance is gone: completes as instance-gone', snapshot: { managedDraining: 'enabled', instance: { status: 'INACTIVE' } }, expected: { ...deferred, reason: 'instance-gone' } },
  { name: 'managed draining on, the action already over: ends', snapshot: { managedDraining: 'enabled', actionOver: true }, expected: { kind: 'end', reason: 'action-over' } },
  {
    name: 'dry run: reports the completion it would make',
    snapshot: { managedDraining: 'enabled' },
    config: { dryRun: true },
    expected: { kind: 'dry-run', reason: 'managed-draining', wouldDo: deferred },
  },
  {
    name: 'instance found in Terminating:Retained: ends the chain (no requeue, no write)',
    snapshot: { instance: { status: 'DRAINING' }, tasks: [running], groupState: 'Terminating:Retained', groupName: 'cp-asg' },
    expected: { kind: 'end', reason: 'retained' },
  },
  {
    name: 'a warm pool instance retained: ends the chain too',
    snapshot: { instance: { status: 'DRAINING' }, groupState: 'Warmed:Terminating:Retained' },
    round: { waitConfirmed: false },
    expected: { kind: 'end', reason: 'retained' },
  },
];

describe('decideLifecycleStep: managed draining and retained instances', () => {
  it.each(rows.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const step = decideLifecycleStep(snapshot(row.snapshot), chain, NOW, { ...config, ...row.config }, { ...FRESH_ROUND, waitConfirmed: true, ...row.round });
    expect(step).toEqual(row.expected);
  });
});

describe('retained instances', () => {
  it('knows the retained states', () => {
    expect(['Terminating:Retained', 'Warmed:Terminating:Retained', 'Terminating:Proceed', 'InService', undefined].map(isRetainedState)).toEqual([true, true, false, false, false]);
  });

  it('tells the operator the instance is drained, still running, and how to terminate it', () => {
    const base = { function: 'lifecycleHook' as const, resources: ['i-0abc'], context: { cluster: 'prod' }, threadId: 'drain-i-0abc' };
    const notice = retainedNotice({ ec2InstanceId: 'i-0abc', autoScalingGroupName: 'asg' }, 'abandoned', base);
    expect(notice).toMatchObject({ type: 'retained', threadId: 'drain-i-0abc', context: { cluster: 'prod', retained: 'abandoned' } });
    expect(notice.title).toBe('i-0abc is retained by group asg: drained, terminate it yourself');
    expect(notice.description.join('\n')).toMatch(/Terminating:Retained/);
    expect(notice.nextSteps?.at(-1)).toContain('terminate-instance-in-auto-scaling-group --instance-id i-0abc');
    expect(retainedNotice({ ec2InstanceId: 'i-0abc', autoScalingGroupName: 'asg' }, 'possibly', base).title).toMatch(/may be retained/);
  });
});

describe('MANAGED_DRAINING', () => {
  it('defaults to defer, takes drain-anyway, refuses anything else', () => {
    expect(loadLifecycleConfig({ CLUSTERS: 'prod' }).managedDraining).toBe('defer');
    expect(loadLifecycleConfig({ CLUSTERS: 'prod', MANAGED_DRAINING: 'drain-anyway' }).managedDraining).toBe('drain-anyway');
    expect(() => loadLifecycleConfig({ CLUSTERS: 'prod', MANAGED_DRAINING: 'ignore' })).toThrow(/MANAGED_DRAINING/);
  });
});
