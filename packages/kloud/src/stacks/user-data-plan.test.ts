import { describe, expect, it } from 'vitest';
import { KloudError } from '../errors.js';
import { resolveStack } from './resolve.js';
import { parseTemplate } from './template.js';

const template = (userData: string) =>
  parseTemplate({
    version: 1,
    credentials: { cloud: { provider: 'aws' } },
    machines: {
      web: { provider: 'aws', credential: 'cloud', image: 'ami-1', size: 't3.micro', user_data: userData },
    },
  });

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(KloudError);
    return ((error as KloudError).data as { problems: Array<{ path: string }> }).problems.map((p) => p.path);
  }
  throw new Error('plan accepted the user data');
}

describe('user data at plan time', () => {
  const inputs = { credentials: { cloud: 'cred-1' } };

  it('refuses a cloud-config that conflicts with Kloud own, naming the machine and the path', () => {
    const userData = '#cloud-config\nwrite_files:\n  - path: /etc/klient/kite.key\n    content: mine\n';
    expect(problems(() => resolveStack(template(userData), inputs))).toEqual([
      'machines.web.user_data: write_files[/etc/klient/kite.key]',
    ]);
  });

  it('refuses user data that is neither a script nor a cloud-config', () => {
    expect(problems(() => resolveStack(template('#include\nhttps://example.com/x\n'), inputs))).toEqual([
      'machines.web.user_data: user_data',
    ]);
  });

  it('accepts a script and a cloud-config that only adds', () => {
    expect(resolveStack(template('#!/bin/sh\necho hi\n'), inputs)).toHaveLength(1);
    expect(resolveStack(template('#cloud-config\npackages: [htop]\n'), inputs)).toHaveLength(1);
  });
});
