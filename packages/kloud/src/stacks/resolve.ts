/**
 * Turns a validated template plus a stack's inputs (variable values, credential bindings,
 * stored provisioners) into concrete machine specs: every `${var.NAME}` replaced, every
 * provisioner reduced to a name and its shell content. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { checkUserData } from '../cloudinit/user-data.js';
import { KloudError, kloudErrors, type Problem } from '../errors.js';
import type { StackTemplate } from './template.js';

export interface ResolvedProvisioner {
  name: string;
  content: string;
  sha1: string;
}

/** What one machine of a stack should be. `specHash` changes exactly when a rebuild is needed. */
export interface DesiredMachine {
  name: string;
  provider: string;
  /** The stored credential id bound to the template's credential name (undefined for local). */
  credentialId?: string;
  label: string;
  size?: string;
  image?: string;
  region?: string;
  userData?: string;
  extra?: Record<string, unknown>;
  provisioners: ResolvedProvisioner[];
  dependsOn: string[];
  onBuildFailure: 'destroy' | 'keep';
  specHash: string;
  provisionersHash: string;
}

export interface StackInputs {
  variables?: Record<string, string | number | boolean>;
  /** Template credential name → stored credential id. */
  credentials?: Record<string, string>;
  /** Slug `user/name` → shell content, for provisioners referenced by slug. */
  provisioners?: Record<string, string>;
  /** Prefix for generated labels (the stack's name). */
  stackName?: string;
}

const reference = /\$\{([^}]*)\}/g;

export function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** Fields whose change means the instance must be replaced. */
export const rebuildFields = [
  'provider',
  'credentialId',
  'size',
  'image',
  'region',
  'userData',
  'extra',
] as const;

export function resolveStack(template: StackTemplate, inputs: StackInputs = {}): DesiredMachine[] {
  const problems: Problem[] = [];
  const values = resolveVariables(template, inputs.variables ?? {}, problems);
  const interpolate = (text: string | undefined, path: string): string | undefined => {
    if (text === undefined) return undefined;
    return text.replace(reference, (whole, expr: string) => {
      const m = /^var\.([A-Za-z][A-Za-z0-9_-]*)$/.exec(expr.trim());
      if (!m) {
        problems.push({ path, message: `unknown reference "${whole}" (only \${var.NAME} is supported)` });
        return whole;
      }
      const value = values.get(m[1]!);
      if (value === undefined) {
        if (!(m[1]! in template.variables)) problems.push({ path, message: `unknown variable "${m[1]}"` });
        return whole;
      }
      return String(value);
    });
  };

  const machines: DesiredMachine[] = [];
  for (const [name, m] of Object.entries(template.machines)) {
    const at = `machines.${name}`;
    let credentialId: string | undefined;
    if (m.credential !== undefined) {
      credentialId = inputs.credentials?.[m.credential];
      if (!credentialId)
        problems.push({
          path: `${at}.credential`,
          message: `credential "${m.credential}" is not bound to a stored credential`,
        });
    }
    const provisioners: ResolvedProvisioner[] = m.provisioners.map((p, i) => {
      if (typeof p === 'string') {
        const content = inputs.provisioners?.[p];
        if (content === undefined)
          problems.push({ path: `${at}.provisioners[${i}]`, message: `unknown provisioner "${p}"` });
        return { name: p, content: content ?? '', sha1: sha1(content ?? '') };
      }
      const content = interpolate(p.run, `${at}.provisioners[${i}].run`) ?? '';
      return { name: p.name, content, sha1: sha1(content) };
    });
    const spec = {
      provider: m.provider,
      credentialId,
      size: interpolate(m.size, `${at}.size`),
      image: interpolate(m.image, `${at}.image`),
      region: interpolate(m.region, `${at}.region`),
      userData: interpolate(m.user_data, `${at}.user_data`),
      extra: m.extra,
    };
    if (spec.userData !== undefined && spec.provider !== 'local')
      userDataProblems(spec.userData, `${at}.user_data`, problems);
    machines.push({
      name,
      label: interpolate(m.label, `${at}.label`) ?? (inputs.stackName ? `${inputs.stackName}-${name}` : name),
      ...spec,
      provisioners,
      dependsOn: [...m.depends_on],
      onBuildFailure: m.on_build_failure,
      specHash: sha1(JSON.stringify(rebuildFields.map((f) => spec[f] ?? null))),
      provisionersHash: sha1(JSON.stringify(provisioners.map((p) => [p.name, p.sha1]))),
    });
  }
  if (problems.length) throw kloudErrors.problems(problems);
  return machines;
}

/**
 * A cloud machine's user data is merged with Kloud's own cloud-config at build time; a conflict
 * (the kite.key path, the Klient user …) is refused here, at plan time, with its path.
 */
function userDataProblems(userData: string, at: string, problems: Problem[]): void {
  try {
    checkUserData(userData);
  } catch (error) {
    if (!(error instanceof KloudError)) throw error;
    const found = (error.data as { problems?: Problem[] } | undefined)?.problems;
    if (found?.length) for (const p of found) problems.push({ path: `${at}: ${p.path}`, message: p.message });
    else problems.push({ path: at, message: error.message });
  }
}

function resolveVariables(
  template: StackTemplate,
  given: Record<string, string | number | boolean>,
  problems: Problem[],
): Map<string, string | number | boolean> {
  const values = new Map<string, string | number | boolean>();
  for (const name of Object.keys(given)) {
    if (!(name in template.variables))
      problems.push({ path: `variables.${name}`, message: 'not declared by the template' });
  }
  for (const [name, v] of Object.entries(template.variables)) {
    const value = given[name] ?? v.default;
    if (value === undefined) {
      problems.push({ path: `variables.${name}`, message: 'required: the template gives no default' });
      continue;
    }
    if (typeof value !== v.type) {
      problems.push({ path: `variables.${name}`, message: `must be a ${v.type}` });
      continue;
    }
    values.set(name, value);
  }
  return values;
}
