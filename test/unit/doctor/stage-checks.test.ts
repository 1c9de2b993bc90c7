import { CloudFormationClient, DescribeStackResourcesCommand, type StackResource } from '@aws-sdk/client-cloudformation';
import { DescribeRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { checkConcurrency, checkRules, formatTable, stageTarget, type Row, type StageSettings } from '../../../lib/doctor/checks';

// The simulator speaks neither CloudFormation, EventBridge nor Lambda: each answer the two stage
// checks can meet in an account is scripted here, and the line the doctor prints is asserted.
const cloudFormationMock = mockClient(CloudFormationClient);
const eventBridgeMock = mockClient(EventBridgeClient);
const lambdaMock = mockClient(LambdaClient);
const region = 'us-east-1';
const clients = { cloudFormation: new CloudFormationClient({ region }), eventBridge: new EventBridgeClient({ region }), lambda: new LambdaClient({ region }) };

const DEFAULTS: StageSettings = {
  rebalanceRuleState: 'DISABLED',
  stateChangeRuleState: 'DISABLED',
  runningRuleState: 'DISABLED',
  scheduledEventRuleState: 'DISABLED',
  sweepEnabled: true,
  lifecycleTaskEvents: true,
};
const stage = (settings: Partial<StageSettings> = {}) => stageTarget('ecs-ec2-keeper', 'dev', { ...DEFAULTS, ...settings });

/** The line the doctor prints for one row (the table's second line, after the header). */
const printed = (row: Row) => formatTable([row]).split('\n')[1]!.replace(/\s+/g, ' ');

const rule = (logical: string, name: string): StackResource =>
  ({ LogicalResourceId: logical, PhysicalResourceId: name, ResourceType: 'AWS::Events::Rule' }) as StackResource;
/** The rules of a packaged stack (serverless.yml and the logical IDs the Serverless Framework gives). */
const STACK_RULES = [
  rule('SpotWarningRule', 'ecs-ec2-keeper-dev-SpotWarningRule-A1'),
  rule('SpotRebalanceRule', 'ecs-ec2-keeper-dev-SpotRebalanceRule-B2'),
  rule('SpotStateChangeRule', 'ecs-ec2-keeper-dev-SpotStateChangeRule-C3'),
  rule('SpotRunningRule', 'ecs-ec2-keeper-dev-SpotRunningRule-D4'),
  rule('ScheduledEventRule', 'ecs-ec2-keeper-dev-ScheduledEventRule-E5'),
  rule('ScaleInSweeperEventsRuleSchedule1', 'ecs-ec2-keeper-dev-ScaleInSweeperEventsRuleSchedu-F6'),
  rule('TaskStoppedRule', 'ecs-ec2-keeper-dev-TaskStoppedRule-E5'),
  { LogicalResourceId: 'SpotWarningsQueue', PhysicalResourceId: 'https://sqs/queue', ResourceType: 'AWS::SQS::Queue' } as StackResource,
];

function deployed(states: Record<string, 'ENABLED' | 'DISABLED'>) {
  cloudFormationMock.on(DescribeStackResourcesCommand, { StackName: 'ecs-ec2-keeper-dev' }).resolves({ StackResources: STACK_RULES });
  for (const resource of STACK_RULES.filter((r) => r.ResourceType === 'AWS::Events::Rule')) {
    eventBridgeMock.on(DescribeRuleCommand, { Name: resource.PhysicalResourceId }).resolves({ Name: resource.PhysicalResourceId, State: states[resource.LogicalResourceId!] ?? 'DISABLED' });
  }
}
const DEFAULT_STATES = { SpotWarningRule: 'ENABLED', ScaleInSweeperEventsRuleSchedule1: 'ENABLED', TaskStoppedRule: 'ENABLED' } as const;

beforeEach(() => {
  cloudFormationMock.reset();
  eventBridgeMock.reset();
  lambdaMock.reset();
});
afterAll(() => {
  cloudFormationMock.restore();
  eventBridgeMock.restore();
  lambdaMock.restore();
});

describe('EventBridge rules enabled', () => {
  it('passes when every rule the stage enables is ENABLED and the others DISABLED', async () => {
    deployed(DEFAULT_STATES);
    const row = await checkRules(clients, stage());
    expect(printed(row)).toBe('stack ecs-ec2-keeper-dev EventBridge rules enabled PASS enabled as the stage sets: SpotWarningRule, sweeper schedule, lifecycle task rule');
    expect(eventBridgeMock.commandCalls(DescribeRuleCommand)).toHaveLength(7);
  });

  it('follows the stage: rebalanceDrain enables the rebalance and running rules, sweepEnabled=false the schedule off', async () => {
    deployed({ ...DEFAULT_STATES, ScaleInSweeperEventsRuleSchedule1: 'DISABLED', SpotRebalanceRule: 'ENABLED', SpotRunningRule: 'ENABLED' });
    const row = await checkRules(clients, stage({ rebalanceRuleState: 'ENABLED', runningRuleState: 'ENABLED', sweepEnabled: false }));
    expect(row.status).toBe('pass');
    expect(row.detail).toBe('enabled as the stage sets: SpotWarningRule, SpotRebalanceRule, SpotRunningRule, lifecycle task rule');
  });

  it('fails when the Spot warning rule is DISABLED (someone turned it off in the console)', async () => {
    deployed({ ...DEFAULT_STATES, SpotWarningRule: 'DISABLED' });
    const row = await checkRules(clients, stage());
    expect(printed(row)).toBe('stack ecs-ec2-keeper-dev EventBridge rules enabled FAIL the stage enables but the stack has SpotWarningRule DISABLED (deploy the stage again)');
  });

  it('fails when an optional rule the stage enables is DISABLED in the stack', async () => {
    deployed(DEFAULT_STATES);
    const row = await checkRules(clients, stage({ scheduledEventRuleState: 'ENABLED' }));
    expect(row).toMatchObject({ status: 'fail', detail: expect.stringContaining('ScheduledEventRule DISABLED') });
  });

  it('warns when a rule the stage disables is ENABLED', async () => {
    deployed({ ...DEFAULT_STATES, SpotStateChangeRule: 'ENABLED' });
    const row = await checkRules(clients, stage());
    expect(printed(row)).toBe('stack ecs-ec2-keeper-dev EventBridge rules enabled WARN enabled though the stage disables: SpotStateChangeRule (a deploy turns them off)');
  });

  it('says "not deployed" (a warning, not a pass) when the stack does not exist', async () => {
    cloudFormationMock.on(DescribeStackResourcesCommand).rejects(Object.assign(new Error('Stack with id ecs-ec2-keeper-dev does not exist'), { name: 'ValidationError' }));
    const row = await checkRules(clients, stage());
    expect(printed(row)).toBe('stack ecs-ec2-keeper-dev EventBridge rules enabled WARN not deployed: no stack ecs-ec2-keeper-dev in this account and Region');
    expect(eventBridgeMock.commandCalls(DescribeRuleCommand)).toHaveLength(0);
  });

  it('is unknown when CloudFormation or EventBridge cannot answer (no permission, unknown operation, no connection)', async () => {
    cloudFormationMock.on(DescribeStackResourcesCommand).rejects(Object.assign(new Error('User is not authorized to perform: cloudformation:DescribeStackResources'), { name: 'AccessDenied' }));
    expect(printed(await checkRules(clients, stage()))).toBe(
      'stack ecs-ec2-keeper-dev EventBridge rules enabled UNKNOWN cannot read: AccessDenied: User is not authorized to perform: cloudformation:DescribeStackResources',
    );
    cloudFormationMock.reset();
    cloudFormationMock.on(DescribeStackResourcesCommand).rejects(Object.assign(new Error('The action DescribeStackResources is not valid for this web service.'), { name: 'InvalidAction' }));
    expect((await checkRules(clients, stage())).status).toBe('unknown');
    cloudFormationMock.reset();
    deployed(DEFAULT_STATES);
    eventBridgeMock.on(DescribeRuleCommand).rejects(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { name: 'Error', code: 'ECONNREFUSED' }));
    expect(await checkRules(clients, stage())).toMatchObject({ status: 'unknown', detail: 'cannot read: Error: connect ECONNREFUSED 127.0.0.1:4566' });
  });
});

