import type { HandlerMap } from '@kk/protocol/peer.js';
import { resourcesOf } from '../connection-resources.js';
import type { KlientContext } from '../context.js';
import { errors } from '../errors.js';
import { resolvePath } from './paths.js';
import { readDirectoryPage } from './read-directory.js';
import { watchDirectory } from './watch.js';

/** fs.readDirectory (paged, optionally watched) and fs.unwatch. */
export function readDirectoryHandlers({ config, log }: KlientContext): HandlerMap {
  return {
    'fs.readDirectory': async (p, call) => {
      const dir = resolvePath(config.home, p.path);
      if (!p.watch) return { path: dir, ...(await readDirectoryPage(dir, p.cursor, p.limit)) };

      const resources = resourcesOf(call.peer);
      if (resources.watches.size >= config.maxWatchesPerConnection) {
        throw errors.rateLimited(
          `at most ${config.maxWatchesPerConnection} directory watches per connection; fs.unwatch one first`,
          { limit: config.maxWatchesPerConnection },
        );
      }
      // Arm the watch before listing, so nothing that changes after the listing is missed.
      const stream = call.openStream();
      let failed = false;
      const watch = await watchDirectory(dir, {
        maxQueued: config.maxQueuedWatchEvents,
        deliver: async (event) => {
          await stream.ready();
          stream.write(event);
        },
        onFail: (reason, err) => {
          failed = true;
          resources.watches.delete(stream.id);
          if (reason === 'gone')
            stream.end({ stopped: true, reason: 'the directory was removed or moved away' });
          else if (reason === 'overflow') {
            stream.fail(
              errors.tooLarge(
                'the directory changed faster than the watch was read; list it again and re-watch',
              ),
            );
          } else {
            log.warn({ err, dir }, 'directory watch failed');
            stream.fail(errors.unavailable('the directory watch failed; list it again and re-watch'));
          }
        },
      });
      try {
        const page = await readDirectoryPage(dir, p.cursor, p.limit);
        if (!failed) resources.watches.set(stream.id, { stream, close: watch.close });
        stream.onCancel(() => {
          resources.watches.delete(stream.id);
          void watch.close();
        });
        return { path: dir, ...page, watchId: stream.id };
      } catch (err) {
        await watch.close();
        throw err;
      }
    },
    'fs.unwatch': async (p, call) => {
      const resources = resourcesOf(call.peer);
      const watch = resources.watches.get(p.watchId);
      if (!watch) return { stopped: false };
      resources.watches.delete(p.watchId);
      await watch.close();
      watch.stream.end({ stopped: true });
      return { stopped: true };
    },
  };
}
