import { ConfigError } from '../../../lib/config';
import { loadLifecycleConfig } from '../../../lib/lifecycle/config';

describe('lifecycle configuration', () => {
  it('has the documented defaults', () => {
    const config = loadLifecycleConfig({});
    expect(config).toMatchObject({
      standaloneTasks: 'wait',
      pollIntervalSeconds: 60,
      drainTimeoutSeconds: 900,
      deadlineResult: 'CONTINUE',
      maxHops: 100,
      autoScalingGroups: [],
      readBudgetPerSecond: 10,
    });
    expect(config.lifecycleTopicArn).toBeUndefined();
    expect(config.opsTopicArn).toBeUndefined();
  });

  it('reads every setting', () => {
    const config = loadLifecycleConfig({
      LIFECYCLE_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:requeue',
      STANDALONE_TASKS: 'STOP',
      POLL_INTERVAL_SECONDS: '15',
      DRAIN_TIMEOUT_SECONDS: '3600',
      DEADLINE_RESULT: 'abandon',
      MAX_HOPS: '20',
      OPS_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:ops',
      AUTO_SCALING_GROUPS: 'a, b',
      DRY_RUN: 'true',
      ECS_READ_BUDGET_PER_SECOND: '4',
    });
    expect(config).toMatchObject({
      lifecycleTopicArn: 'arn:aws:sns:us-east-1:123456789012:requeue',
      standaloneTasks: 'stop',
      pollIntervalSeconds: 15,
      drainTimeoutSeconds: 3600,
      deadlineResult: 'ABANDON',
      maxHops: 20,
      opsTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops',
      autoScalingGroups: ['a', 'b'],
      dryRun: true,
      readBudgetPerSecond: 4,
    });
  });

  it('reports every problem at once with the allowed values', () => {
    let problems: string[] = [];
    try {
      loadLifecycleConfig({
        STANDALONE_TASKS: 'kill',
        POLL_INTERVAL_SECONDS: '1',
        DRAIN_TIMEOUT_SECONDS: '200000',
        DEADLINE_RESULT: 'PROCEED',
        MAX_HOPS: '0',
        OPS_TOPIC_ARN: 'ops',
        LIFECYCLE_TOPIC_ARN: 'arn:aws:sqs:us-east-1:123456789012:q',
        // Above the account's bucket refill (20 a second): a budget no drain could keep to.
        ECS_READ_BUDGET_PER_SECOND: '25',
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems).toEqual(
      expect.arrayContaining([
        'STANDALONE_TASKS must be one of wait, stop, ignore',
        'POLL_INTERVAL_SECONDS must be a whole number from 5 to 300',
        'DRAIN_TIMEOUT_SECONDS must be a whole number from 60 to 172800',
        'DEADLINE_RESULT must be one of CONTINUE, ABANDON',
        'MAX_HOPS must be a whole number from 1 to 1000',
        'ECS_READ_BUDGET_PER_SECOND must be a whole number from 1 to 20',
      ]),
    );
    expect(problems.filter((problem) => problem.includes('TOPIC_ARN must be an SNS topic ARN'))).toHaveLength(2);
    expect(problems).toHaveLength(8);
  });
});
