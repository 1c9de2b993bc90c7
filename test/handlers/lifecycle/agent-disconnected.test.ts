import type { Ec2State } from '../../../simulator/world/model';
import { INSTANCE_ID, LifecycleWorld, S, T0 } from './world';

/**
 * A DRAINING instance whose ECS agent is disconnected: ECS learns nothing from the host, so the
 * tasks it last knew stay RUNNING in its records (docs/aws-behaviour.md §1.6). The drainer reads
 * the EC2 state of such an instance (and only of such an instance) to tell a host that is gone from
 * one whose agent may reconnect.
 */
function disconnected(ec2State: Ec2State): { h: LifecycleWorld; setEc2State: (state: Ec2State) => void } {
  const h = new LifecycleWorld({ draining: true });
  // A task ECS never stops by itself on a DRAINING instance: only the drain's deadline would end the wait.
  h.standalone('batch');
  const ec2 = h.world.ec2.get(INSTANCE_ID)!;
  const setEc2State = (state: Ec2State) => {
    ec2.state = state;
  };
  setEc2State(ec2State);
  h.victim!.agentConnected = false;
  h.victim!.version += 1;
  return { h, setEc2State };
}

describe('lifecycle hook handler: ECS agent disconnected', () => {
  it('completes CONTINUE at once when the EC2 instance is stopped, although ECS still shows its task RUNNING', async () => {
    const { h } = disconnected('stopped');

    const { result, telemetry } = await h.invoke(h.terminating(), { DRAIN_TIMEOUT_SECONDS: '600' });

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'agent-disconnected-instance-gone', result: 'CONTINUE' });
    // First poll: no waiting for the deadline.
    expect(h.clock.now()).toBe(T0);
    expect(h.aws.inputs('ec2:DescribeInstances')).toEqual([{ InstanceIds: [INSTANCE_ID] }]);
    expect(h.aws.calls('ecs:UpdateContainerInstancesState')).toHaveLength(0);
    expect(h.aws.calls('ecs:PutAttributes')).toHaveLength(0);
    expect(h.action).toMatchObject({ state: 'completed', result: 'CONTINUE' });
    expect(telemetry.metricTotal('LifecycleCompleted', { result: 'CONTINUE', reason: 'agent-disconnected-instance-gone' })).toBe(1);
  });

  it('completes CONTINUE at once when EC2 no longer knows the instance', async () => {
    const { h } = disconnected('stopped');
    h.world.ec2.delete(INSTANCE_ID);

    const { result } = await h.invoke(h.terminating(), { DRAIN_TIMEOUT_SECONDS: '600' });

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'agent-disconnected-instance-gone', result: 'CONTINUE' });
    expect(h.clock.now()).toBe(T0);
  });

  it('keeps waiting while the EC2 instance runs (the agent may reconnect), reading EC2 once per poll, and stops waiting once it stops', async () => {
    const { h, setEc2State } = disconnected('running');
    // The host stops while the round waits after its poll at T0 + 40 s (10-second polls): the poll at T0 + 50 s sees it.
    h.onSleep = () => {
      if (h.clock.now() >= T0 + 40 * S) setEc2State('stopped');
    };

    const { result } = await h.invoke(h.terminating(), { DRAIN_TIMEOUT_SECONDS: '600' });

    // Polls at T0, T0 + 10 s, ..., T0 + 50 s: one EC2 read each, none more.
    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'agent-disconnected-instance-gone', result: 'CONTINUE', polls: 6 });
    expect(h.clock.now()).toBe(T0 + 50 * S);
    expect(h.aws.calls('ec2:DescribeInstances')).toHaveLength(6);
  });

  it('a disconnected agent on a running EC2 instance is waited for up to the deadline, as before', async () => {
    const { h } = disconnected('running');

    const { result } = await h.invoke(h.terminating(), { DRAIN_TIMEOUT_SECONDS: '60' });

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'deadline' });
    expect(h.clock.now()).toBe(T0 + 60 * S);
    expect(h.aws.calls('ec2:DescribeInstances').length).toBeGreaterThan(1);
  });

  it('a connected agent costs no EC2 read', async () => {
    const h = new LifecycleWorld({ draining: true });
    h.standalone('batch', 25);

    const { result } = await h.invoke(h.terminating());

    expect(result.records[0]).toMatchObject({ outcome: 'completed', reason: 'drained' });
    expect(h.aws.calls('ec2:DescribeInstances')).toHaveLength(0);
  });
});
