/**
 * Progress events of lifecycle and stack jobs (DESIGN §5): stored (transition.insertEvent) so a
 * late or polling client can read them, and published here to this process's live subscribers
 * (WebSocket clients). Subscribers on other Kloud processes sharing a PostgreSQL hear of them
 * through the store's LISTEN/NOTIFY (machines/service.ts subscribes to both).
 */
export interface ProgressEvent {
  eventId: string;
  message: string;
  percentage: number | null;
  /** The machine state the event reports, or `failed` with `error` set. */
  status: string;
  error?: string;
  at: number;
  /** Position in the store, for `after` reads; absent before the event is stored. */
  seq?: number;
}

export interface PublishedEvent extends ProgressEvent {
  machineId: string;
}

export type EventListener = (event: PublishedEvent) => void;

export class EventBus {
  private readonly byEvent = new Map<string, Set<EventListener>>();
  private readonly byMachine = new Map<string, Set<EventListener>>();
  private readonly all = new Set<EventListener>();

  publish(event: PublishedEvent): void {
    for (const set of [this.byEvent.get(event.eventId), this.byMachine.get(event.machineId), this.all]) {
      if (!set) continue;
      for (const listener of set) {
        try {
          listener(event);
        } catch {
          // A subscriber's failure (a closed socket) must not stop the job or other subscribers.
        }
      }
    }
  }

  /** Listens to one job (`eventId`), one machine, or everything; returns the unsubscribe function. */
  subscribe(filter: { eventId?: string; machineId?: string }, listener: EventListener): () => void {
    const set = filter.eventId
      ? getOrCreate(this.byEvent, filter.eventId)
      : filter.machineId
        ? getOrCreate(this.byMachine, filter.machineId)
        : this.all;
    set.add(listener);
    return () => {
      set.delete(listener);
      if (filter.eventId && set.size === 0) this.byEvent.delete(filter.eventId);
      if (!filter.eventId && filter.machineId && set.size === 0) this.byMachine.delete(filter.machineId);
    };
  }
}

function getOrCreate<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}
