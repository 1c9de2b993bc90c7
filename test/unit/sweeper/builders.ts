import type { GroupView } from '../../../lib/aws/autoscaling';
import type { ClusterSnapshot, PlanSettings, SnapshotInstance } from '../../../lib/sweeper/types';

export const NOW = Date.parse('2026-03-04T12:00:00.000Z');
export const minutesAgo = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();

export const settings = (overrides: Partial<PlanSettings> = {}): PlanSettings => ({
  autoScalingGroups: [],
  minIdleMinutes: 30,
  minFreeCpu: 0,
  minFreeMemory: 0,
  maxRemovalsPerRun: 2,
  consolidate: false,
  schedulableTaskCpu: 256,
  schedulableTaskMemory: 512,
  ...overrides,
});

let counter = 0;
/** An ACTIVE, connected, idle (for two hours), unprotected 2 vCPU / 4 GiB instance in group "asg". */
export function instance(overrides: Partial<SnapshotInstance> = {}, id?: string): SnapshotInstance {
  counter += 1;
  const suffix = id ?? counter.toString(16).padStart(8, '0');
  const ec2InstanceId = overrides.ec2InstanceId ?? `i-${suffix.padStart(17, '0')}`;
  return {
    cluster: 'prod',
    containerInstanceArn: `arn:aws:ecs:us-east-1:123456789012:container-instance/prod/${suffix}`,
    ec2InstanceId,
    status: 'ACTIVE',
    agentConnected: true,
    runningTasksCount: 0,
    pendingTasksCount: 0,
    registeredCpu: 2048,
    registeredMemory: 4096,
    remainingCpu: 2048,
    remainingMemory: 4096,
    registeredAt: '2026-03-01T00:00:00.000Z',
    attributes: { 'ecs-ec2-keeper.idle-since': minutesAgo(120) },
    group: { instanceId: ec2InstanceId, autoScalingGroupName: 'asg', lifecycleState: 'InService', protectedFromScaleIn: false, healthStatus: 'HEALTHY' },
    ...overrides,
  };
}

export const group = (name: string, minSize: number, desiredCapacity: number, maxSize = 100): GroupView => ({
  autoScalingGroupName: name,
  autoScalingGroupArn: `arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:uuid:autoScalingGroupName/${name}`,
  minSize,
  desiredCapacity,
  maxSize,
});

export const snapshot = (instances: SnapshotInstance[], groups: GroupView[] = [group('asg', 0, 10)]): ClusterSnapshot => ({
  cluster: 'prod',
  instances,
  groups: Object.fromEntries(groups.map((entry) => [entry.autoScalingGroupName, entry])),
  daemonServices: [],
});

/** A busy instance: one service task of the given size, read from ListTasks/DescribeTasks. */
export function busy(cpu: number, memory: number, overrides: Partial<SnapshotInstance> = {}, id?: string): SnapshotInstance {
  return instance(
    {
      runningTasksCount: 1,
      remainingCpu: 2048 - cpu,
      remainingMemory: 4096 - memory,
      attributes: {},
      workload: { nonDaemon: [{ taskArn: `task-${id ?? cpu}-${memory}`, origin: 'service', cpu, memory }], daemonTasks: 0 },
      ...overrides,
    },
    id,
  );
}
