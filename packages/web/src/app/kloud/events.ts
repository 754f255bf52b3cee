/**
 * Live progress from Kloud's RPC endpoint (`/api/v1/rpc`): one reconnecting connection, with
 * `kloud.subscribe` per machine or per job. Subscriptions are made again on every reconnect
 * (the stored events replay first, so nothing between two connections is missed).
 */
import { connect, type RpcClient } from '@kk/protocol';
import { wsUrl } from './api.js';
import type { ProgressEvent } from './types.js';

type Filter = { machineId: string } | { eventId: string };
type Listener = (event: ProgressEvent) => void;

interface Subscription {
  filter: Filter;
  listener: Listener;
  cancel?: () => void;
  closed: boolean;
}

export class KloudEvents {
  readonly client: RpcClient;
  private readonly subscriptions = new Set<Subscription>();

  constructor(token: string) {
    this.client = connect(wsUrl('/api/v1/rpc'), token);
    this.client.onConnect(() => {
      for (const s of this.subscriptions) void this.open(s);
    });
  }

  /** Calls `listener` with every event of the machine or job, stored ones first; returns the unsubscribe. */
  subscribe(filter: Filter, listener: Listener): () => void {
    const s: Subscription = { filter, listener, closed: false };
    this.subscriptions.add(s);
    if (this.client.state === 'open') void this.open(s);
    return () => {
      s.closed = true;
      s.cancel?.();
      this.subscriptions.delete(s);
    };
  }

  close(): void {
    for (const s of this.subscriptions) s.cancel?.();
    this.subscriptions.clear();
    this.client.close();
  }

  private async open(s: Subscription): Promise<void> {
    try {
      const { streamId } = await this.client.call('kloud.subscribe', s.filter);
      const reader = this.client.openReader(streamId);
      if (s.closed) {
        reader.cancel('unsubscribed');
        return;
      }
      s.cancel = () => reader.cancel('unsubscribed');
      reader.onData((event) => s.listener(event as ProgressEvent));
    } catch {
      // The connection dropped (it re-subscribes on reconnect) or the machine is gone.
    }
  }
}
