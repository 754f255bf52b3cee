import { type StreamingMemory, tuningSummary } from '@kk/allocator';
import type { EndpointOptions } from '@kk/protocol/node/endpoint.js';
import { createRpcServer } from '@kk/protocol/node/server.js';
import type { HandlerMap } from '@kk/protocol/peer.js';
import { markActivity } from './activity.js';
import { createAuthenticator } from './auth.js';
import { defaultStateDir, type KlientConfig } from './config.js';
import { CrashJournal, type Journal, unrecorded } from './crash-journal.js';
import { killLeftGroups } from './exec/left-groups.js';
import { ProcessTable } from './exec/process-table.js';
import { PendingWrites, type TempFileJournal } from './fs/pending-writes.js';
import { createLogger, type Logger } from './log.js';
import { klientMethods } from './methods.js';
import { TerminalManager } from './terminal/manager.js';

export interface RunningKlient {
  url: string;
  port: number;
  /**
   * The handlers this Klient serves, bound to its one process table and terminal manager.
   * Serve these on any other link (e.g. `klient run`'s link through Kloud) so every caller sees
   * the same processes and terminal sessions; never build a second set.
   */
  methods: HandlerMap;
  /** Stops listening, closes every connection, ends every terminal and kills every process it started. */
  close(): Promise<void>;
}

/**
 * Cleans up after a crash before new work begins — removes the temp files of interrupted writes,
 * kills the process groups a killed Klient left running — and returns the journals new work
 * records in. A state directory that cannot be had (an account without a home, one that is not
 * private) costs only that cleanup: Klient runs, and says so.
 */
async function openCrashJournals(
  configured: string | undefined,
  log: Logger,
): Promise<{ writes: TempFileJournal; groups: Journal }> {
  const stateDir = configured ?? defaultStateDir();
  const without = (reason: unknown) => {
    log.warn(
      { stateDir, err: reason },
      'no state directory: what a crash leaves (temp files, running process groups) will not be cleaned up',
    );
    return { writes: unrecorded, groups: unrecorded };
  };
  if (!stateDir) return without('no home directory to put it in; set --state-dir');
  // Reported once per kind: a full or vanished state directory must not flood the log.
  const reportOnce = (what: string) => {
    let reported = false;
    return (err: unknown) => {
      if (!reported) log.warn({ stateDir, err }, `could not record ${what} (it goes on)`);
      reported = true;
    };
  };
  try {
    const pending = await PendingWrites.open(stateDir, reportOnce('a write in progress'));
    if (pending.removed.length)
      log.info({ removed: pending.removed }, 'removed temp files of writes a crash interrupted');
    const groups = await CrashJournal.open(
      stateDir,
      'exec-groups',
      killLeftGroups(),
      reportOnce('a running process group'),
    );
    if (groups.cleaned.length)
      log.info({ killed: groups.cleaned }, 'killed process groups a killed Klient left running');
    return { writes: pending.journal, groups: groups.journal };
  } catch (err) {
    return without(err);
  }
}

/**
 * Start a Klient in this process: listen on `config.host:config.port`, accept WebSocket
 * upgrades carrying a valid access token for `config.kiteId`, and serve every method of
 * methods.ts. Used by `klient serve`, `klient run` and tests. `options.memory` is what the
 * process's entry point set with @kk/allocator's tuneMemoryForStreaming (process-wide, so not
 * done here, where an embedding process would have it imposed): logged when given.
 */
export async function startKlient(
  config: KlientConfig,
  options: {
    log?: Logger;
    memory?: StreamingMemory;
    /** Method schemas to serve by, for a test that plays an older Klient; the catalogue's by default. */
    catalogue?: EndpointOptions['catalogue'];
  } = {},
): Promise<RunningKlient> {
  const log = options.log ?? createLogger(config);
  const authenticate = await createAuthenticator(config);
  const journals = await openCrashJournals(config.stateDir, log);
  const pendingWrites = journals.writes;
  const processes = new ProcessTable(journals.groups);
  const terminals = new TerminalManager({
    home: config.home,
    onInput: markActivity,
    log,
    ...Object.fromEntries(Object.entries(config.terminal).filter(([, v]) => v !== undefined)),
  });
  const methods = klientMethods({ config, log, processes, terminals, pendingWrites });
  const server = await createRpcServer({
    host: config.host,
    port: config.port,
    authenticate: async (token, req) => {
      try {
        return await authenticate(token, req);
      } catch (err) {
        log.info(
          { remote: req.socket.remoteAddress, reason: (err as { data?: { reason?: string } }).data?.reason },
          'upgrade refused',
        );
        throw err;
      }
    },
    methods,
    catalogue: options.catalogue,
    onConnection: (peer, req) => {
      const who = { sub: peer.principal.sub, scope: peer.principal.scope, remote: req.socket.remoteAddress };
      log.info(who, 'connection opened');
      peer.onClose((code) => log.info({ ...who, code }, 'connection closed'));
    },
    onInternalError: (method, err) => log.error({ method, err }, 'handler failed'),
  });
  // Detached process groups would outlive a Klient that exits without close(): kill them on exit.
  const killAll = () => processes.killAll();
  process.on('exit', killAll);
  log.info(
    {
      url: server.url,
      kiteId: config.kiteId,
      ...(options.memory && {
        retainFreedMemory: tuningSummary(options.memory.retainFreedMemory),
        atomicGarbageCollection: tuningSummary(options.memory.atomicGarbageCollection),
      }),
    },
    'klient listening',
  );
  return {
    url: server.url,
    port: server.port,
    methods,
    close: async () => {
      process.off('exit', killAll);
      processes.killAll();
      terminals.close();
      await server.close();
    },
  };
}
