import { AwsApiError, type ApiInput, type ApiOutput } from '../api';
import { chunkLimit, paginate, readInteger, readList, readString, readStrings } from './input';
import { ACCOUNT, REGION, type Cluster, type ContainerInstance, type Service, type Task } from './model';
import { QuerySyntaxError, compileQuery } from './query';
import type { Operation, RuledWorld as World } from './rules';

/**
 * ECS operations with the limits and answers of the botocore ECS model (aws-behaviour.md §2, §3.1):
 * page sizes 1–100, batch limits, failures[] with reason MISSING, ClusterNotFoundException.
 */
const INVALID = 'InvalidParameterException';

function invalid(message: string): AwsApiError {
  return new AwsApiError(INVALID, message, 400);
}

function pageSize(input: ApiInput): number {
  const maxResults = readInteger(input, 'maxResults', INVALID);
  if (maxResults === undefined) return 100;
  if (maxResults < 1 || maxResults > 100) throw invalid('maxResults must be between 1 and 100');
  return maxResults;
}

function resources(cpu: number, memory: number) {
  return [
    { name: 'CPU', type: 'INTEGER', doubleValue: 0, longValue: 0, integerValue: cpu },
    { name: 'MEMORY', type: 'INTEGER', doubleValue: 0, longValue: 0, integerValue: memory },
    { name: 'PORTS', type: 'STRINGSET', doubleValue: 0, longValue: 0, integerValue: 0, stringSetValue: ['22', '2375', '2376', '51678', '51679'] },
  ];
}

export function containerInstanceOutput(world: World, instance: ContainerInstance, fresh = false): ApiOutput {
  const used = world.usage(instance);
  const live = instance.status !== 'INACTIVE';
  // Status and attributes as reads see them: with the read-lag fault, a recent write may not show
  // yet. The answer to the write itself shows it (`fresh`).
  const view = fresh ? instance : world.visibleView(instance);
  return {
    containerInstanceArn: instance.arn,
    ec2InstanceId: instance.ec2InstanceId,
    version: instance.version,
    versionInfo: { agentVersion: '1.90.0', agentHash: 'a1b2c3d', dockerVersion: 'DockerVersion: 25.0.8' },
    remainingResources: resources(instance.registeredCpu - (live ? used.cpu : 0), instance.registeredMemory - (live ? used.memory : 0)),
    registeredResources: resources(instance.registeredCpu, instance.registeredMemory),
    status: view.status,
    agentConnected: instance.agentConnected,
    runningTasksCount: live ? used.running : 0,
    pendingTasksCount: live ? used.pending : 0,
    attributes: [...view.attributes].map(([name, value]) => ({ name, value })),
    registeredAt: new Date(instance.registeredAt),
    attachments: [],
    tags: [],
  };
}

