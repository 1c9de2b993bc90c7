import { AwsApiError, type ControlPlane } from '../../../simulator/api';
import { isWriteOperation, withCallLog } from '../../../simulator/faults';
import { VirtualClock } from './virtual-clock';

const plane: ControlPlane = {
  async call(_service, operation, input) {
    if (input.fail) throw new AwsApiError(String(input.fail), 'failed', 400);
    if (input.crash) throw new TypeError('crash');
    return { operation };
  },
};

describe('withCallLog', () => {
  it('counts calls by service:operation and outcome, and passes outputs and errors through', async () => {
    const log = withCallLog(plane);
    await expect(log.call('ecs', 'ListTasks', {})).resolves.toEqual({ operation: 'ListTasks' });
    await log.call('ecs', 'ListTasks', {});
    await expect(log.call('ecs', 'ListTasks', { fail: 'ThrottlingException' })).rejects.toThrow(AwsApiError);
    await expect(log.call('autoscaling', 'CompleteLifecycleAction', { fail: 'ValidationError' })).rejects.toMatchObject({ code: 'ValidationError' });
    await expect(log.call('sns', 'Publish', { crash: true })).rejects.toThrow(TypeError);

    expect(log.snapshot()).toEqual({
      total: 5,
      ok: 2,
      errors: 3,
      operations: {
        'autoscaling:CompleteLifecycleAction': { calls: 1, ok: 0, errors: { ValidationError: 1 } },
        'ecs:ListTasks': { calls: 3, ok: 2, errors: { ThrottlingException: 1 } },
        'sns:Publish': { calls: 1, ok: 0, errors: { TypeError: 1 } },
      },
    });
  });

  it('keeps every write call, failed ones included, with a copy of its input and the clock time', async () => {
    const clock = new VirtualClock(1_000);
    const log = withCallLog(plane, { clock });
    const input = { cluster: 'prod', containerInstances: ['a'], status: 'DRAINING' };
    await log.call('ecs', 'DescribeContainerInstances', { cluster: 'prod' });
    await log.call('ecs', 'UpdateContainerInstancesState', input);
    clock.advance(500);
    await log.call('autoscaling', 'CompleteLifecycleAction', { fail: 'ValidationError' }).catch(() => undefined);
    await log.call('cloudwatch', 'GetMetricData', {});
    input.containerInstances.push('mutated later');

    expect(log.writes()).toEqual([
      { service: 'ecs', operation: 'UpdateContainerInstancesState', input: { cluster: 'prod', containerInstances: ['a'], status: 'DRAINING' }, outcome: 'ok', at: 1_000 },
      { service: 'autoscaling', operation: 'CompleteLifecycleAction', input: { fail: 'ValidationError' }, outcome: 'ValidationError', at: 1_500 },
    ]);
  });

  it('reset starts the counts and the writes afresh', async () => {
    const log = withCallLog(plane);
    await log.call('ecs', 'StopTask', {});
    log.reset();
    expect(log.snapshot()).toEqual({ total: 0, ok: 0, errors: 0, operations: {} });
    expect(log.writes()).toEqual([]);
  });

  it.each([
    ['DescribeTasks', false],
    ['ListContainerInstances', false],
    ['GetMetricData', false],
    ['UpdateContainerInstancesState', true],
    ['StopTask', true],
    ['PutAttributes', true],
    ['DeleteAttributes', true],
    ['CompleteLifecycleAction', true],
    ['RecordLifecycleActionHeartbeat', true],
    ['TerminateInstanceInAutoScalingGroup', true],
    ['SetInstanceProtection', true],
    ['SetDesiredCapacity', true],
    ['Publish', true],
    ['PutMetricData', true],
    ['Listen', true],
  ])('%s is a write: %s', (operation, write) => {
    expect(isWriteOperation(operation)).toBe(write);
  });
});
