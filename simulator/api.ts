/**
 * The seam between the simulator's wire protocols and its world.
 *
 * The HTTP server decodes a request (ECS JSON 1.1, Auto Scaling / SNS / EC2 query, CloudWatch) into
 * an operation name and an input object, calls `ControlPlane.call`, and encodes the output or the
 * error the way the real service does. Input and output objects use the member names of the AWS API
 * model (ECS camelCase, the query services PascalCase), lists as arrays, timestamps as Date.
 */
export type ServiceName = 'ecs' | 'autoscaling' | 'sns' | 'ec2' | 'cloudwatch';

export type ApiInput = Record<string, unknown>;
export type ApiOutput = Record<string, unknown>;

export interface ControlPlane {
  call(service: ServiceName, operation: string, input: ApiInput): Promise<ApiOutput>;
}

/** An error the way AWS reports it: code (the SDK's `error.name`), message, HTTP status. */
export class AwsApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus: number = 400,
  ) {
    super(message);
    this.name = code;
  }

  /** Sender (client) faults are 4xx; receiver (server) faults are 5xx. */
  get isSenderFault(): boolean {
    return this.httpStatus < 500;
  }
}
