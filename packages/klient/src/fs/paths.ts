import { isAbsolute, resolve } from 'node:path';

/**
 * Turn a caller's path into an absolute, normalised one. Absolute paths stay where they point;
 * relative ones (and `~`, `~/x`) are taken from the Klient user's home, which is where a
 * browser's file tree starts. `..` is resolved lexically: Klient already runs with the
 * user's own rights, so there is no jail to escape.
 */
export function resolvePath(home: string, path: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return resolve(home, path.slice(2));
  return isAbsolute(path) ? resolve(path) : resolve(home, path);
}
