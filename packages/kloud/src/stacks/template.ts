/**
 * The stack template format (YAML or JSON, same shape). See the package README for an example.
 *
 *   variables:    name → { type, default, description, secret }   (no default = required)
 *   credentials:  name → { provider }                               (bound to a stored credential per stack)
 *   machines:     name → { provider, credential, label, size, image, region, user_data,
 *                          provisioners, depends_on, on_build_failure, extra }
 *
 * Strings in machines may use `${var.NAME}`. Keys are snake_case, unknown keys are refused
 * so a typo (`depend_on`) is an error rather than a silently ignored setting.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { kloudErrors, type Problem } from '../errors.js';

const identifier = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_-]{0,62}$/,
    'must start with a letter and use letters, digits, "_" or "-" (≤ 63)',
  );

const variableSchema = z
  .object({
    type: z.enum(['string', 'number', 'boolean']).default('string'),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    description: z.string().optional(),
    /** Secret values are never echoed in plans or events. */
    secret: z.boolean().default(false),
  })
  .strict();

const credentialSchema = z.object({ provider: identifier, description: z.string().optional() }).strict();

const inlineProvisioner = z
  .object({ name: identifier, run: z.string().min(1, 'must not be empty') })
  .strict();
/** `user/name`: a Provisioner stored in the backend, resolved when the stack is applied. */
const provisionerRef = z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be a slug "user/name"');

const machineSchema = z
  .object({
    provider: identifier,
    credential: identifier.optional(),
    label: z.string().min(1).max(120).optional(),
    size: z.string().optional(),
    image: z.string().optional(),
    region: z.string().optional(),
    user_data: z.string().optional(),
    provisioners: z.array(z.union([inlineProvisioner, provisionerRef])).default([]),
    depends_on: z.array(z.string()).default([]),
    /** What a failed build does with what it created: `destroy` (default) or `keep` for inspection. */
    on_build_failure: z.enum(['destroy', 'keep']).default('destroy'),
    extra: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const templateSchema = z
  .object({
    version: z.literal(1).default(1),
    description: z.string().optional(),
    /** Machines of this template Kloud keeps built and ready, handed out by apply (0 = none). */
    warm_pool: z.number().int().min(0).max(100).default(0),
    variables: z.record(identifier, variableSchema).default({}),
    credentials: z.record(identifier, credentialSchema).default({}),
    machines: z
      .record(identifier, machineSchema)
      .refine((m) => Object.keys(m).length > 0, 'a template declares at least one machine'),
  })
  .strict();

export type StackTemplate = z.output<typeof templateSchema>;
export type TemplateMachine = StackTemplate['machines'][string];
export type TemplateProvisioner = TemplateMachine['provisioners'][number];

/** `machines.web.depends_on[0]` from zod's path array. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(template)';
}

/** Reads YAML or JSON text (JSON is YAML) into a raw object; syntax errors carry their line. */
export function readTemplateText(text: string): unknown {
  try {
    return parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw kloudErrors.problems([{ path: '(template)', message: `not valid YAML or JSON: ${message}` }]);
  }
}

/**
 * Validates a template's shape and its references (credentials, dependencies, cycles).
 * Throws InvalidParams listing every problem, each with its path.
 */
export function parseTemplate(input: string | unknown): StackTemplate {
  const raw = typeof input === 'string' ? readTemplateText(input) : input;
  const parsed = templateSchema.safeParse(raw);
  if (!parsed.success) {
    throw kloudErrors.problems(
      parsed.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
    );
  }
  const problems = checkReferences(parsed.data);
  if (problems.length) throw kloudErrors.problems(problems);
  return parsed.data;
}

function checkReferences(template: StackTemplate): Problem[] {
  const problems: Problem[] = [];
  const machines = template.machines;
  for (const [name, machine] of Object.entries(machines)) {
    const at = `machines.${name}`;
    machine.depends_on.forEach((dep, i) => {
      if (!(dep in machines))
        problems.push({ path: `${at}.depends_on[${i}]`, message: `unknown machine "${dep}"` });
      else if (dep === name)
        problems.push({ path: `${at}.depends_on[${i}]`, message: 'a machine cannot depend on itself' });
    });
    if (machine.credential !== undefined) {
      const cred = template.credentials[machine.credential];
      if (!cred)
        problems.push({ path: `${at}.credential`, message: `unknown credential "${machine.credential}"` });
      else if (cred.provider !== machine.provider)
        problems.push({
          path: `${at}.credential`,
          message: `credential "${machine.credential}" is for provider "${cred.provider}", machine uses "${machine.provider}"`,
        });
    } else if (machine.provider !== 'local') {
      problems.push({
        path: `${at}.credential`,
        message: `provider "${machine.provider}" needs a credential`,
      });
    }
  }
  for (const [name, variable] of Object.entries(template.variables)) {
    if (variable.default !== undefined && typeof variable.default !== variable.type)
      problems.push({ path: `variables.${name}.default`, message: `must be a ${variable.type}` });
  }
  if (!problems.length) {
    const cycle = findCycle(Object.fromEntries(Object.entries(machines).map(([n, m]) => [n, m.depends_on])));
    if (cycle)
      problems.push({
        path: `machines.${cycle[0]}.depends_on`,
        message: `dependency cycle: ${cycle.join(' → ')}`,
      });
  }
  return problems;
}

/** The first dependency cycle found, as names with the first repeated at the end, or undefined. */
export function findCycle(deps: Record<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    const s = state.get(node);
    if (s === 'done') return undefined;
    if (s === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const dep of deps[node] ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of Object.keys(deps).sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}
