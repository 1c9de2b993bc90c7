import type { NormalizedSchema } from '@smithy/core/schema';

/**
 * Walks an SDK schema to move values between the wire and the API's typed objects, in the four
 * directions a server needs: JSON request in, JSON response out, query request in, XML response out.
 * Each mirrors what the installed SDK does in the other direction (`JsonShapeSerializer`,
 * `QueryShapeSerializer`, `XmlShapeDeserializer` in @aws-sdk/core), so the rules below (member
 * names, `member`/`item` wrappers, EC2 capitalisation, timestamp formats) are theirs.
 *
 * Members the schema does not know are dropped on the way in and on the way out, as the real
 * services do: the world sees only modelled input, the client only modelled output.
 */

/** The request does not fit the operation's shape (wrong type, bad number, bad timestamp). */
export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

type TimestampFormat = 5 | 6 | 7; // date-time, http-date, epoch-seconds (Smithy schema ids)

function timestampFormat(ns: NormalizedSchema, fallback: TimestampFormat): TimestampFormat {
  const id = ns.getSchema();
  return id === 5 || id === 6 || id === 7 ? id : fallback;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function where(path: string): string {
  return path || 'the request';
}

/** A timestamp from the world: a Date per the seam's contract; epoch milliseconds or a parsable string are tolerated. */
function toDate(value: unknown): Date | undefined {
  const date = value instanceof Date ? value : typeof value === 'number' || typeof value === 'string' ? new Date(value) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

function formatTimestamp(date: Date, format: TimestampFormat): string | number {
  if (format === 7) return date.getTime() / 1000;
  if (format === 6) return date.toUTCString();
  return date.toISOString();
}

function parseTimestamp(value: unknown, format: TimestampFormat, path: string): Date {
  let date: Date | undefined;
  if (typeof value === 'number') date = new Date(value * 1000);
  else if (typeof value === 'string') date = format === 7 && /^-?\d+(\.\d+)?$/.test(value) ? new Date(Number(value) * 1000) : new Date(value);
  if (!date || Number.isNaN(date.getTime())) throw new ShapeError(`Invalid timestamp at ${where(path)}`);
  return date;
}

// ---------------------------------------------------------------------------------------------
// AWS JSON 1.0 / 1.1: member names as modelled, timestamps as epoch seconds, blobs base64.

export function readJson(ns: NormalizedSchema, value: unknown, path = ''): unknown {
  if (ns.isUnitSchema()) return undefined;
  if (value === null || value === undefined) return undefined;
  if (ns.isStructSchema()) {
    if (!isRecord(value)) throw new ShapeError(`Expected an object at ${where(path)}`);
    const out: Record<string, unknown> = {};
    for (const [name, member] of ns.structIterator()) {
      const read = readJson(member, value[name], path ? `${path}.${name}` : name);
      if (read !== undefined) out[name] = read;
    }
    return out;
  }
  if (ns.isListSchema()) {
    if (!Array.isArray(value)) throw new ShapeError(`Expected a list at ${where(path)}`);
    const item = ns.getValueSchema();
    return value.map((entry, index) => readJson(item, entry, `${path}[${index}]`));
  }
  if (ns.isMapSchema()) {
    if (!isRecord(value)) throw new ShapeError(`Expected a map at ${where(path)}`);
    const entrySchema = ns.getValueSchema();
    // fromEntries defines own properties, so a "__proto__" key stays a key.
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, readJson(entrySchema, entry, `${path}.${key}`)]));
  }
  if (ns.isTimestampSchema()) return parseTimestamp(value, timestampFormat(ns, 7), path);
  if (ns.isBlobSchema()) {
    if (typeof value !== 'string') throw new ShapeError(`Expected base64 text at ${where(path)}`);
    return new Uint8Array(Buffer.from(value, 'base64'));
  }
  const expected = ns.isBooleanSchema() ? 'boolean' : ns.isNumericSchema() ? 'number' : ns.isStringSchema() ? 'string' : undefined;
  if (expected && typeof value !== expected) throw new ShapeError(`Expected a ${expected} at ${where(path)}`);
  return value; // documents and big numbers pass through
}

