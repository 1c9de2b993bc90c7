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
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw new AwsApiError(code, `${name} must be a list of strings`, 400);
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
const TOKEN = /^sim1:(k?)(-?\d+)(?:~(\d+))?$/;

export interface PageOptions<T> {
  /**
   * Items returned in this answer when fewer than `pageSize` (the short-page fault): the answer
   * still carries a nextToken while items are left, even with no item at all.
   */
  length?: number;
  /**
   * Key-based tokens: each item's creation ordinal, ascending in `items`. The token names the last
   * key returned, so an item that drops out of the list between two pages makes no other item be
   * skipped (an offset would). Unset: offset tokens.
   */
  keyOf?: (item: T) => number;
}

/**
 * One page of `items`. Tokens are opaque to callers; a token that was not issued here is rejected
 * with `code`, as the services do.
 */
export function paginate<T>(
  items: readonly T[],
  pageSize: number,
  token: string | undefined,
  code: string,
  options: PageOptions<T> = {},
): { page: T[]; nextToken?: string } {
  let after: number | undefined;
  let offset = 0;
  let repeat = 0;
  const { keyOf } = options;
  if (token !== undefined && token !== '') {
    const match = TOKEN.exec(Buffer.from(token, 'base64url').toString('utf8'));
    if (!match || (match[1] === 'k') !== (keyOf !== undefined)) throw new AwsApiError(code, 'Invalid nextToken', 400);
    if (keyOf) after = Number(match[2]);
    else offset = Number(match[2]);
    repeat = Number(match[3] ?? 0);
  }
  const remaining = keyOf && after !== undefined ? items.filter((item) => keyOf(item) > after) : items.slice(offset);
  const length = Math.min(pageSize, options.length ?? pageSize);
  const page = remaining.slice(0, length);
  if (page.length >= remaining.length) return { page };
  // An empty page repeats its position: the suffix keeps each token distinct.
  const suffix = page.length === 0 ? `~${repeat + 1}` : '';
  const position = keyOf ? `k${page.length > 0 ? keyOf(page[page.length - 1]!) : (after ?? -1)}` : String(offset + page.length);
  return { page, nextToken: Buffer.from(`${TOKEN_PREFIX}${position}${suffix}`, 'utf8').toString('base64url') };
}

export function chunkLimit(values: readonly unknown[] | undefined, max: number, name: string, code: string): void {
  if (values && values.length > max) throw new AwsApiError(code, `${name} can have at most ${max} items (${values.length} given)`, 400);
}