export function taskOutput(world: World, cluster: Cluster, task: Task): ApiOutput {
  const ec2 = world.ec2.get(task.ec2InstanceId);
  return {
    taskArn: task.arn,
    clusterArn: cluster.arn,
    containerInstanceArn: task.containerInstanceArn,
    taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${task.family}:${task.revision}`,
    group: task.group,
    ...(task.startedBy ? { startedBy: task.startedBy } : {}),
    lastStatus: task.lastStatus,
    desiredStatus: task.desiredStatus,
    cpu: String(task.cpu),
    memory: String(task.memory),
    launchType: 'EC2',
    availabilityZone: ec2?.az,
    createdAt: new Date(task.createdAt),
    ...(task.startedAt !== undefined ? { startedAt: new Date(task.startedAt) } : {}),
    ...(task.stoppingAt !== undefined ? { stoppingAt: new Date(task.stoppingAt) } : {}),
    ...(task.stoppedAt !== undefined ? { stoppedAt: new Date(task.stoppedAt) } : {}),
    ...(task.stoppedReason !== undefined ? { stoppedReason: task.stoppedReason } : {}),
    ...(task.stopCode !== undefined ? { stopCode: task.stopCode } : {}),
    version: task.version,
    containers: [{ name: task.family, lastStatus: task.lastStatus, taskArn: task.arn }],
  };
}

function serviceOutput(cluster: Cluster, service: Service): ApiOutput {
  const tasks = [...cluster.tasks.values()].filter((task) => task.serviceName === service.name && task.desiredStatus === 'RUNNING');
  return {
    serviceArn: service.arn,
    serviceName: service.name,
    clusterArn: cluster.arn,
    status: 'ACTIVE',
    desiredCount: service.desiredCount,
    runningCount: tasks.filter((task) => task.lastStatus === 'RUNNING').length,
    pendingCount: tasks.filter((task) => task.lastStatus === 'PENDING').length,
    launchType: 'EC2',
    taskDefinition: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${service.family}:${service.revision}`,
    deploymentConfiguration: {
      minimumHealthyPercent: service.minimumHealthyPercent,
      maximumPercent: service.maximumPercent,
    },
    schedulingStrategy: service.strategy,
    placementConstraints: (service.placementConstraints ?? []).map((constraint) => ({ type: constraint.type, expression: constraint.expression })),
    createdAt: new Date(service.createdAt),
  };
}

/** With the short-page fault, how many items this answer returns (aws-behaviour.md §3.1). */
function shortPage(world: World, input: ApiInput): { length: number } {
  return { length: world.pageLength(pageSize(input)) };
}

function clusterOf(world: World, input: ApiInput): Cluster {
  return world.cluster(readString(input, 'cluster', INVALID));
}

/** The references a batch call names: at least one, at most `limit` (aws-behaviour.md §3.1). */
function batchRefs(input: ApiInput, key: string, limit: number): string[] {
  const refs = readStrings(input, key, INVALID);
  if (!refs || refs.length === 0) throw invalid(`${key} must not be empty`);
  chunkLimit(refs, limit, key, INVALID);
  return refs;
}

/** A Describe* answer to the references under `key`: the output of each one found, and a MISSING failure for each other one. */
function describeEach<T>(input: ApiInput, key: string, limit: number, find: (ref: string) => T | undefined, output: (item: T) => ApiOutput, missingArn = (ref: string) => ref) {
  const found: ApiOutput[] = [];
  const failures: ApiOutput[] = [];
  for (const ref of batchRefs(input, key, limit)) {
    const item = find(ref);
    if (item) found.push(output(item));
    else failures.push({ arn: missingArn(ref), reason: 'MISSING' });
  }
  return { found, failures };
}

const listClusters: Operation = (world, input) => {
  const arns = [...world.clusters.values()].map((cluster) => cluster.arn);
  const { page, nextToken } = paginate(arns, pageSize(input), readString(input, 'nextToken', INVALID), INVALID, shortPage(world, input));
  return { clusterArns: page, ...(nextToken ? { nextToken } : {}) };
};

const describeClusters: Operation = (world, input) => {
  const names = readStrings(input, 'clusters', INVALID) ?? ['default'];
  chunkLimit(names, 100, 'clusters', INVALID);
  const clusters: ApiOutput[] = [];
  const failures: ApiOutput[] = [];
  for (const name of names) {
    try {
      const cluster = world.cluster(name);
      const listed = [...cluster.instances.values()].filter((instance) => instance.status !== 'INACTIVE');
      clusters.push({
        clusterArn: cluster.arn,
        clusterName: cluster.name,
        status: 'ACTIVE',
        registeredContainerInstancesCount: listed.length,
        activeServicesCount: cluster.services.size,
        runningTasksCount: [...cluster.tasks.values()].filter((task) => task.lastStatus === 'RUNNING').length,
        pendingTasksCount: [...cluster.tasks.values()].filter((task) => task.lastStatus === 'PENDING').length,
        // The associated capacity providers' names (simulator/world/capacity-providers.ts).
        capacityProviders: [...(cluster.capacityProviders ?? [])],
        defaultCapacityProviderStrategy: [],
      });
    } catch {
      failures.push({ arn: name, reason: 'MISSING' });
    }
  }
  return { clusters, failures };
};

