import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `serverless package`, run offline the way `npx serverless package` runs, and the template it writes. */
export const ROOT = join(__dirname, '../..');
export const SLS = join(ROOT, 'node_modules/.bin/serverless');
/** No telemetry, and nothing from the developer's shell that packaging reads (DRY_RUN, the Region). */
export const SLS_ENV = { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', DRY_RUN: '', AWS_REGION: '', AWS_DEFAULT_REGION: '' };

export type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };
export type Template = { Resources: Record<string, Resource>; Outputs: Record<string, { Export: { Name: string } }> };
export type Statement = { Effect?: string; Action: string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };

/** The CloudFormation template of the stack packaged with these stage parameters (`name=value`) and other CLI arguments. */
export function packageStack(params: readonly string[], args: readonly string[] = []): Template {
  const dir = mkdtempSync(join(tmpdir(), 'sls-package-'));
  try {
    execFileSync(SLS, ['package', '--package', dir, ...params.map((param) => `--param=${param}`), ...args], { cwd: ROOT, env: SLS_ENV, stdio: 'pipe' });
    return JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The template's resources of one CloudFormation type, with their logical ids. */
export const ofType = (template: Template, type: string): [string, Resource][] =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

/** Every statement of a role's inline policies. */
export const statementsOf = (template: Template, roleId: string): Statement[] =>
  ((template.Resources[roleId]?.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]).flatMap((policy) => policy.PolicyDocument.Statement);
