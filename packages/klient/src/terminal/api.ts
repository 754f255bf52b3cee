import { constants } from 'node:os';
import { scopeAllows } from '@kk/protocol/catalogue/define.js';
import type { CallContext, HandlerMap, Peer } from '@kk/protocol/peer.js';
import type { Principal } from '@kk/protocol/principal.js';
import type { StreamSender } from '@kk/protocol/streams/sender.js';
import { errors } from '../errors.js';
import type { TerminalManager } from './manager.js';
import type { TerminalSession } from './session.js';
import type { Viewer, ViewerSink } from './viewer.js';

/** A connection's attachments, by session id: input and resize go through them. */
const attachmentsByPeer = new WeakMap<Peer, Map<string, Viewer>>();

function attachmentsOf(peer: Peer): Map<string, Viewer> {
  let map = attachmentsByPeer.get(peer);
  if (!map) {
    map = new Map();
    attachmentsByPeer.set(peer, map);
  }
  return map;
}

function attachmentOf(call: CallContext, sessionId: string): Viewer | undefined {
  const viewer = attachmentsByPeer.get(call.peer)?.get(sessionId);
  return viewer && !viewer.isClosed ? viewer : undefined;
}

function streamSink(stream: StreamSender): ViewerSink {
  return {
    send: (event) => {
      stream.write(event);
    },
    ready: () => stream.ready(),
    end: (final) => stream.end(final),
  };
}

/** Killing and renaming are for the session's creator, or an owner of the machine. */
function checkManager(principal: Principal, session: TerminalSession, what: string): void {
  if (principal.scope === 'owner' || principal.sub === session.owner) return;
  throw errors.forbidden(
    `only ${session.owner} (who started it) or an owner may ${what} terminal session ${session.id}`,
    {
      sessionId: session.id,
    },
  );
}

/**
 * terminal.*: the wire to TerminalManager. Attachments belong to the connection: input and
 * resize need this connection to be attached as a writer, and a closed connection detaches.
 */
export function terminalHandlers(terminals: TerminalManager): HandlerMap {
  return {
    'terminal.create': (p, call) => terminals.create({ ...p, owner: call.principal.sub }),

    'terminal.attach': (p, call) => {
      if (!p.readOnly && !scopeAllows(call.principal.scope, 'write')) {
        throw errors.forbidden('a readonly token may only watch: attach with readOnly: true', {
          scope: call.principal.scope,
        });
      }
      const session = terminals.get(p.sessionId);
      const attachments = attachmentsOf(call.peer);
      // Attaching again on the same connection replaces the earlier attachment.
      attachments.get(p.sessionId)?.endNow({ reason: 'detached' });
      const stream = call.openStream();
      const viewer = session.attach(streamSink(stream), p.readOnly);
      attachments.set(p.sessionId, viewer);
      stream.onCancel(() => viewer.close());
      // Forget it however it ends (exit, detach, cancel), so a long-lived connection that runs
      // many short sessions holds none of them.
      void viewer.finished.then(() => {
        if (attachments.get(p.sessionId) === viewer) attachments.delete(p.sessionId);
      });
      if (!p.readOnly && p.cols !== undefined && p.rows !== undefined) {
        session.requestResize(viewer, p.cols, p.rows);
      }
      return { streamId: stream.id, readOnly: p.readOnly, session: session.info() };
    },

    'terminal.input': (p, call) => {
      terminals.input(p.sessionId, attachmentOf(call, p.sessionId), p.data);
      return {};
    },

    'terminal.resize': (p, call) => {
      terminals.resize(p.sessionId, attachmentOf(call, p.sessionId), p.cols, p.rows);
      return {};
    },

    'terminal.detach': (p, call) => {
      const viewer = attachmentOf(call, p.sessionId);
      attachmentsByPeer.get(call.peer)?.delete(p.sessionId);
      viewer?.endNow({ reason: 'detached' });
      return { detached: viewer !== undefined };
    },

    'terminal.kill': (p, call) => {
      const session = terminals.get(p.sessionId);
      checkManager(call.principal, session, 'kill');
      if (!(p.signal in constants.signals)) {
        throw errors.invalidParams(`unknown signal ${p.signal}; use a name like SIGHUP, SIGTERM or SIGKILL`, {
          signal: p.signal,
        });
      }
      session.signal(p.signal as NodeJS.Signals);
      return { signalled: true };
    },

    'terminal.list': () => ({ sessions: terminals.list() }),

    'terminal.rename': (p, call) => {
      const session = terminals.get(p.sessionId);
      checkManager(call.principal, session, 'rename');
      session.name = p.name;
      return session.info();
    },
  };
}