const LISTABLE_STATUSES = ['ACTIVE', 'DRAINING', 'REGISTERING', 'DEREGISTERING', 'REGISTRATION_FAILED'];

const listContainerInstances: Operation = (world, input) => {
  const cluster = clusterOf(world, input);
  const status = readString(input, 'status', INVALID);
  if (status !== undefined && !LISTABLE_STATUSES.includes(status)) {
    throw invalid(`status must be one of ${LISTABLE_STATUSES.join(', ')}`);
  }
  const filter = readString(input, 'filter', INVALID);
  let predicate: ReturnType<typeof compileQuery> | undefined;
  if (filter !== undefined && filter.trim() !== '') {
    try {
      predicate = compileQuery(filter);
    } catch (error) {
      if (error instanceof QuerySyntaxError) throw invalid(`Unsupported or invalid filter expression: ${error.message}`);
      throw error;
    }
  }
  // INACTIVE instances are never listed (aws-behaviour.md §2).
  const listed = [...cluster.instances.values()]
    .filter((instance) => instance.status !== 'INACTIVE' && (status === undefined || world.visibleView(instance).status === status))
    .filter(
      (instance) =>
        !predicate ||
        predicate({
          ec2InstanceId: instance.ec2InstanceId,
          agentConnected: instance.agentConnected,
          runningTasksCount: world.usage(instance).running,
          attributes: world.visibleView(instance).attributes,
        }),
    );
  const { page, nextToken } = paginate(listed, pageSize(input), readString(input, 'nextToken', INVALID), INVALID, {
    ...shortPage(world, input),
    keyOf: (instance) => instance.ordinal ?? 0,
  });
  return { containerInstanceArns: page.map((instance) => instance.arn), ...(nextToken ? { nextToken } : {}) };
};

const describeContainerInstances: Operation = (world, input) => {
  const cluster = clusterOf(world, input);
  const { found, failures } = describeEach(input, 'containerInstances', 100, (ref) => world.findContainerInstance(cluster, ref), (instance) => containerInstanceOutput(world, instance));
  return { containerInstances: found, failures };
};

const updateContainerInstancesState: Operation = (world, input) => {
  const cluster = clusterOf(world, input);
  const refs = batchRefs(input, 'containerInstances', 10);
  const status = readString(input, 'status', INVALID, true);
  // Only ACTIVE and DRAINING are valid targets (aws-behaviour.md §2).
  if (status !== 'ACTIVE' && status !== 'DRAINING') throw invalid('status must be ACTIVE or DRAINING');
  const containerInstances: ApiOutput[] = [];
  const failures: ApiOutput[] = [];
  for (const ref of refs) {
    const instance = world.findContainerInstance(cluster, ref);
    if (!instance) {
      failures.push({ arn: ref, reason: 'MISSING' });
      continue;
    }
    if (instance.status === 'INACTIVE') {
      failures.push({ arn: instance.arn, reason: 'INACTIVE', detail: 'The container instance is inactive.' });
      continue;
    }
    if (instance.status !== 'ACTIVE' && instance.status !== 'DRAINING') {
      failures.push({ arn: instance.arn, reason: instance.status, detail: `A container instance in ${instance.status} status cannot be updated.` });
      continue;
    }
    if (status === 'DRAINING' && instance.status === 'DRAINING' && world.drainingToDraining === 'failure') {
      failures.push({ arn: instance.arn, reason: 'DRAINING', detail: 'The container instance is already draining.' });
      continue;
    }
    world.rules.ecs.setContainerInstanceStatus(instance, status);
    containerInstances.push(containerInstanceOutput(world, instance, true));
  }
  return { containerInstances, failures };
};

