import type { ContainerInstanceView } from '../../lib/aws/ecs';
import { decideDrain } from '../../lib/spot/decide';

const instance = (status: string): ContainerInstanceView => ({
  cluster: 'prod',
  containerInstanceArn: 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/abc',
  ec2InstanceId: 'i-0b662ef9931388ba0',
  status,
  agentConnected: true,
  runningTasksCount: 2,
  pendingTasksCount: 0,
  registeredCpu: 2048,
  registeredMemory: 4096,
  remainingCpu: 1024,
  remainingMemory: 2048,
  attributes: {},
});

describe('decideDrain', () => {
  it.each([
    ['no container instance', undefined, false, { action: 'none', reason: 'not-a-container-instance' }],
    ['ACTIVE', instance('ACTIVE'), false, { action: 'drain', reason: 'active' }],
    ['ACTIVE in dry run', instance('ACTIVE'), true, { action: 'none', reason: 'dry-run' }],
    ['DRAINING', instance('DRAINING'), false, { action: 'none', reason: 'already-draining' }],
    ['DRAINING in dry run', instance('DRAINING'), true, { action: 'none', reason: 'already-draining' }],
    ['REGISTERING', instance('REGISTERING'), false, { action: 'none', reason: 'not-active' }],
    ['DEREGISTERING', instance('DEREGISTERING'), false, { action: 'none', reason: 'not-active' }],
    ['INACTIVE', instance('INACTIVE'), false, { action: 'none', reason: 'not-active' }],
  ])('%s', (_name, view, dryRun, expected) => {
    expect(decideDrain(view, dryRun)).toEqual(expected);
  });
});
