import { describe, expect, it } from 'vitest';
import type { KloudError } from '../errors.js';
import { planStack } from './plan.js';
import { resolveStack } from './resolve.js';
import { parseTemplate } from './template.js';

const template = parseTemplate({
  variables: { size: { default: 'small' }, greeting: { type: 'string' } },
  machines: {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the template's own interpolation syntax
    db: { provider: 'local', size: '${var.size}', provisioners: ['alice/setup'] },
    web: {
      provider: 'local',
      depends_on: ['db'],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the template's own interpolation syntax
      provisioners: [{ name: 'hello', run: 'echo ${var.greeting}' }],
    },
  },
});
const inputs = {
  variables: { greeting: 'hi' },
  provisioners: { 'alice/setup': 'echo setup' },
  stackName: 's1',
};

describe('resolveStack', () => {
  it('interpolates variables, resolves provisioners, labels machines', () => {
    const [db, web] = resolveStack(template, inputs);
    expect(db!.size).toBe('small');
    expect(db!.label).toBe('s1-db');
    expect(db!.provisioners[0]).toMatchObject({ name: 'alice/setup', content: 'echo setup' });
    expect(web!.provisioners[0]!.content).toBe('echo hi');
  });

  it('names every missing or undeclared input', () => {
    try {
      resolveStack(template, { variables: { nope: 1 } });
      expect.unreachable();
    } catch (err) {
      const paths = ((err as KloudError).data!.problems as Array<{ path: string }>).map((p) => p.path);
      expect(paths).toEqual(['variables.nope', 'variables.greeting', 'machines.db.provisioners[0]']);
    }
  });

  it('refuses a value of the wrong type', () => {
    expect(() => resolveStack(template, { ...inputs, variables: { greeting: 3 } })).toThrow(
      /variables.greeting: must be a string/,
    );
  });
});

describe('planStack', () => {
  const desired = resolveStack(template, inputs);
  const [db, web] = desired;

  it('creates everything for an empty stack', () => {
    const plan = planStack(desired, []);
    expect(plan.actions.map((a) => [a.machine, a.action])).toEqual([
      ['db', 'create'],
      ['web', 'create'],
    ]);
    expect(plan.empty).toBe(false);
  });

  it('is empty when nothing changed', () => {
    const plan = planStack(desired, [
      { name: 'db', machineId: 'm1', state: 'Running', spec: db },
      { name: 'web', machineId: 'm2', state: 'Stopped', spec: web },
    ]);
    expect(plan.empty).toBe(true);
  });

  it('replaces on instance changes, reprovisions on provisioner changes, destroys what left', () => {
    const changed = resolveStack(template, { ...inputs, variables: { greeting: 'yo', size: 'large' } });
    const plan = planStack(changed.filter((m) => m.name !== 'web').concat(changed[1]!), [
      { name: 'db', machineId: 'm1', state: 'Running', spec: db },
      { name: 'web', machineId: 'm2', state: 'Running', spec: web },
      { name: 'old', machineId: 'm3', state: 'Stopped', spec: { ...db!, name: 'old' } },
    ]);
    const by = Object.fromEntries(plan.actions.map((a) => [a.machine, a]));
    expect(by.db!.action).toBe('replace');
    expect(by.db!.changes).toEqual([{ field: 'size', from: 'small', to: 'large' }]);
    expect(by.web!.action).toBe('reprovision');
    expect(by.old!.action).toBe('destroy');
  });

  it('builds terminated machines and blocks busy ones', () => {
    const plan = planStack(desired, [
      { name: 'db', machineId: 'm1', state: 'Terminated', spec: db },
      { name: 'web', machineId: 'm2', state: 'Building', spec: web },
    ]);
    expect(plan.actions.map((a) => a.action)).toEqual(['build', 'blocked']);
    expect(plan.blocked).toBe(true);
  });
});