const listTasks: Operation = (world, input) => {
  const cluster = clusterOf(world, input);
  const containerInstance = readString(input, 'containerInstance', INVALID);
  const family = readString(input, 'family', INVALID);
  const startedBy = readString(input, 'startedBy', INVALID);
  const serviceName = readString(input, 'serviceName', INVALID);
  const explicitStatus = readString(input, 'desiredStatus', INVALID);
  const launchType = readString(input, 'launchType', INVALID);
  // "When you specify startedBy as a filter, it must be the only filter that you use" (aws-behaviour.md §3.1).
  if (startedBy !== undefined && [containerInstance, family, serviceName, explicitStatus, launchType].some((v) => v !== undefined)) {
    throw invalid('startedBy must be the only filter when it is used');
  }
  const desiredStatus = explicitStatus ?? 'RUNNING';
  if (!['RUNNING', 'PENDING', 'STOPPED'].includes(desiredStatus)) throw invalid('desiredStatus must be RUNNING, PENDING or STOPPED');
  // A service the cluster does not have is an error, not an empty list
  // (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html).
  if (serviceName !== undefined && !cluster.services.has(serviceName.split('/').pop()!)) {
    throw new AwsApiError('ServiceNotFoundException', 'Service not found.', 400);
  }
  const instance = containerInstance !== undefined ? world.findContainerInstance(cluster, containerInstance) : undefined;
  if (containerInstance !== undefined && !instance) return { taskArns: [] };
  const candidates = instance ? world.tasksOn(instance) : [...cluster.tasks.values()];
  const listed = candidates
    .filter((task) => world.findTask(cluster, task.arn) !== undefined)
    // With the read-lag fault a task just placed is not listed yet (aws-behaviour.md §3.1).
    .filter((task) => task.listedFrom === undefined || task.listedFrom <= world.now())
    // No task ever has desiredStatus PENDING: a PENDING filter returns nothing (aws-behaviour.md §3.1).
    .filter((task) => task.desiredStatus === desiredStatus)
    .filter((task) => family === undefined || task.family === family)
    .filter((task) => serviceName === undefined || task.serviceName === serviceName.split('/').pop())
    .filter((task) => startedBy === undefined || task.startedBy === startedBy)
    .filter(() => launchType === undefined || launchType === 'EC2');
  const { page, nextToken } = paginate(listed, pageSize(input), readString(input, 'nextToken', INVALID), INVALID, {
    ...shortPage(world, input),
    keyOf: (task) => task.ordinal ?? 0,
  });
  return { taskArns: page.map((task) => task.arn), ...(nextToken ? { nextToken } : {}) };
};

const describeTasks: Operation = (world, input) => {
  const cluster = clusterOf(world, input);
  const { found, failures } = describeEach(input, 'tasks', 100, (ref) => world.findTask(cluster, ref), (task) => taskOutput(world, cluster, task));
  return { tasks: found, failures };
};

const stopTask: Operation = (world, input) => {
  const cluster = clusterOf(world, input);
  const ref = readString(input, 'task', INVALID, true)!;
  const task = world.findTask(cluster, ref);
  if (!task) throw invalid('The referenced task was not found.');
  const reason = readString(input, 'reason', INVALID) ?? 'Task stopped by the user';
  if (reason.length > 255) throw invalid('reason can be at most 255 characters');
  world.rules.ecs.stopTask(task, reason);
  world.record('task', 'task stop requested', { cluster: cluster.name, task: task.arn.split('/').pop(), by: 'StopTask' });
  return { task: taskOutput(world, cluster, task) };
};

const describeServices: Operation = (world, input) => {
  const cluster = clusterOf(world, input);
  const { found, failures } = describeEach(
    input,
    'services',
    10,
    (ref) => cluster.services.get(ref.split('/').pop() ?? ref),
    (service) => serviceOutput(cluster, service),
    (ref) => (ref.startsWith('arn:') ? ref : `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster.name}/${ref}`),
  );
  return { services: found, failures };
};

