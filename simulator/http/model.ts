import * as autoScaling from '@aws-sdk/client-auto-scaling';
import * as cloudWatch from '@aws-sdk/client-cloudwatch';
import * as ec2 from '@aws-sdk/client-ec2';
import * as ecs from '@aws-sdk/client-ecs';
import * as sns from '@aws-sdk/client-sns';
import { NormalizedSchema } from '@smithy/core/schema';
import type { ServiceName } from '../api';

/**
 * What the server needs to know about each service, and where it finds each operation's shape.
 *
 * The shapes are not written down here: every installed SDK client ships its service model as
 * static schemas (`DescribeTasks$ = [9, namespace, name, traits, () => input, () => output]`), the
 * very tables its own serializers walk. Reading them with the SDK's `NormalizedSchema` keeps the
 * server's idea of lists, structures, timestamps and XML names identical to the client's, for every
 * operation of the five services.
 *
 * The protocol constants below are the clients' `protocolSettings`; a test compares them with the
 * installed clients so an SDK upgrade that changes them cannot go unnoticed.
 */
export type WireProtocol = 'json1.1' | 'json1.0' | 'query' | 'ec2';

export interface ServiceModel {
  readonly service: ServiceName;
  /** Protocol the installed client speaks. */
  readonly protocol: WireProtocol;
  /** `X-Amz-Target` prefix for the JSON protocols; also the SDK's serviceTarget. */
  readonly target: string;
  /** `Version=` of the query protocols. */
  readonly version: string;
  readonly xmlNamespace: string;
  /** SigV4 signing name, as found in the Authorization header's credential scope. */
  readonly signingName: string;
  /** CloudWatch's JSON protocol is "query compatible": errors also carry `x-amzn-query-error`. */
  readonly queryCompatible: boolean;
  readonly exports: Readonly<Record<string, unknown>>;
}

/** Each service's model; the signing name is the service's own name unless given, and only CloudWatch is query compatible. */
const MODELS: Record<ServiceName, Omit<ServiceModel, 'service' | 'signingName' | 'queryCompatible'> & Partial<ServiceModel>> = {
  ecs: { protocol: 'json1.1', target: 'AmazonEC2ContainerServiceV20141113', version: '2014-11-13', xmlNamespace: 'http://ecs.amazonaws.com/doc/2014-11-13/', exports: ecs },
  autoscaling: { protocol: 'query', target: 'AutoScaling_2011_01_01', version: '2011-01-01', xmlNamespace: 'http://autoscaling.amazonaws.com/doc/2011-01-01/', exports: autoScaling },
  sns: { protocol: 'query', target: 'AmazonSimpleNotificationService', version: '2010-03-31', xmlNamespace: 'http://sns.amazonaws.com/doc/2010-03-31/', exports: sns },
  ec2: { protocol: 'ec2', target: 'AmazonEC2', version: '2016-11-15', xmlNamespace: 'http://ec2.amazonaws.com/doc/2016-11-15', exports: ec2 },
  cloudwatch: {
    protocol: 'json1.0',
    target: 'GraniteServiceVersion20100801',
    version: '2010-08-01',
    xmlNamespace: 'http://monitoring.amazonaws.com/doc/2010-08-01/',
    signingName: 'monitoring',
    queryCompatible: true,
    exports: cloudWatch,
  },
};

export const SERVICES = Object.fromEntries(
  Object.entries(MODELS).map(([service, model]) => [service, { service, signingName: service, queryCompatible: false, ...model }]),
) as Readonly<Record<ServiceName, ServiceModel>>;

export interface OperationModel {
  readonly service: ServiceName;
  readonly name: string;
  readonly input: NormalizedSchema;
  readonly output: NormalizedSchema;
}

const cache = new Map<string, OperationModel | null>();

/** The operation's input and output schemas, or undefined when the service has no such operation. */
export function findOperation(service: ServiceName, name: string): OperationModel | undefined {
  const key = `${service}:${name}`;
  let found = cache.get(key);
  if (found === undefined) {
    found = loadOperation(service, name);
    cache.set(key, found);
  }
  return found ?? undefined;
}

function loadOperation(service: ServiceName, name: string): OperationModel | null {
  // Operation names are PascalCase identifiers; anything else (including `__proto__`) is unknown.
  if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) return null;
  const exported = SERVICES[service].exports[`${name}$`];
  // An operation schema is the tuple [9, namespace, name, traits, input, output].
  if (!Array.isArray(exported) || exported[0] !== 9 || exported[2] !== name) return null;
  return {
    service,
    name,
    input: NormalizedSchema.of(exported[4]),
    output: NormalizedSchema.of(exported[5]),
  };
}

/** Which service a JSON request addresses, from the `X-Amz-Target` prefix. */
export function serviceForTarget(target: string): ServiceModel | undefined {
  return Object.values(SERVICES).find((model) => model.protocol.startsWith('json') && model.target === target);
}

/** Which service a query request addresses: the SigV4 credential scope, else the API version. */
export function serviceForQuery(signingName: string | undefined, version: string | undefined): ServiceModel | undefined {
  const models = Object.values(SERVICES);
  return (
    (signingName ? models.find((model) => model.signingName === signingName) : undefined) ??
    (version ? models.find((model) => model.version === version) : undefined)
  );
}
