import { AwsApiError, type ApiInput } from '../api';

/**
 * Reading operation inputs the way the services validate them. `code` is the error code the
 * service uses for a bad parameter (ECS InvalidParameterException, Auto Scaling ValidationError, …).
 */
export function readString(input: ApiInput, name: string, code: string, required = false): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) {
    if (required) throw new AwsApiError(code, `${name} is required`, 400);
    return undefined;
  }
  if (typeof value !== 'string') throw new AwsApiError(code, `${name} must be a string`, 400);
  return value;
}

export function readStrings(input: ApiInput, name: string, code: string): string[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new AwsApiError(code, `${name} must be a list of strings`, 400);
  }
  return value as string[];
}

export function readInteger(input: ApiInput, name: string, code: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number)) throw new AwsApiError(code, `${name} must be an integer`, 400);
  return number;
}

export function readBoolean(input: ApiInput, name: string, code: string): boolean | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  if (typeof value !== 'boolean') throw new AwsApiError(code, `${name} must be a boolean`, 400);
  return value;
}

export function readList(input: ApiInput, name: string): unknown[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? value : [value];
}

const TOKEN_PREFIX = 'sim1:';

/**
 * One page of `items`. Tokens are opaque to callers; a token that was not issued here is rejected
 * with `code`, as the services do.
 */
export function paginate<T>(items: readonly T[], pageSize: number, token: string | undefined, code: string): { page: T[]; nextToken?: string } {
  let offset = 0;
  if (token !== undefined && token !== '') {
    const decoded = Buffer.from(token, 'base64url').toString('utf8');
    if (!decoded.startsWith(TOKEN_PREFIX) || !/^\d+$/.test(decoded.slice(TOKEN_PREFIX.length))) {
      throw new AwsApiError(code, 'Invalid nextToken', 400);
    }
    offset = Number(decoded.slice(TOKEN_PREFIX.length));
  }
  const page = items.slice(offset, offset + pageSize);
  const next = offset + pageSize;
  return next < items.length ? { page, nextToken: Buffer.from(`${TOKEN_PREFIX}${next}`, 'utf8').toString('base64url') } : { page };
}

export function chunkLimit(values: readonly unknown[] | undefined, max: number, name: string, code: string): void {
  if (values && values.length > max) {
    throw new AwsApiError(code, `${name} can have at most ${max} items (${values.length} given)`, 400);
  }
}