export function writeJson(ns: NormalizedSchema, value: unknown): unknown {
  if (ns.isUnitSchema()) return undefined;
  if (value === null || value === undefined) return undefined;
  if (ns.isStructSchema()) {
    if (!isRecord(value)) return undefined;
    const out: Record<string, unknown> = {};
    for (const [name, member] of ns.structIterator()) {
      const written = writeJson(member, value[name]);
      if (written !== undefined) out[name] = written;
    }
    return out;
  }
  if (ns.isListSchema()) {
    if (!Array.isArray(value)) return undefined;
    const item = ns.getValueSchema();
    return value.map((entry) => writeJson(item, entry) ?? null);
  }
  if (ns.isMapSchema()) {
    if (!isRecord(value)) return undefined;
    const entrySchema = ns.getValueSchema();
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, writeJson(entrySchema, entry) ?? null]));
  }
  if (ns.isTimestampSchema()) {
    const date = toDate(value);
    return date ? formatTimestamp(date, timestampFormat(ns, 7)) : undefined;
  }
  if (ns.isBlobSchema()) return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value;
  return value;
}

// ---------------------------------------------------------------------------------------------
// Query and EC2 query requests: `Action=…&Version=…` plus one form field per scalar, named by path.

export type QueryFlavor = 'query' | 'ec2';

/** Form fields of a query request, with every dotted prefix indexed so lists end where their keys end. */
export class QueryParams {
  private readonly values = new Map<string, string>();
  private readonly prefixes = new Set<string>();

  constructor(form: URLSearchParams) {
    for (const [key, value] of form) {
      this.values.set(key, value);
      for (let dot = key.indexOf('.'); dot !== -1; dot = key.indexOf('.', dot + 1)) this.prefixes.add(key.slice(0, dot));
    }
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  /** Whether anything at all was sent at or below `key`. */
  has(key: string): boolean {
    return this.values.has(key) || this.prefixes.has(key);
  }
}

/** A shape's `xmlName` trait, else `fallback`. */
function xmlName(traits: Record<string, unknown>, fallback: string): string {
  return typeof traits.xmlName === 'string' ? traits.xmlName : fallback;
}

/** The field name the SDK's QueryShapeSerializer.getKey gives a member. */
function memberKey(flavor: QueryFlavor, name: string, member: NormalizedSchema): string {
  const traits = member.getMergedTraits();
  if (flavor === 'ec2') {
    if (typeof traits.ec2QueryName === 'string') return traits.ec2QueryName;
    const key = xmlName(traits, name);
    return key.charAt(0).toUpperCase() + key.slice(1);
  }
  return xmlName(traits, name);
}

export function readQuery(ns: NormalizedSchema, params: QueryParams, flavor: QueryFlavor, prefix = ''): unknown {
  const join = (suffix: string) => (prefix ? `${prefix}.${suffix}` : suffix);
  if (ns.isStructSchema()) {
    if (prefix && !params.has(prefix)) return undefined;
    const out: Record<string, unknown> = {};
    for (const [name, member] of ns.structIterator()) {
      const read = readQuery(member, params, flavor, join(memberKey(flavor, name, member)));
      if (read !== undefined) out[name] = read;
    }
    return out;
  }
  if (!params.has(prefix)) return undefined;
  if (ns.isListSchema()) {
    // An empty list is sent as the bare key with an empty value.
    if (params.get(prefix) === '') return [];
    const item = ns.getValueSchema();
    const flat = flavor === 'ec2' || Boolean(ns.getMergedTraits().xmlFlattened);
    const base = flat ? prefix : join(xmlName(item.getMergedTraits(), 'member'));
    const out: unknown[] = [];
    for (let index = 1; params.has(`${base}.${index}`); index++) out.push(readQuery(item, params, flavor, `${base}.${index}`));
    return out;
  }
  if (ns.isMapSchema()) {
    const keyName = xmlName(ns.getKeySchema().getMergedTraits(), 'key');
    const valueName = xmlName(ns.getValueSchema().getMergedTraits(), 'value');
    const base = ns.getMergedTraits().xmlFlattened ? prefix : join('entry');
    const entries: [string, unknown][] = [];
    for (let index = 1; params.has(`${base}.${index}`); index++) {
      const key = params.get(`${base}.${index}.${keyName}`);
      if (key !== undefined) entries.push([key, readQuery(ns.getValueSchema(), params, flavor, `${base}.${index}.${valueName}`)]);
    }
    return Object.fromEntries(entries);
  }
  const raw = params.get(prefix);
  if (raw === undefined) return undefined;
  if (ns.isTimestampSchema()) return parseTimestamp(raw, timestampFormat(ns, 5), prefix);
  if (ns.isBooleanSchema()) {
    if (raw !== 'true' && raw !== 'false') throw new ShapeError(`Expected true or false at ${prefix}`);
    return raw === 'true';
  }
  if (ns.isNumericSchema()) {
    const number = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(number)) throw new ShapeError(`Expected a number at ${prefix}`);
    return number;
  }
  if (ns.isBlobSchema()) return new Uint8Array(Buffer.from(raw, 'base64'));
  return raw;
}

