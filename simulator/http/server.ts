import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { XMLBuilder } from 'fast-xml-parser';
import { AwsApiError, type ControlPlane, type ServiceName } from '../api';
import { findOperation, serviceForQuery, serviceForTarget, type OperationModel, type ServiceModel } from './model';
import { QueryParams, readJson, readQuery, ShapeError, writeJson, writeXml, type XmlTree } from './shapes';

/**
 * The simulator's HTTP endpoint: the real wire protocols of ECS (AWS JSON 1.1), CloudWatch (AWS JSON
 * 1.0, query compatible) and Auto Scaling, SNS and EC2 (query, EC2 query), so that unmodified SDK v3
 * clients reach it through `endpoint` or `AWS_ENDPOINT_URL`.
 *
 * One port serves every service. A JSON request names its service in `X-Amz-Target`; a query
 * request by the signing name in its SigV4 credential scope (`…/us-east-1/autoscaling/aws4_request`),
 * else by its `Version`. Signatures are not verified: any credentials will do.
 *
 * The server only translates. What an operation does, and every AwsApiError it throws, comes from
 * the ControlPlane; those errors are encoded the way the real service encodes them.
 */
export interface ServerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Only the loopback interface: the simulator is never reachable from the network. */
  host?: '127.0.0.1';
  /** Called when the control plane fails with something other than an AwsApiError (a bug, answered as 500 InternalFailure). */
  onInternalError?: (error: unknown, call: { service?: ServiceName; operation?: string }) => void;
  /**
   * Read-only views of the simulator for people following a run by hand: `GET /_sim/<name>` answers
   * `views[name](query)` as JSON. Not an AWS API; no SDK request uses the path.
   */
  views?: Readonly<Record<string, (query: URLSearchParams) => unknown>>;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

// Far above any request the suite sends (PutMetricData is capped at 1 MB by CloudWatch).
const MAX_BODY_BYTES = 4 * 1024 * 1024;

const xml = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false });

