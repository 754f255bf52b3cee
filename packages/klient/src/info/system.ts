import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { ResultOf } from '@kk/protocol/catalogue/index.js';
import { diskInfo } from '../fs/usage.js';
import { VERSION } from '../version.js';

const startedAt = Date.now();

/** PRETTY_NAME from /etc/os-release ("Debian GNU/Linux 12 (bookworm)"), or null off Linux. */
async function distribution(): Promise<string | null> {
  try {
    const text = await readFile('/etc/os-release', 'utf8');
    const match = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
    return match?.[1] ?? null;
  } catch {
    return null;
  }
}

/** MemAvailable from /proc/meminfo: what can be allocated without swapping (free ignores caches). */
async function availableMemory(): Promise<number> {
  try {
    const text = await readFile('/proc/meminfo', 'utf8');
    const match = /^MemAvailable:\s+(\d+) kB$/m.exec(text);
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux: fall through
  }
  return os.freemem();
}

/** Everything `klient.info` answers. */
export async function machineInfo(home: string, kiteId: string | null): Promise<ResultOf<'klient.info'>> {
  const user = os.userInfo();
  const [name, available, disk] = await Promise.all([distribution(), availableMemory(), diskInfo(home)]);
  return {
    os: { platform: os.platform(), release: os.release(), hostname: os.hostname(), name },
    arch: os.arch(),
    user: { name: user.username, uid: user.uid, gid: user.gid, shell: user.shell },
    home,
    version: VERSION,
    kiteId,
    uptime: { system: os.uptime(), klient: (Date.now() - startedAt) / 1000 },
    cpus: os.availableParallelism(),
    loadAverage: os.loadavg(),
    disk,
    memory: { total: os.totalmem(), free: os.freemem(), available },
  };
}
