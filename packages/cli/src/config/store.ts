/**
 * Where kd keeps the Kloud URL and API token from `kd login`: `$KD_CONFIG_DIR`, else
 * `$XDG_CONFIG_HOME/kd`, else `~/.config/kd`, in `config.json` written with mode 0600 (the
 * directory 0700), atomically, so a crash mid-write leaves the old login whole.
 * `KD_URL` and `KD_TOKEN` override the file, for scripts and CI that should not log in.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { cliErrors } from '../errors.js';

export interface Login {
  /** Kloud's base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** An API token of the backend (`kk_…`). */
  token: string;
}

interface ConfigFile {
  login?: Login;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KD_CONFIG_DIR) return env.KD_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'kd');
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'config.json');
}

async function readConfig(env: NodeJS.ProcessEnv): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(configPath(env), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  try {
    return JSON.parse(text) as ConfigFile;
  } catch {
    throw cliErrors.usage(`${configPath(env)} is not valid JSON: fix or delete it, then run kd login again`);
  }
}

export async function saveLogin(login: Login, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = configPath(env);
  const config = { ...(await readConfig(env)), login };
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // The mode of writeFile applies only to new files; a leftover temp file must not stay readable.
  await chmod(temp, 0o600);
  await rename(temp, file);
  return file;
}

export async function clearLogin(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const config = await readConfig(env);
  if (!config.login) return false;
  delete config.login;
  const file = configPath(env);
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, file);
  return true;
}

/** The login to use: KD_URL/KD_TOKEN, else the saved one; undefined when there is neither. */
export async function currentLogin(env: NodeJS.ProcessEnv = process.env): Promise<Login | undefined> {
  const saved = (await readConfig(env)).login;
  const url = env.KD_URL || saved?.url;
  const token = env.KD_TOKEN || saved?.token;
  if (!url || !token) return undefined;
  return { url: url.replace(/\/+$/, ''), token };
}

export async function requireLogin(env: NodeJS.ProcessEnv = process.env): Promise<Login> {
  const login = await currentLogin(env);
  if (!login)
    throw cliErrors.unauthenticated(
      'not logged in to a Kloud: run `kd login URL` (or set KD_URL and KD_TOKEN), or address a Klient directly with ws://HOST:PORT and --token',
    );
  return login;
}
