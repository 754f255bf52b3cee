import type { HandlerMap } from '@kk/protocol/peer.js';
import { markActivity } from '../activity.js';
import type { KlientContext } from '../context.js';
import { describe } from './entry.js';
import { glob, uniquePath } from './find.js';
import { hashFile } from './hash.js';
import { resolvePath } from './paths.js';
import { setPermissions } from './permissions.js';
import { readDirectoryHandlers } from './read-directory-api.js';
import { readFileHandler } from './read-file-api.js';
import { copy, createDirectory, move, remove } from './tree.js';
import { diskInfo, pathSize } from './usage.js';
import { uploadHandlers, writeFileHandler } from './write-api.js';

/**
 * fs.*: the wire to the filesystem capability. Paths arrive absolute or relative to home and
 * leave absolute. Every call that changes something counts as user activity (klient.usage).
 */
export function fsHandlers(ctx: KlientContext): HandlerMap {
  const { home } = ctx.config;
  const at = (path: string) => resolvePath(home, path);
  const move_ = async (p: { from: string; to: string; overwrite: boolean }) => {
    markActivity();
    await move(at(p.from), at(p.to), p.overwrite);
    return { from: at(p.from), to: at(p.to) };
  };
  return {
    ...readDirectoryHandlers(ctx),
    'fs.readFile': readFileHandler(ctx),
    'fs.writeFile': writeFileHandler(ctx),
    ...uploadHandlers(ctx),
    'fs.createDirectory': async (p) => {
      markActivity();
      return { path: at(p.path), created: await createDirectory(at(p.path), p.recursive, p.mode) };
    },
    'fs.remove': async (p) => {
      markActivity();
      await remove(at(p.path), p.recursive, home);
      return { path: at(p.path), removed: true };
    },
    'fs.rename': move_,
    'fs.move': move_,
    'fs.copy': async (p) => {
      markActivity();
      await copy(at(p.from), at(p.to), p.overwrite);
      return { from: at(p.from), to: at(p.to) };
    },
    'fs.getInfo': async (p) => {
      const entry = await describe(at(p.path));
      const isFile = entry.type === 'file' || entry.targetType === 'file';
      return p.hash && isFile ? { ...entry, hash: await hashFile(entry.path) } : entry;
    },
    'fs.setPermissions': async (p) => {
      markActivity();
      return { path: at(p.path), changed: await setPermissions(at(p.path), p.mode, p.recursive) };
    },
    'fs.glob': async (p, call) => {
      const cwd = at(p.cwd ?? home);
      return { cwd, ...(await glob({ ...p, cwd, signal: call.signal })) };
    },
    'fs.uniquePath': async (p) => ({ path: await uniquePath(at(p.path)) }),
    'fs.getDiskInfo': (p) => diskInfo(at(p.path ?? home)),
    'fs.getPathSize': (p, call) => pathSize(at(p.path), call.signal),
  };
}