const listServices: Operation = (world, input) => {
  const cluster = clusterOf(world, input);
  const strategy = readString(input, 'schedulingStrategy', INVALID);
  if (strategy !== undefined && strategy !== 'REPLICA' && strategy !== 'DAEMON') throw invalid('schedulingStrategy must be REPLICA or DAEMON');
  const launchType = readString(input, 'launchType', INVALID);
  const arns = [...cluster.services.values()]
    .filter((service) => strategy === undefined || service.strategy === strategy)
    .filter(() => launchType === undefined || launchType === 'EC2')
    .map((service) => service.arn);
  const size = readInteger(input, 'maxResults', INVALID) ?? 10;
  if (size < 1 || size > 100) throw invalid('maxResults must be between 1 and 100');
  const { page, nextToken } = paginate(arns, size, readString(input, 'nextToken', INVALID), INVALID, { length: world.pageLength(size) });
  return { serviceArns: page, ...(nextToken ? { nextToken } : {}) };
};

// ---------------------------------------------------------------- attributes

/**
 * Attribute names: 1–128 letters, digits, hyphens, underscores, forward or back slashes and periods;
 * values: 1–128 letters, digits, hyphens, underscores, periods, at signs, slashes, back slashes,
 * colons and spaces, not starting or ending with a space (aws-behaviour.md §3.1,
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Attribute.html).
 */
const ATTRIBUTE_NAME = /^[A-Za-z0-9_./\\-]{1,128}$/;
const ATTRIBUTE_VALUE = /^(?! )[A-Za-z0-9_./\\@: -]{1,128}(?<! )$/;
/** Custom attributes per container instance; the agent's own (`ecs.*`, `com.amazonaws.ecs.*`) are not counted (aws-behaviour.md §3.1). */
export const CUSTOM_ATTRIBUTE_LIMIT = 10;
const isCustomAttribute = (name: string) => !name.startsWith('ecs.') && !name.startsWith('com.amazonaws.ecs.');

interface AttributeRef {
  name: string;
  value?: string;
  targetType?: string;
  targetId?: string;
}

function readAttributes(input: ApiInput): AttributeRef[] {
  const list = readList(input, 'attributes');
  if (!list || list.length === 0) throw invalid('attributes must not be empty');
  chunkLimit(list, 10, 'attributes', INVALID);
  return list.map((item) => {
    if (typeof item !== 'object' || item === null) throw invalid('attributes must be a list of structures');
    const attribute = item as Record<string, unknown>;
    if (typeof attribute.name !== 'string' || !ATTRIBUTE_NAME.test(attribute.name)) {
      throw invalid('attribute name must be 1-128 letters, digits, hyphens, underscores, periods, slashes or back slashes');
    }
    if (attribute.value !== undefined && (typeof attribute.value !== 'string' || !ATTRIBUTE_VALUE.test(attribute.value))) {
      throw invalid('attribute value must be 1-128 letters, digits, hyphens, underscores, periods, at signs, slashes, back slashes, colons or inner spaces');
    }
    if (attribute.targetType !== undefined && attribute.targetType !== 'container-instance') {
      throw invalid('targetType must be container-instance');
    }
    return attribute as unknown as AttributeRef;
  });
}

function attributeTarget(world: World, cluster: Cluster, attribute: AttributeRef): ContainerInstance {
  if (!attribute.targetId) throw invalid('targetId is required');
  const instance = world.findContainerInstance(cluster, attribute.targetId);
  if (!instance || instance.status === 'INACTIVE') {
    throw new AwsApiError('TargetNotFoundException', `Could not find ${attribute.targetId}`, 400);
  }
  return instance;
}

