/**
 * An in-memory ECS / Auto Scaling / CloudWatch for the sweeper's handler tests and benchmark,
 * answered through aws-sdk-client-mock. It keeps state (attributes, statuses, desired capacity), so
 * a test can run the sweeper several times and look at the end state, and it enforces the request
 * limits the sweeper must respect (100 container instances or tasks per describe, 10 per state
 * update or attribute call, 50 Auto Scaling instances, 1000 metric datums), answering as AWS does.
 */
import {
  AutoScalingClient,
  AutoScalingServiceException,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import {
  DeleteAttributesCommand,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ECSClient,
  ECSServiceException,
  ListClustersCommand,
  ListContainerInstancesCommand,
  ListServicesCommand,
  ListTasksCommand,
  PutAttributesCommand,
  UpdateContainerInstancesStateCommand,
  type ContainerInstance,
  type Task,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

export interface FakeInstance {
  id: string; // container instance id (the ARN's last segment)
  ec2InstanceId: string;
  status: string;
  agentConnected: boolean;
  registeredCpu: number;
  registeredMemory: number;
  registeredAt: Date;
  attributes: Record<string, string>;
}

export interface FakeTask {
  id: string;
  instanceId: string; // container instance id
  group: string; // service:<name> or family:<name>
  cpu?: number;
  memory?: number;
  desiredStatus: 'RUNNING' | 'STOPPED';
  lastStatus: 'PENDING' | 'RUNNING' | 'STOPPED';
}

export interface FakeGroupMember {
  group: string;
  lifecycleState: string;
  protectedFromScaleIn: boolean;
}

export class FakeAws {
  readonly ecsMock = mockClient(ECSClient);
  readonly autoScalingMock = mockClient(AutoScalingClient);
  readonly cloudWatchMock = mockClient(CloudWatchClient);

  readonly instances = new Map<string, FakeInstance[]>(); // by cluster
  readonly tasks = new Map<string, FakeTask[]>(); // by cluster
  readonly daemonServices = new Map<string, string[]>(); // by cluster
  readonly members = new Map<string, FakeGroupMember>(); // by EC2 instance id
  readonly groups = new Map<string, { min: number; desired: number; max: number }>();
  readonly metricData: { namespace: string; data: MetricDatum[] }[] = [];
  /** Calls answered with ThrottlingException by operation name (the fault a test injects). */
  readonly throttle = new Set<string>();
  /** Runs before the fake answers an operation, with the operation's call number (1-based): a change between calls. */
  readonly hooks = new Map<string, (callNumber: number) => void>();
  private readonly callNumbers = new Map<string, number>();
  /**
   * A copy of every request as it was sent. The SDK's paginators reuse one input object across
   * pages, so the mocks' own call records all show the last page's token.
   */
  readonly requests: { operation: string; input: Record<string, unknown> }[] = [];

  constructor() {
    this.install();
  }

  reset(): void {
    this.callNumbers.clear();
    this.hooks.clear();
    this.requests.length = 0;
    this.ecsMock.reset();
    this.autoScalingMock.reset();
    this.cloudWatchMock.reset();
    this.install();
  }

  /** Resets the mocks and empties the world, for building a new one. */
  clear(): void {
    this.reset();
    this.instances.clear();
    this.tasks.clear();
    this.daemonServices.clear();
    this.members.clear();
    this.groups.clear();
    this.metricData.length = 0;
  }

  restore(): void {
    this.ecsMock.restore();
    this.autoScalingMock.restore();
    this.cloudWatchMock.restore();
  }

  clients() {
    const config = { region: REGION, maxAttempts: 1, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
    return { ecs: new ECSClient(config), autoScaling: new AutoScalingClient(config), cloudWatch: new CloudWatchClient(config) };
  }

  arn(cluster: string, id: string): string {
    return `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/${cluster}/${id}`;
  }

  taskArn(cluster: string, id: string): string {
    return `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${cluster}/${id}`;
  }

  instance(cluster: string, ec2InstanceId: string): FakeInstance | undefined {
    return this.instances.get(cluster)?.find((candidate) => candidate.ec2InstanceId === ec2InstanceId);
  }

  /** Every call by operation name, across the three clients. */
  callsByOperation(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const mock of [this.ecsMock, this.autoScalingMock, this.cloudWatchMock]) {
      for (const call of mock.calls()) {
        const name = (call.args[0] as object).constructor.name.replace(/Command$/, '');
        counts[name] = (counts[name] ?? 0) + 1;
      }
    }
    return counts;
  }

  private enter(operation: string, input: Record<string, unknown>): void {
    this.requests.push({ operation, input: structuredClone(input) });
    const callNumber = (this.callNumbers.get(operation) ?? 0) + 1;
    this.callNumbers.set(operation, callNumber);
    this.hooks.get(operation)?.(callNumber);
    if (this.throttle.has(operation)) {
      throw new ECSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });
    }
  }

  private clusterKey(cluster: string | undefined): string {
    const name = (cluster ?? 'default').split('/').pop() ?? '';
    if (!this.instances.has(name)) {
      throw new ECSServiceException({ name: 'ClusterNotFoundException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Cluster not found.' });
    }
    return name;
  }

  private invalid(message: string): never {
    throw new ECSServiceException({ name: 'InvalidParameterException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message });
  }

  private used(cluster: string, instanceId: string): { cpu: number; memory: number; running: number; pending: number } {
    const used = { cpu: 0, memory: 0, running: 0, pending: 0 };
    for (const task of this.tasks.get(cluster) ?? []) {
      if (task.instanceId !== instanceId || task.lastStatus === 'STOPPED') continue;
      used.cpu += task.cpu ?? 0;
      used.memory += task.memory ?? 0;
      if (task.desiredStatus === 'RUNNING') {
        if (task.lastStatus === 'PENDING') used.pending += 1;
        else used.running += 1;
      }
    }
    return used;
  }

  private toContainerInstance(cluster: string, instance: FakeInstance): ContainerInstance {
    const used = this.used(cluster, instance.id);
    return {
      containerInstanceArn: this.arn(cluster, instance.id),
      ec2InstanceId: instance.ec2InstanceId,
      status: instance.status,
      agentConnected: instance.agentConnected,
      runningTasksCount: used.running,
      pendingTasksCount: used.pending,
      registeredAt: instance.registeredAt,
      registeredResources: [
        { name: 'CPU', type: 'INTEGER', integerValue: instance.registeredCpu },
        { name: 'MEMORY', type: 'INTEGER', integerValue: instance.registeredMemory },
      ],
      remainingResources: [
        { name: 'CPU', type: 'INTEGER', integerValue: instance.registeredCpu - used.cpu },
        { name: 'MEMORY', type: 'INTEGER', integerValue: instance.registeredMemory - used.memory },
      ],
      attributes: [
        { name: 'ecs.instance-type', value: 'c6g.large' },
        ...Object.entries(instance.attributes).map(([name, value]) => ({ name, value })),
      ],
    };
  }

  private findInstance(cluster: string, reference: string): FakeInstance | undefined {
    const id = reference.split('/').pop();
    return this.instances.get(cluster)?.find((candidate) => candidate.id === id);
  }

  private page<T>(items: T[], maxResults: number | undefined, nextToken: string | undefined) {
    const size = maxResults ?? 100;
    if (size < 1 || size > 100) this.invalid('maxResults must be between 1 and 100');
    const start = nextToken ? Number(nextToken.replace('token-', '')) : 0;
    const slice = items.slice(start, start + size);
    const next = start + size < items.length ? `token-${start + size}` : undefined;
    return { slice, next };
  }

  private install(): void {
    const ecs = this.ecsMock;
    ecs.on(ListClustersCommand).callsFake(() => ({
      clusterArns: [...this.instances.keys()].map((name) => `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${name}`),
    }));
    ecs.on(ListContainerInstancesCommand).callsFake((input) => {
      this.enter('ListContainerInstances', input);
      const cluster = this.clusterKey(input.cluster);
      const listed = (this.instances.get(cluster) ?? []).filter((instance) => instance.status !== 'INACTIVE');
      const { slice, next } = this.page(listed, input.maxResults, input.nextToken);
      return { containerInstanceArns: slice.map((instance) => this.arn(cluster, instance.id)), ...(next ? { nextToken: next } : {}) };
    });
    ecs.on(DescribeContainerInstancesCommand).callsFake((input) => {
      this.enter('DescribeContainerInstances', input);
      const cluster = this.clusterKey(input.cluster);
      const references: string[] = input.containerInstances ?? [];
      if (references.length > 100) this.invalid('containerInstances can have at most 100 items');
      const containerInstances: ContainerInstance[] = [];
      const failures: { arn: string; reason: string }[] = [];
      for (const reference of references) {
        const instance = this.findInstance(cluster, reference);
        if (instance) containerInstances.push(this.toContainerInstance(cluster, instance));
        else failures.push({ arn: reference, reason: 'MISSING' });
      }
      return { containerInstances, failures };
    });
    ecs.on(ListServicesCommand).callsFake((input) => {
      this.enter('ListServices', input);
      const cluster = this.clusterKey(input.cluster);
      const names = input.schedulingStrategy === 'REPLICA' ? [] : (this.daemonServices.get(cluster) ?? []);
      const { slice, next } = this.page(names, input.maxResults, input.nextToken);
      return {
        serviceArns: slice.map((name) => `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster}/${name}`),
        ...(next ? { nextToken: next } : {}),
      };
    });
    ecs.on(ListTasksCommand).callsFake((input) => {
      this.enter('ListTasks', input);
      const cluster = this.clusterKey(input.cluster);
      const desired = input.desiredStatus ?? 'RUNNING';
      const instanceId = input.containerInstance ? String(input.containerInstance).split('/').pop() : undefined;
      const tasks = (this.tasks.get(cluster) ?? []).filter(
        (task) => task.desiredStatus === desired && (instanceId === undefined || task.instanceId === instanceId),
      );
      const { slice, next } = this.page(tasks, input.maxResults, input.nextToken);
      return { taskArns: slice.map((task) => this.taskArn(cluster, task.id)), ...(next ? { nextToken: next } : {}) };
    });
    ecs.on(DescribeTasksCommand).callsFake((input) => {
      this.enter('DescribeTasks', input);
      const cluster = this.clusterKey(input.cluster);
      const references: string[] = input.tasks ?? [];
      if (references.length > 100) this.invalid('tasks can have at most 100 items');
      const tasks: Task[] = [];
      const byId = new Map((this.tasks.get(cluster) ?? []).map((task) => [task.id, task]));
      for (const reference of references) {
        const task = byId.get(reference.split('/').pop() ?? '');
        if (!task) continue;
        tasks.push({
          taskArn: this.taskArn(cluster, task.id),
          containerInstanceArn: this.arn(cluster, task.instanceId),
          group: task.group,
          lastStatus: task.lastStatus,
          desiredStatus: task.desiredStatus,
          ...(task.cpu !== undefined ? { cpu: String(task.cpu) } : {}),
          ...(task.memory !== undefined ? { memory: String(task.memory) } : {}),
        });
      }
      return { tasks, failures: [] };
    });
    ecs.on(PutAttributesCommand).callsFake((input) => {
      this.enter('PutAttributes', input);
      const cluster = this.clusterKey(input.cluster);
      if ((input.attributes ?? []).length > 10) this.invalid('attributes can have at most 10 items');
      for (const attribute of input.attributes ?? []) {
        const instance = this.findInstance(cluster, attribute.targetId ?? '');
        if (!instance) throw new ECSServiceException({ name: 'TargetNotFoundException', $fault: 'client', $metadata: {}, message: 'target not found' });
        instance.attributes[attribute.name] = attribute.value ?? '';
      }
      return { attributes: input.attributes };
    });
    ecs.on(DeleteAttributesCommand).callsFake((input) => {
      this.enter('DeleteAttributes', input);
      const cluster = this.clusterKey(input.cluster);
      if ((input.attributes ?? []).length > 10) this.invalid('attributes can have at most 10 items');
      for (const attribute of input.attributes ?? []) {
        const instance = this.findInstance(cluster, attribute.targetId ?? '');
        if (instance) delete instance.attributes[attribute.name];
      }
      return { attributes: input.attributes };
    });
    ecs.on(UpdateContainerInstancesStateCommand).callsFake((input) => {
      this.enter('UpdateContainerInstancesState', input);
      const cluster = this.clusterKey(input.cluster);
      const references: string[] = input.containerInstances ?? [];
      if (references.length > 10) this.invalid('containerInstances can have at most 10 items');
      const containerInstances: ContainerInstance[] = [];
      const failures: { arn: string; reason: string }[] = [];
      for (const reference of references) {
        const instance = this.findInstance(cluster, reference);
        if (!instance) failures.push({ arn: reference, reason: 'MISSING' });
        else {
          instance.status = input.status;
          containerInstances.push(this.toContainerInstance(cluster, instance));
        }
      }
      return { containerInstances, failures };
    });

    const autoScaling = this.autoScalingMock;
    autoScaling.on(DescribeAutoScalingInstancesCommand).callsFake((input) => {
      this.enter('DescribeAutoScalingInstances', input);
      const ids: string[] = input.InstanceIds ?? [];
      if (ids.length > 50 || (input.MaxRecords ?? 50) > 50) {
        throw new AutoScalingServiceException({ name: 'ValidationError', $fault: 'client', $metadata: {}, message: 'at most 50' });
      }
      return {
        AutoScalingInstances: ids.flatMap((id) => {
          const member = this.members.get(id);
          return member
            ? [{ InstanceId: id, AutoScalingGroupName: member.group, LifecycleState: member.lifecycleState, ProtectedFromScaleIn: member.protectedFromScaleIn, HealthStatus: 'HEALTHY', AvailabilityZone: 'us-east-1a' }]
            : [];
        }),
      };
    });
    autoScaling.on(DescribeAutoScalingGroupsCommand).callsFake((input) => ({
      AutoScalingGroups: (input.AutoScalingGroupNames ?? []).flatMap((name: string) => {
        const group = this.groups.get(name);
        return group
          ? [{ AutoScalingGroupName: name, AutoScalingGroupARN: `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:uuid:autoScalingGroupName/${name}`, MinSize: group.min, DesiredCapacity: group.desired, MaxSize: group.max }]
          : [];
      }),
    }));
    autoScaling.on(TerminateInstanceInAutoScalingGroupCommand).callsFake((input) => {
      this.enter('TerminateInstanceInAutoScalingGroup', input);
      const member = this.members.get(input.InstanceId);
      if (!member) {
        throw new AutoScalingServiceException({ name: 'ValidationError', $fault: 'client', $metadata: {}, message: `Instance Id not found - No managed instance found for instance ID ${input.InstanceId}` });
      }
      const group = this.groups.get(member.group)!;
      if (input.ShouldDecrementDesiredCapacity) {
        if (group.desired - 1 < group.min) {
          throw new AutoScalingServiceException({
            name: 'ValidationError',
            $fault: 'client',
            $metadata: {},
            message: `Currently, desiredSize equals minSize (${group.min}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`,
          });
        }
        group.desired -= 1;
      }
      member.lifecycleState = 'Terminating';
      return { Activity: { ActivityId: `activity-${input.InstanceId}`, AutoScalingGroupName: member.group, StatusCode: 'InProgress' } };
    });

    this.cloudWatchMock.on(PutMetricDataCommand).callsFake((input) => {
      this.enter('PutMetricData', input);
      if ((input.MetricData ?? []).length > 1000) throw new Error('at most 1000 metrics per request');
      this.metricData.push({ namespace: input.Namespace, data: input.MetricData });
      return {};
    });
  }

  /**
   * Adds `count` instances to a cluster and group. `tasksPerInstance` service tasks of 256 CPU /
   * 512 MiB each, plus one task of each daemon service.
   */
  addInstances(
    cluster: string,
    group: string,
    count: number,
    options: { tasksPerInstance?: number; idleSinceMinutesAgo?: number; now?: number; startIndex?: number } = {},
  ): FakeInstance[] {
    const list = this.instances.get(cluster) ?? [];
    this.instances.set(cluster, list);
    const tasks = this.tasks.get(cluster) ?? [];
    this.tasks.set(cluster, tasks);
    const daemons = this.daemonServices.get(cluster) ?? [];
    const added: FakeInstance[] = [];
    const start = options.startIndex ?? list.length;
    for (let offset = 0; offset < count; offset += 1) {
      const index = start + offset;
      const id = `${cluster}-${index.toString(16).padStart(8, '0')}`;
      const ec2InstanceId = `i-${(0x1000000 + index).toString(16).padStart(17, '0')}`;
      const instance: FakeInstance = {
        id,
        ec2InstanceId,
        status: 'ACTIVE',
        agentConnected: true,
        registeredCpu: 2048,
        registeredMemory: 4096,
        registeredAt: new Date(Date.parse('2026-03-01T00:00:00Z') + index * 1000),
        attributes:
          options.idleSinceMinutesAgo !== undefined && options.now !== undefined
            ? { 'ecs-ec2-keeper.idle-since': new Date(options.now - options.idleSinceMinutesAgo * 60_000).toISOString() }
            : {},
      };
      list.push(instance);
      added.push(instance);
      this.members.set(ec2InstanceId, { group, lifecycleState: 'InService', protectedFromScaleIn: false });
      for (const daemon of daemons) {
        tasks.push({ id: `${id}-${daemon}`, instanceId: id, group: `service:${daemon}`, cpu: 64, memory: 128, desiredStatus: 'RUNNING', lastStatus: 'RUNNING' });
      }
      for (let task = 0; task < (options.tasksPerInstance ?? 0); task += 1) {
        tasks.push({ id: `${id}-web-${task}`, instanceId: id, group: 'service:web', cpu: 256, memory: 512, desiredStatus: 'RUNNING', lastStatus: 'RUNNING' });
      }
    }
    const existing = this.groups.get(group);
    if (existing) existing.desired += count;
    else this.groups.set(group, { min: 0, desired: count, max: 10_000 });
    return added;
  }
}
