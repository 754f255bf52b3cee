/**
 * The user data every cloud machine boots with: a `#cloud-config` that creates the machine's
 * user, drops Kloud's install script and runs it (download Klient with its checksum, kite.key,
 * systemd unit running `klient run`), with the stack's own user data merged in.
 *
 * A user's user data may be a shell script (`#!…`, run after Klient's install) or a
 * `#cloud-config` (deep-merged; conflicts refused with their path). Anything else (MIME
 * multipart, `#include`, boothooks, gzip) is refused: Kloud could not promise Klient survives it.
 */
import { parseDocument, stringify } from 'yaml';
import { kloudErrors, type Problem } from '../errors.js';
import { type InstallScriptParams, installScript, klientPaths } from './install-script.js';
import { type CloudConfig, mergeCloudConfig } from './merge.js';

/** Where Kloud's own scripts land on the machine (root-only). */
export const cloudInitPaths = {
  installScript: '/var/lib/kloud/install-klient.sh',
  userScript: '/var/lib/kloud/user-data.sh',
} as const;

const reservedPaths: ReadonlySet<string> = new Set([
  ...Object.values(klientPaths),
  ...Object.values(cloudInitPaths),
]);

export interface UserDataParams extends Required<Omit<InstallScriptParams, 'user' | 'kiteKey'>> {
  /** The account Klient runs as; created unless it is root. */
  user: string;
  kiteKey: string;
  /** The stack's own user data for this machine, if any. */
  userData?: string;
  /** Give the user passwordless sudo (default true: it is their machine). */
  sudo?: boolean;
}

type UserPart =
  | { kind: 'none' }
  | { kind: 'script'; script: string }
  | { kind: 'config'; config: CloudConfig };

function fail(problem: Problem): never {
  throw kloudErrors.problems([problem]);
}

/** Reads a stack's user data; throws KloudError InvalidParams (path `user_data`) if it is neither form. */
function parseUserPart(userData: string | undefined): UserPart {
  if (userData === undefined || userData.trim() === '') return { kind: 'none' };
  if (userData.startsWith('#!')) return { kind: 'script', script: userData };
  if (!/^#cloud-config[ \t]*\r?\n/.test(`${userData}\n`)) {
    fail({
      path: 'user_data',
      message:
        'user data must be a shell script starting with #! or a cloud-config starting with #cloud-config',
    });
  }
  // cloud-init reads YAML 1.1 (PyYAML): `yes`/`on` are booleans there, so read and write it the same way.
  const doc = parseDocument(userData, { uniqueKeys: true, version: '1.1' });
  const first = doc.errors[0];
  if (first) fail({ path: 'user_data', message: `user data is not valid YAML: ${first.message}` });
  const config: unknown = doc.toJS();
  if (config === null || config === undefined) return { kind: 'none' };
  if (typeof config !== 'object' || Array.isArray(config)) {
    fail({ path: 'user_data', message: 'a #cloud-config must be a mapping of keys' });
  }
  return { kind: 'config', config: config as CloudConfig };
}

function kloudConfig(params: UserDataParams, script: string): CloudConfig {
  const users: unknown[] = ['default'];
  if (params.user !== 'root') {
    users.push({
      name: params.user,
      shell: '/bin/bash',
      lock_passwd: true,
      ...(params.sudo === false ? {} : { sudo: 'ALL=(ALL) NOPASSWD:ALL' }),
    });
  }
  return {
    users,
    write_files: [
      { path: cloudInitPaths.installScript, permissions: '0700', owner: 'root:root', content: script },
    ],
    // The script holds the kite.key: it removes itself once Klient is installed and keeps
    // itself (root-only) for diagnosis when the install failed.
    runcmd: [['sh', '-c', `sh ${cloudInitPaths.installScript} && rm -f ${cloudInitPaths.installScript}`]],
  };
}

function withUserPart(ours: CloudConfig, part: UserPart): CloudConfig {
  if (part.kind === 'none') return ours;
  if (part.kind === 'script') {
    return mergeCloudConfig(
      ours,
      {
        write_files: [
          { path: cloudInitPaths.userScript, permissions: '0700', owner: 'root:root', content: part.script },
        ],
        runcmd: [[cloudInitPaths.userScript]],
      },
      { reservedPaths: new Set() },
    ).config;
  }
  const { config, problems } = mergeCloudConfig(ours, part.config, { reservedPaths });
  if (problems.length > 0) throw kloudErrors.problems(problems);
  return config;
}

/** The complete user data for a cloud machine. Throws KloudError InvalidParams on bad input or a conflict. */
export function buildUserData(params: UserDataParams): string {
  const script = installScript(params);
  const config = withUserPart(kloudConfig(params, script), parseUserPart(params.userData));
  return `#cloud-config\n${stringify(config, { lineWidth: 0, version: '1.1' })}`;
}

/**
 * Plan-time check of a stack's user data: the same parsing and conflict rules as
 * `buildUserData`, without a kite.key. `user` is the machine's account when known.
 */
export function checkUserData(userData: string | undefined, user = 'kloud'): void {
  const placeholder = { kloudUrl: 'https://kloud.invalid', klientUrl: 'https://kloud.invalid/klient' };
  withUserPart(
    kloudConfig({ ...placeholder, klientSha256: '0'.repeat(64), kiteKey: 'a.b.c', user }, '#!/bin/sh\n'),
    parseUserPart(userData),
  );
}