// ---------------------------------------------------------------------------------------------
// Query and EC2 XML responses, as a tree for fast-xml-parser's XMLBuilder (which escapes text).

/** The element name the SDK's XmlShapeDeserializer looks for: the member's xmlName, else its name. */
function elementName(name: string, member: NormalizedSchema): string {
  return xmlName(member.getMemberTraits(), name);
}

export type XmlTree = string | XmlTree[] | { [element: string]: XmlTree };

export function writeXml(ns: NormalizedSchema, value: unknown): XmlTree | undefined {
  if (ns.isUnitSchema()) return undefined;
  if (value === null || value === undefined) return undefined;
  if (ns.isStructSchema()) {
    if (!isRecord(value)) return undefined;
    const out: Record<string, XmlTree> = {};
    for (const [name, member] of ns.structIterator()) {
      const written = writeXml(member, value[name]);
      if (written !== undefined) out[elementName(name, member)] = written;
    }
    return out;
  }
  if (ns.isListSchema()) {
    if (!Array.isArray(value)) return undefined;
    const item = ns.getValueSchema();
    const items = value.map((entry) => writeXml(item, entry)).filter((entry): entry is XmlTree => entry !== undefined);
    // A flattened list repeats the member's own element; the builder does that for an array value.
    if (ns.getMergedTraits().xmlFlattened) return items.length > 0 ? items : undefined;
    if (items.length === 0) return '';
    return { [xmlName(item.getMergedTraits(), 'member')]: items };
  }
  if (ns.isMapSchema()) {
    if (!isRecord(value)) return undefined;
    const keyName = xmlName(ns.getKeySchema().getMergedTraits(), 'key');
    const valueName = xmlName(ns.getValueSchema().getMergedTraits(), 'value');
    const entries: XmlTree[] = [];
    for (const [key, entry] of Object.entries(value)) {
      const written = writeXml(ns.getValueSchema(), entry);
      if (written !== undefined) entries.push({ [keyName]: key, [valueName]: written });
    }
    if (ns.getMergedTraits().xmlFlattened) return entries.length > 0 ? entries : undefined;
    return entries.length > 0 ? { entry: entries } : '';
  }
  if (ns.isTimestampSchema()) {
    const date = toDate(value);
    return date ? String(formatTimestamp(date, timestampFormat(ns, 5))) : undefined;
  }
  if (ns.isBlobSchema() && value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'object') return undefined;
  return String(value);
}
