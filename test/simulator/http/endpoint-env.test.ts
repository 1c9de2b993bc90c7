import { DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { ListClustersCommand } from '@aws-sdk/client-ecs';
import { createAutoScalingClient, createEcsClient } from '../../../lib/clients';
import { startServer, type RunningServer } from '../../../simulator/http/server';
import { ScriptedPlane } from './harness';

// The handlers build their clients with no endpoint: the SDK must find the simulator through
// AWS_ENDPOINT_URL, as it does for `serverless invoke local` against a running simulator.
describe('reaching the server through AWS_ENDPOINT_URL', () => {
  const saved = process.env.AWS_ENDPOINT_URL;
  let server: RunningServer;
  const plane = new ScriptedPlane()
    .on('ecs:ListClusters', () => ({ clusterArns: ['arn:aws:ecs:us-east-1:123456789012:cluster/prod'] }))
    .on('autoscaling:DescribeAutoScalingInstances', () => ({ AutoScalingInstances: [] }));

  beforeAll(async () => {
    server = await startServer(plane);
    process.env.AWS_ENDPOINT_URL = server.url;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = saved;
    await server.close();
  });

  it('one endpoint serves every service the handlers use', async () => {
    const ecs = createEcsClient({ maxAttempts: 1, retryMode: 'standard' });
    const autoScaling = createAutoScalingClient({ maxAttempts: 1, retryMode: 'standard' });
    try {
      const clusters = await ecs.send(new ListClustersCommand({}));
      const instances = await autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: ['i-1'] }));
      expect(clusters.clusterArns).toEqual(['arn:aws:ecs:us-east-1:123456789012:cluster/prod']);
      expect(instances.AutoScalingInstances).toEqual([]);
      expect(plane.calls.map((call) => `${call.service}:${call.operation}`)).toEqual(['ecs:ListClusters', 'autoscaling:DescribeAutoScalingInstances']);
    } finally {
      ecs.destroy();
      autoScaling.destroy();
    }
  });
});