export async function startServer(plane: ControlPlane, options: ServerOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const onInternalError =
    options.onInternalError ??
    ((error, call) =>
      console.error(JSON.stringify({ message: 'Simulator request failed', ...call, error: error instanceof Error ? (error.stack ?? error.message) : String(error) })));

  const server = createServer((request, response) => {
    handle(plane, onInternalError, request, response, options.views ?? {}).catch((error: unknown) => {
      // Only reachable if reading the request or writing the answer failed (the client went away).
      response.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  // SDK clients keep connections alive and reuse them after idle gaps (a virtual clock paced for a
  // demo has many): a short server-side timeout would race their reuse into ECONNRESETs the SDK
  // retries. Idle sockets stay open instead; close() ends them all at once.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

type InternalErrorHandler = NonNullable<ServerOptions['onInternalError']>;

type Body = { text: string } | { problem: 'too large' | 'undecodable' };

async function readBody(request: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Read to the end even past the limit, so the client gets the answer rather than a reset socket.
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size <= MAX_BODY_BYTES) chunks.push(buffer);
  }
  if (size > MAX_BODY_BYTES) return { problem: 'too large' };
  return decodeBody(Buffer.concat(chunks), request.headers['content-encoding']);
}

function decodeBody(raw: Buffer, contentEncoding: string | undefined): Body {
  if (raw.length > MAX_BODY_BYTES) return { problem: 'too large' };
  // The CloudWatch client gzips PutMetricData bodies above 10 KB (its requestMinCompressionSizeBytes).
  if (!/\bgzip\b/i.test(contentEncoding ?? '')) return { text: raw.toString('utf8') };
  try {
    return { text: gunzipSync(raw, { maxOutputLength: MAX_BODY_BYTES }).toString('utf8') };
  } catch (error) {
    return { problem: error instanceof RangeError ? 'too large' : 'undecodable' };
  }
}

/** The answer to a body that could not be read, in the code each protocol uses. */
function bodyError(problem: 'too large' | 'undecodable', json: boolean): AwsApiError {
  if (problem === 'too large') return new AwsApiError(json ? 'SerializationException' : 'RequestEntityTooLarge', 'Request body too large', 413);
  return new AwsApiError(json ? 'SerializationException' : 'MalformedQueryString', 'Request body could not be decoded', 400);
}

async function handle(
  plane: ControlPlane,
  onInternalError: InternalErrorHandler,
  request: IncomingMessage,
  response: ServerResponse,
  views: NonNullable<ServerOptions['views']>,
): Promise<void> {
  const body = await readBody(request);
  const url = new URL(request.url ?? '/', 'http://simulator');
  if (request.method === 'GET' && url.pathname.startsWith('/_sim/')) {
    const view = Object.hasOwn(views, url.pathname.slice('/_sim/'.length)) ? views[url.pathname.slice('/_sim/'.length)] : undefined;
    const text = view ? JSON.stringify(view(url.searchParams), null, 2) : JSON.stringify({ message: `no view ${url.pathname}; views: ${Object.keys(views).join(', ')}` });
    response.writeHead(view ? 200 : 404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
    return;
  }
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  const reply = await respond(plane, onInternalError, { url: request.url ?? '/', header }, body);
  response.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
  response.end(reply.body);
}

/** One request as the protocols need it: its URL (path and query) and its headers by lower-case name. */
export interface WireRequest {
  url: string;
  headers: Readonly<Record<string, string | undefined>>;
  /** The body as sent (gzip-encoded when `content-encoding` says so). */
  body: Uint8Array;
}

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Answers one serialized request without a socket: the same decoding, routing and encoding as the
 * HTTP endpoint, for the in-process adapter (simulator/inprocess/).
 */
export function answerRequest(plane: ControlPlane, request: WireRequest, onInternalError: InternalErrorHandler = () => undefined): Promise<WireResponse> {
  const header = (name: string) => request.headers[name];
  return respond(plane, onInternalError, { url: request.url, header }, decodeBody(Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength), header('content-encoding')));
}

interface RequestHead {
  url: string;
  header(name: string): string | undefined;
}

async function respond(plane: ControlPlane, onInternalError: InternalErrorHandler, head: RequestHead, body: Body): Promise<WireResponse> {
  const requestId = randomUUID();
  const target = head.header('x-amz-target');
  let reply: Reply;
  try {
    reply = target !== undefined ? await handleJson(plane, onInternalError, target, body) : await handleQuery(plane, onInternalError, head, body);
  } catch (error) {
    // A bug of the server itself (an output it cannot encode): still an answer, not a reset socket the SDK would retry.
    onInternalError(error, {});
    reply = target !== undefined ? jsonError('application/x-amz-json-1.1', undefined, internalFailure()) : queryError(undefined, internalFailure());
  }
  return { status: reply.status, headers: { ...reply.headers, 'x-amzn-RequestId': requestId }, body: reply.body(requestId) };
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body(requestId: string): string;
}

/** What the control plane answered, or the AwsApiError it threw (anything else becomes InternalFailure). */
async function invoke(
  plane: ControlPlane,
  onInternalError: InternalErrorHandler,
  operation: OperationModel,
  input: Record<string, unknown>,
): Promise<{ output: Record<string, unknown> } | { error: AwsApiError }> {
  try {
    return { output: await plane.call(operation.service, operation.name, input) };
  } catch (error) {
    if (error instanceof AwsApiError) return { error };
    onInternalError(error, { service: operation.service, operation: operation.name });
    return { error: internalFailure() };
  }
}

function internalFailure(): AwsApiError {
  return new AwsApiError('InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.', 500);
}

// ---------------------------------------------------------------------------------------------
// AWS JSON 1.0 / 1.1

async function handleJson(plane: ControlPlane, onInternalError: InternalErrorHandler, target: string, body: Body): Promise<Reply> {
  const dot = target.lastIndexOf('.');
  const model = serviceForTarget(target.slice(0, dot));
  const contentType = `application/x-amz-json-${model?.protocol === 'json1.0' ? '1.0' : '1.1'}`;
  const fail = (error: AwsApiError) => jsonError(contentType, model, error);
  if ('problem' in body) return fail(bodyError(body.problem, true));
  const operation = model ? findOperation(model.service, target.slice(dot + 1)) : undefined;
  if (!operation) return fail(new AwsApiError('UnknownOperationException', `Unknown operation ${target}`, 400));

  let input: Record<string, unknown>;
  try {
    input = readJson(operation.input, JSON.parse(body.text === '' ? '{}' : body.text)) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof ShapeError) return fail(new AwsApiError('SerializationException', error.message, 400));
    throw error;
  }
  const result = await invoke(plane, onInternalError, operation, input ?? {});
  if ('error' in result) return fail(result.error);
  const json = JSON.stringify(writeJson(operation.output, result.output) ?? {});
  return { status: 200, headers: { 'content-type': contentType }, body: () => json };
}

function jsonError(contentType: string, model: ServiceModel | undefined, error: AwsApiError): Reply {
  const headers: Record<string, string> = { 'content-type': contentType, 'x-amzn-ErrorType': error.code };
  // Query-compatible services (CloudWatch) also send the query error code and fault type.
  if (model?.queryCompatible) headers['x-amzn-query-error'] = `${error.code};${error.isSenderFault ? 'Sender' : 'Receiver'}`;
  const json = JSON.stringify({ __type: error.code, message: error.message });
  return { status: error.httpStatus, headers, body: () => json };
}

// ---------------------------------------------------------------------------------------------
// Query and EC2 query

const SIGNING_NAME = /Credential=[^/,\s]+\/[^/]+\/[^/]+\/([^/]+)\/aws4_request/;

async function handleQuery(plane: ControlPlane, onInternalError: InternalErrorHandler, head: RequestHead, body: Body): Promise<Reply> {
  const form = new URLSearchParams(new URL(head.url, 'http://localhost').search);
  if ('text' in body) for (const [key, value] of new URLSearchParams(body.text)) form.append(key, value);
  const action = form.get('Action') ?? undefined;
  const model = serviceForQuery(SIGNING_NAME.exec(head.header('authorization') ?? '')?.[1], form.get('Version') ?? undefined);
  const fail = (error: AwsApiError) => queryError(model, error);

  if ('problem' in body) return fail(bodyError(body.problem, false));
  if (!action) return fail(new AwsApiError('MissingAction', 'The request must contain the parameter Action.', 400));
  const operation = model ? findOperation(model.service, action) : undefined;
  if (!model || !operation) return fail(new AwsApiError('InvalidAction', `The action ${action} is not valid for this web service.`, 400));

  let input: Record<string, unknown>;
  try {
    input = readQuery(operation.input, new QueryParams(form), model.service === 'ec2' ? 'ec2' : 'query') as Record<string, unknown>;
  } catch (error) {
    if (error instanceof ShapeError) return fail(new AwsApiError(invalidParameterCode(model.service), error.message, 400));
    throw error;
  }
  const result = await invoke(plane, onInternalError, operation, input ?? {});
  if ('error' in result) return fail(result.error);

  const tree = writeXml(operation.output, result.output);
  const root = `${operation.name}Response`;
  const content = (requestId: string): Record<string, XmlTree> =>
    model.service === 'ec2'
      ? // EC2: members directly under the root element, request id first, no Result wrapper.
        { '@_xmlns': model.xmlNamespace, requestId, ...(typeof tree === 'object' && !Array.isArray(tree) ? tree : {}) }
      : {
          '@_xmlns': model.xmlNamespace,
          ...(operation.output.isStructSchema() ? { [`${operation.name}Result`]: tree ?? '' } : {}),
          ResponseMetadata: { RequestId: requestId },
        };
  return { status: 200, headers: { 'content-type': 'text/xml' }, body: (requestId) => document({ [root]: content(requestId) }) };
}

/** The code each query service uses for a parameter of the wrong type. */
function invalidParameterCode(service: ServiceName): string {
  if (service === 'ec2') return 'InvalidParameterValue';
  if (service === 'sns') return 'InvalidParameter';
  return 'ValidationError';
}

function queryError(model: ServiceModel | undefined, error: AwsApiError): Reply {
  const body = (requestId: string) =>
    model?.service === 'ec2'
      ? document({ Response: { Errors: { Error: { Code: error.code, Message: error.message } }, RequestID: requestId } })
      : document({
          ErrorResponse: {
            ...(model ? { '@_xmlns': model.xmlNamespace } : {}),
            Error: { Type: error.isSenderFault ? 'Sender' : 'Receiver', Code: error.code, Message: error.message },
            RequestId: requestId,
          },
        });
  return { status: error.httpStatus, headers: { 'content-type': 'text/xml' }, body };
}

function document(tree: Record<string, XmlTree>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${xml.build(tree) as string}`;
}
