import type { Env } from '../../lib/config';
import { FUNCTIONS } from '../../lib/functions';
import { ofType, packageStack } from './stack';

/**
 * The definitions (lib/<fn>/definition.ts) against what serverless.yml deploys, read from the
 * CloudFormation template `serverless package` writes (default stage parameters): the same
 * functions, handlers, timeouts and memory, and exactly the environment each configuration loader
 * reads. The simulator, the benchmarks and the tests run the definitions, so this is what keeps
 * them true to the deployment.
 */
interface LambdaFunction {
  Handler: string;
  Timeout: number;
  MemorySize: number;
  ReservedConcurrentExecutions?: number;
  Environment?: { Variables?: Record<string, string> };
}

/** Set in serverless.yml for the runtime, not for our code: Node's flags and Powertools' service name. */
const RUNTIME_VARIABLES = ['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME'];

/** serverless.yml's function key as CloudFormation names the function's resource. */
const logicalId = (name: string) => `${name.charAt(0).toUpperCase()}${name.slice(1)}LambdaFunction`;

/** Every variable a loader reads, recorded by handing it an environment that notes each lookup. */
function variablesRead(loadConfig: (env: Env) => unknown): string[] {
  const read = new Set<string>();
  const env = new Proxy({} as Env, {
    get(target, property) {
      if (typeof property === 'string') read.add(property);
      return Reflect.get(target, property) as unknown;
    },
  });
  loadConfig(env);
  return [...read].sort();
}

interface EventInvokeConfig {
  FunctionName: { Ref?: string };
  Qualifier: string;
  MaximumRetryAttempts?: number;
  MaximumEventAgeInSeconds?: number;
}

let functions: Record<string, LambdaFunction>;
let invokeConfigs: EventInvokeConfig[];

beforeAll(() => {
  // `clusters` is required and the sweeper stays in dry run until its reserve is set (deploy/settings.cjs):
  // the code's defaults, stated as stage parameters, are what this package must deploy unchanged.
  const template = packageStack(['clusters=*', 'minFreeCpu=1024', 'minFreeMemory=2048']);
  invokeConfigs = ofType(template, 'AWS::Lambda::EventInvokeConfig').map(([, resource]) => resource.Properties as unknown as EventInvokeConfig);
  functions = Object.fromEntries(ofType(template, 'AWS::Lambda::Function').map(([id, resource]) => [id, resource.Properties as unknown as LambdaFunction]));
}, 180_000);

describe('function definitions against serverless.yml', () => {
  it('deploys exactly the defined functions', () => {
    expect(Object.keys(functions).sort()).toEqual(FUNCTIONS.map((definition) => logicalId(definition.name)).sort());
  });

  describe.each(FUNCTIONS.map((definition) => [definition.name, definition] as const))('%s', (_name, definition) => {
    const deployed = () => functions[logicalId(definition.name)]!;
    const variables = () => deployed().Environment?.Variables ?? {};

    it('has the deployed handler, timeout and memory', () => {
      expect({ handler: deployed().Handler, timeoutSeconds: deployed().Timeout, memoryMb: deployed().MemorySize }).toEqual({
        handler: definition.handler,
        timeoutSeconds: definition.timeoutSeconds,
        memoryMb: definition.memoryMb,
      });
    });

    it('has the deployed asynchronous retries, maximum event age and reserved concurrency', () => {
      // The simulator's Lambda runtime retries and drops events by these figures (simulator/runner/lambda.ts).
      const configs = invokeConfigs.filter((config) => config.FunctionName.Ref === logicalId(definition.name));
      expect(configs).toHaveLength(1);
      const deployedAsync = {
        // Lambda's defaults when the template leaves a field out: 2 retries, 21600 s.
        maximumRetryAttempts: configs[0]!.MaximumRetryAttempts ?? 2,
        maximumEventAgeSeconds: configs[0]!.MaximumEventAgeInSeconds ?? 21_600,
        ...(deployed().ReservedConcurrentExecutions !== undefined ? { reservedConcurrency: deployed().ReservedConcurrentExecutions } : {}),
      };
      expect(deployedAsync).toEqual(definition.async);
    });

    it('is deployed with every variable its configuration reads, and with no other', () => {
      const set = Object.keys(variables()).filter((name) => !RUNTIME_VARIABLES.includes(name));
      expect(set.sort()).toEqual(variablesRead(definition.loadConfig));
    });

    it("is deployed with the configuration's own defaults", () => {
      // One setting depends on the stage by design: the namespace carries it (serverless.yml params).
      expect(definition.loadConfig(variables())).toEqual({ ...definition.loadConfig({}), metricsNamespace: 'EcsEc2Keeper/dev' });
    });
  });
});
