import { describe, expect, it } from 'vitest';
import { KloudError } from '../errors.js';
import { findCycle, parseTemplate } from './template.js';

function problemsOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KloudError);
    expect((err as KloudError).kind).toBe('InvalidParams');
    return (err as KloudError).data!.problems as Array<{ path: string; message: string }>;
  }
  throw new Error('expected the template to be refused');
}

const yaml = `
variables:
  size: { default: small }
machines:
  db:
    provider: local
    size: \${var.size}
  web:
    provider: local
    depends_on: [db]
    provisioners:
      - name: hello
        run: echo hello > /tmp/x
`;

describe('parseTemplate', () => {
  it('reads YAML and applies defaults', () => {
    const t = parseTemplate(yaml);
    expect(Object.keys(t.machines)).toEqual(['db', 'web']);
    expect(t.machines.web!.depends_on).toEqual(['db']);
    expect(t.machines.db!.on_build_failure).toBe('destroy');
    expect(t.variables.size!.type).toBe('string');
  });

  it('reads JSON the same way', () => {
    const t = parseTemplate(JSON.stringify({ machines: { a: { provider: 'local' } } }));
    expect(t.machines.a!.provisioners).toEqual([]);
  });

  it('refuses an unknown dependency with the path of the problem', () => {
    const err = (() => {
      try {
        parseTemplate({ machines: { web: { provider: 'local', depends_on: ['db'] } } });
      } catch (e) {
        return e as KloudError;
      }
    })();
    expect(err?.message).toBe('machines.web.depends_on[0]: unknown machine "db"');
  });

  it('refuses a cycle, naming it', () => {
    const problems = problemsOf(() =>
      parseTemplate({
        machines: {
          a: { provider: 'local', depends_on: ['b'] },
          b: { provider: 'local', depends_on: ['c'] },
          c: { provider: 'local', depends_on: ['a'] },
        },
      }),
    );
    expect(problems).toEqual([{ path: 'machines.a.depends_on', message: 'dependency cycle: a → b → c → a' }]);
  });

  it('refuses self dependency, unknown keys, unknown and mismatched credentials', () => {
    const problems = problemsOf(() =>
      parseTemplate({
        credentials: { do1: { provider: 'digitalocean' } },
        machines: {
          a: { provider: 'local', depends_on: ['a'] },
          b: { provider: 'aws', credential: 'nope' },
          c: { provider: 'aws', credential: 'do1' },
          d: { provider: 'aws' },
        },
      }),
    );
    expect(problems.map((p) => p.path)).toEqual([
      'machines.a.depends_on[0]',
      'machines.b.credential',
      'machines.c.credential',
      'machines.d.credential',
    ]);
    const typo = problemsOf(() =>
      parseTemplate({ machines: { a: { provider: 'local', depend_on: ['x'] } } }),
    );
    expect(typo[0]!.path).toBe('machines.a');
    expect(typo[0]!.message).toMatch(/depend_on/);
  });

  it('refuses bad syntax, empty machines and bad names', () => {
    expect(problemsOf(() => parseTemplate('machines: [')).at(0)!.message).toMatch(/not valid YAML/);
    expect(problemsOf(() => parseTemplate({ machines: {} })).at(0)!.path).toBe('machines');
    expect(problemsOf(() => parseTemplate({ machines: { '1x': { provider: 'local' } } })).at(0)!.path).toBe(
      'machines.1x',
    );
    expect(
      problemsOf(() => parseTemplate('machines:\n  a: {provider: local}\n  a: {provider: local}\n')).length,
    ).toBe(1);
  });
});

describe('findCycle', () => {
  it('finds none in a DAG and the cycle otherwise', () => {
    expect(findCycle({ a: ['b', 'c'], b: ['c'], c: [] })).toBeUndefined();
    expect(findCycle({ a: ['b'], b: ['a'] })).toEqual(['a', 'b', 'a']);
  });
});