/** The attributes a write names, each with its container instance. */
function attributeWrites(world: World, input: ApiInput) {
  const cluster = clusterOf(world, input);
  const attributes = readAttributes(input);
  return { attributes, targets: attributes.map((attribute) => attributeTarget(world, cluster, attribute)) };
}

/** Applies `write` to each attribute's target; each write bumps the target's version, observers hear once per target. */
function writeAttributes(world: World, attributes: AttributeRef[], targets: ContainerInstance[], write: (target: ContainerInstance, attribute: AttributeRef) => void): ApiOutput {
  for (const target of targets) world.beforeInstanceWrite(target);
  attributes.forEach((attribute, index) => {
    write(targets[index]!, attribute);
    targets[index]!.version += 1;
  });
  for (const target of new Set(targets)) world.afterInstanceWrite(target);
  return { attributes: attributes.map((attribute, index) => ({ ...attribute, targetType: 'container-instance', targetId: targets[index]!.arn })) };
}

const putAttributes: Operation = (world, input) => {
  const { attributes, targets } = attributeWrites(world, input);
  // The limit is checked for every target before anything is written: one full target fails the
  // whole call and no attribute of it is set (aws-behaviour.md §3.1).
  const after = new Map<ContainerInstance, Set<string>>();
  attributes.forEach((attribute, index) => {
    const target = targets[index]!;
    const names = after.get(target) ?? new Set([...target.attributes.keys()].filter(isCustomAttribute));
    if (isCustomAttribute(attribute.name)) names.add(attribute.name);
    after.set(target, names);
  });
  for (const [target, names] of after) {
    if (names.size > CUSTOM_ATTRIBUTE_LIMIT) {
      throw new AwsApiError(
        'AttributeLimitExceededException',
        `You can apply up to ${CUSTOM_ATTRIBUTE_LIMIT} custom attributes per resource (${target.arn}).`,
        400,
      );
    }
  }
  return writeAttributes(world, attributes, targets, (target, attribute) => target.attributes.set(attribute.name, attribute.value ?? ''));
};

const deleteAttributes: Operation = (world, input) => {
  const { attributes, targets } = attributeWrites(world, input);
  return writeAttributes(world, attributes, targets, (target, attribute) => target.attributes.delete(attribute.name));
};

const listAttributes: Operation = (world, input) => {
  const cluster = clusterOf(world, input);
  const targetType = readString(input, 'targetType', INVALID, true);
  if (targetType !== 'container-instance') throw invalid('targetType must be container-instance');
  const attributeName = readString(input, 'attributeName', INVALID);
  const attributeValue = readString(input, 'attributeValue', INVALID);
  if (attributeValue !== undefined && attributeName === undefined) throw invalid('attributeValue requires attributeName');
  const found: ApiOutput[] = [];
  for (const instance of cluster.instances.values()) {
    if (instance.status === 'INACTIVE') continue;
    for (const [name, value] of instance.attributes) {
      if (attributeName !== undefined && name !== attributeName) continue;
      if (attributeValue !== undefined && value !== attributeValue) continue;
      found.push({ name, value, targetType: 'container-instance', targetId: instance.arn });
    }
  }
  const { page, nextToken } = paginate(found, pageSize(input), readString(input, 'nextToken', INVALID), INVALID, shortPage(world, input));
  return { attributes: page, ...(nextToken ? { nextToken } : {}) };
};

export const ecsOperations: Record<string, Operation> = {
  ListClusters: listClusters,
  DescribeClusters: describeClusters,
  ListContainerInstances: listContainerInstances,
  DescribeContainerInstances: describeContainerInstances,
  UpdateContainerInstancesState: updateContainerInstancesState,
  ListTasks: listTasks,
  DescribeTasks: describeTasks,
  StopTask: stopTask,
  DescribeServices: describeServices,
  ListServices: listServices,
  ListAttributes: listAttributes,
  PutAttributes: putAttributes,
  DeleteAttributes: deleteAttributes,
};