describe('Lambda concurrency', () => {
  const account = (limit: number, unreserved: number) => lambdaMock.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: limit, UnreservedConcurrentExecutions: unreserved } });
  const notFound = () => new ResourceNotFoundException({ message: 'Function not found', $metadata: {} });

  it('passes a default stage (no reservation) in an account with the usual limit', async () => {
    account(1000, 1000);
    expect(printed(await checkConcurrency(clients, stage()))).toBe('account Lambda concurrency PASS limit 1000, unreserved 1000');
    expect(lambdaMock.commandCalls(GetFunctionConcurrencyCommand)).toHaveLength(0);
  });

  it('passes a reservation that leaves at least 100 unreserved', async () => {
    account(1000, 1000);
    lambdaMock.on(GetFunctionConcurrencyCommand).rejects(notFound());
    expect(printed(await checkConcurrency(clients, stage({ sweeperReservedConcurrency: 1, lifecycleReservedConcurrency: 50 })))).toBe(
      'account Lambda concurrency PASS limit 1000, unreserved 1000, 949 after the stage\'s reservations',
    );
  });

  it('warns when the account limit is small and the stage reserves nothing', async () => {
    account(50, 50);
    expect(printed(await checkConcurrency(clients, stage()))).toBe(
      "account Lambda concurrency WARN limit 50, unreserved 50: a Spot storm or a fleet's scale-in shares this small limit with every function of the account (ask for a quota increase)",
    );
  });

  it('fails a reservation that would leave less than 100 unreserved (a sandbox account of 10)', async () => {
    account(10, 10);
    lambdaMock.on(GetFunctionConcurrencyCommand).rejects(notFound());
    expect(printed(await checkConcurrency(clients, stage({ sweeperReservedConcurrency: 1 })))).toBe(
      'account Lambda concurrency FAIL limit 10, unreserved 10: sweeperReservedConcurrency=1 would leave 9 unreserved, Lambda keeps at least 100 (the deploy fails; leave them empty or raise the quota)',
    );
  });

  it('counts back the reservation the deployed functions already hold', async () => {
    // 1000 in the account, 50 already reserved by the deployed lifecycle drainer, 860 by others.
    account(1000, 90);
    lambdaMock.on(GetFunctionConcurrencyCommand, { FunctionName: 'ecs-ec2-keeper-dev-lifecycleHook' }).resolves({ ReservedConcurrentExecutions: 50 });
    lambdaMock.on(GetFunctionConcurrencyCommand, { FunctionName: 'ecs-ec2-keeper-dev-scaleInSweeper' }).resolves({});
    expect(await checkConcurrency(clients, stage({ lifecycleReservedConcurrency: 40 }))).toMatchObject({ status: 'pass', detail: 'limit 1000, unreserved 90, 100 after the stage\'s reservations' });
    expect(await checkConcurrency(clients, stage({ lifecycleReservedConcurrency: 41 }))).toMatchObject({ status: 'fail', detail: expect.stringContaining('would leave 99 unreserved') });
  });

  it('is unknown when Lambda cannot answer, and when the answer lacks the limit', async () => {
    lambdaMock.on(GetAccountSettingsCommand).rejects(Object.assign(new Error('User is not authorized to perform: lambda:GetAccountSettings'), { name: 'AccessDeniedException' }));
    expect(printed(await checkConcurrency(clients, stage()))).toBe('account Lambda concurrency UNKNOWN cannot read: AccessDeniedException: User is not authorized to perform: lambda:GetAccountSettings');
    lambdaMock.reset();
    lambdaMock.on(GetAccountSettingsCommand).resolves({});
    expect(printed(await checkConcurrency(clients, stage()))).toBe('account Lambda concurrency UNKNOWN GetAccountSettings did not return the account limit');
    lambdaMock.reset();
    account(10, 10);
    lambdaMock.on(GetFunctionConcurrencyCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
    expect((await checkConcurrency(clients, stage({ sweeperReservedConcurrency: 1 }))).status).toBe('unknown');
  });
});
