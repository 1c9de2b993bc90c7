import { z } from 'zod';
import { isRegionName } from '../aws/partitions';

/** A timestamp any of the sources writes: ISO 8601, or an RFC 1123 date (AWS Health). */
export const timestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'is not a timestamp');

/** Every problem of a parse, on one line: the path (`root` for the whole input) and its message. */
export function describeIssues(error: z.ZodError, root = 'event'): string {
  return error.issues.map((issue) => `${issue.path.join('.') || root}: ${issue.message}`).join('; ');
}

/**
 * The EventBridge envelope every event source shares. Unknown extra fields are allowed: AWS adds
 * fields over time. Regions of every partition are accepted (lib/aws/partitions.ts).
 */
export const eventBridgeEnvelope = z.object({
  version: z.string().optional(),
  id: z.string().min(1),
  'detail-type': z.string().min(1),
  source: z.string().min(1),
  account: z.string().regex(/^\d{12}$/, 'is not a 12-digit account id'),
  time: timestamp,
  region: z.string().refine(isRegionName, 'is not a Region name'),
  resources: z.array(z.string()).optional(),
  detail: z.record(z.string(), z.unknown()),
});
