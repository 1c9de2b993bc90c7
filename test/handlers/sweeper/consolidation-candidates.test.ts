import { SweeperWorld } from './world';
import { fixture } from '../../fixtures';

const scheduled = fixture('scheduled-sweep.json');

describe('sweeper: consolidation candidates come with the whole cluster’s task read', () => {
  it('weighs every busy instance when the cluster’s tasks are read whole, not only the three least used', async () => {
    const aws = new SweeperWorld();
    const { handler } = aws.sweeper({ CONSOLIDATE: 'true', DRAIN_WAIT_SECONDS: '0' });
    aws.daemons('prod', ['log-router']);
    // The three least used instances run standalone tasks, which DRAINING does not move.
    const standalone = [...aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 1 }), ...aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 2 }), ...aws.addInstances('prod', 'asg', 1, { tasksPerInstance: 3 })];
    const [fourth] = aws.addInstances('prod', 'asg', 1, { serviceTasks: 4 });
    aws.addInstances('prod', 'asg', 1, { serviceTasks: 6 });

    const result = await handler(scheduled);

    // 21 tasks: one list and one describe for the whole cluster, cheaper than three lists and a describe.
    expect(aws.aws.inputs('ecs:ListTasks')[0]).toEqual({ cluster: 'prod', desiredStatus: 'RUNNING', maxResults: 100 });
    expect(result.clusters[0]?.selected).toEqual([expect.objectContaining({ ec2InstanceId: fourth!.ec2InstanceId, reason: 'consolidate' })]);
    expect(result.clusters[0]?.skippedByReason).toMatchObject({ 'standalone-tasks': 3 });
    expect(result.clusters[0]?.execution.drained).toEqual([fourth!.ec2InstanceId]);
    expect(standalone.every((instance) => aws.instance(instance.ec2InstanceId).status === 'ACTIVE')).toBe(true);
  });
});
