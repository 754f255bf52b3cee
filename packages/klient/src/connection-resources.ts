import type { Peer } from '@kk/protocol/peer.js';
import type { StreamSender } from '@kk/protocol/streams/sender.js';
import type { AtomicWrite } from './fs/atomic-write.js';

export interface Watch {
  stream: StreamSender;
  close(): Promise<void>;
}

/**
 * What one connection holds open that is looked up by id: directory watches and uploads in
 * progress. Both are released when the connection closes, so a client that vanishes leaks
 * nothing: watches stop and half-written temp files are removed.
 */
export class ConnectionResources {
  readonly watches = new Map<number, Watch>();
  readonly uploads = new Map<string, AtomicWrite>();

  release(): void {
    for (const watch of this.watches.values()) void watch.close();
    this.watches.clear();
    for (const upload of this.uploads.values()) void upload.abort();
    this.uploads.clear();
  }
}

const byPeer = new WeakMap<Peer, ConnectionResources>();

/** The resources of a connection, created on first use and released when it closes. */
export function resourcesOf(peer: Peer): ConnectionResources {
  let resources = byPeer.get(peer);
  if (!resources) {
    const created = new ConnectionResources();
    resources = created;
    byPeer.set(peer, created);
    peer.onClose(() => created.release());
  }
  return resources;
}
