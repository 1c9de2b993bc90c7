import { custom, withSimulation } from './helpers';

/**
 * Bad input and the lifecycle hook's test notification reach the real handlers through the
 * simulator's deliveries; none of them may write anything.
 */
const spotEnvelope = {
  version: '0',
  id: 'bad',
  'detail-type': 'EC2 Spot Instance Interruption Warning',
  source: 'aws.ec2',
  account: '123456789012',
  time: '2026-03-04T10:00:00Z',
  region: 'us-east-1',
  resources: [],
};

const invalidEvents: { function: 'spotInterruption' | 'lifecycleHook' | 'scaleInSweeper'; event: unknown }[] = [
  { function: 'spotInterruption', event: null },
  { function: 'spotInterruption', event: [] },
  { function: 'spotInterruption', event: { ...spotEnvelope, detail: {} } },
  { function: 'spotInterruption', event: { ...spotEnvelope, detail: { 'instance-id': 'i-0b662ef9931388ba0; drop', 'instance-action': 'terminate' } } },
  { function: 'spotInterruption', event: { ...spotEnvelope, source: 'aws.autoscaling', detail: { 'instance-id': 'i-0b662ef9931388ba0', 'instance-action': 'terminate' } } },
  { function: 'lifecycleHook', event: {} },
  { function: 'lifecycleHook', event: { Records: 'nope' } },
  { function: 'lifecycleHook', event: { Records: [{ EventSource: 'aws:sns', Sns: { Message: '{not json' } }] } },
  {
    function: 'lifecycleHook',
    event: {
      Records: [
        {
          EventSource: 'aws:sns',
          Sns: {
            TopicArn: 'arn:aws:sns:us-east-1:123456789012:ecs-drain-lifecycle',
            Message: JSON.stringify({ LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', AutoScalingGroupName: 'g', EC2InstanceId: 42 }),
          },
        },
      ],
    },
  },
  { function: 'scaleInSweeper', event: 'run' },
  { function: 'scaleInSweeper', event: { source: 'aws.ec2', 'detail-type': 'Scheduled Event' } },
];

describe('invalid input and test notifications against the simulator', () => {
  it('changes nothing: no write call, no drain, no termination, every event acknowledged', async () => {
    const input = custom({
      name: 'invalid-input',
      durationMinutes: 10,
      clusters: [{ name: 'c' }],
      groups: [
        {
          name: 'g',
          cluster: 'c',
          minSize: 1,
          maxSize: 4,
          desiredCapacity: 2,
          instance: { cpu: 2048, memory: 4096 },
          instanceIds: ['i-0b662ef9931388ba0'],
          // Creating the hook sends autoscaling:TEST_NOTIFICATION to the lifecycle drainer.
          hook: { name: 'ecs-drain-hook', heartbeatTimeoutSeconds: 300, defaultResult: 'ABANDON' },
        },
      ],
      services: [{ cluster: 'c', name: 'web', desiredCount: 2, cpu: 256, memory: 256 }],
      handlers: {
        spotInterruption: { env: {} },
        lifecycleHook: { env: {} },
        scaleInSweeper: { enabled: true, everyMinutes: 600, firstAtMinutes: 600, env: {} },
      },
      events: invalidEvents.map((entry, index) => ({ type: 'invoke' as const, atSeconds: 10 + index, function: entry.function, event: entry.event })),
    });
    await withSimulation(input, async (simulation) => {
      const report = await simulation.run();
      const received = simulation.lambdas.invocations;
      // Every invalid event plus the test notification, each once: acknowledged, never retried.
      expect(received).toHaveLength(invalidEvents.length + 1);
      expect(received.every((invocation) => invocation.invalidInput && invocation.outcome === 'ok')).toBe(true);
      expect(report.invalidEventsWithWrites).toBe(0);
      expect(simulation.callLog.writes()).toEqual([]);
      expect(report.drains).toBe(0);
      expect(report.instances.removed).toBe(0);
      expect(simulation.world.groups.get('g')!.desiredCapacity).toBe(2);
      // Each handler said why, in one log line and an InvalidEvent metric per bad event.
      const invalidMetrics =
        simulation.telemetry.spotInterruption.metricTotal('InvalidEvent') +
        simulation.telemetry.lifecycleHook.metricTotal('InvalidEvent') +
        simulation.telemetry.scaleInSweeper.metricTotal('InvalidEvent');
      expect(invalidMetrics).toBe(invalidEvents.length);
    });
  });
});
