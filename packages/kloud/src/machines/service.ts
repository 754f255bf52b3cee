/**
 * Machine operations as callers see them, one implementation behind the REST API and Kloud's
 * RPC methods: lifecycle calls, info, events, access tokens, sharing. Every operation checks
 * the caller's access first; a machine the caller may not see answers NotFound (ids of other
 * people's machines do not leak).
 */
import type { Viewer } from '@kk/backend/access/viewer.js';
import type { Store } from '@kk/backend/store/store.js';
import type { Scope } from '@kk/protocol/catalogue/define.js';
import type { ResultOf } from '@kk/protocol/catalogue/index.js';
import { issueAccessToken, type KeySet } from '@kk/protocol/tokens/index.js';
import { kloudErrors } from '../errors.js';
import type { EventBus, EventListener, ProgressEvent } from '../lifecycle/events.js';
import type { ActionAccepted, Lifecycle } from '../lifecycle/lifecycle.js';
import { allowedActions, type MachineAction } from '../lifecycle/states.js';
import type { Agents } from '../registry/agents.js';
import { machineAccess, scopeCovers } from './access.js';
import type { Machine } from './machine.js';

/** A machine as Kloud's callers see it: the catalogue's `kloud.info` result (one source of the shape). */
export type MachineInfo = ResultOf<'kloud.info'>;

/** Who may make which call: the owner all; a `user` share may start, stop and restart. */
const actionScope: Record<MachineAction, Scope> = {
  build: 'owner',
  destroy: 'owner',
  start: 'user',
  stop: 'user',
  restart: 'user',
};

export interface MachineServiceDeps {
  store: Store;
  lifecycle: Lifecycle;
  /** Klients wherever they are linked (a machine's `online`). */
  agents: Agents;
  events: EventBus;
  keys: KeySet;
  issuer: string;
}

export class MachineService {
  constructor(private readonly deps: MachineServiceDeps) {}

  /** The machine and the caller's access to it; NotFound when the caller has none. */
  async access(
    viewer: Viewer,
    machineId: string,
    needed: Scope = 'readonly',
  ): Promise<{ machine: Machine; access: Scope }> {
    const machine = await this.deps.store.machines.get(machineId);
    const access = machine && machineAccess(viewer, machine);
    if (!machine || !access) throw kloudErrors.notFound(`no machine ${machineId}`, { machineId });
    if (!scopeCovers(access, needed))
      throw kloudErrors.forbidden(`this needs ${needed} access to machine ${machineId}; you have ${access}`, {
        machineId,
        access,
      });
    return { machine, access };
  }

  async call(viewer: Viewer, machineId: string, action: MachineAction): Promise<ActionAccepted> {
    await this.access(viewer, machineId, actionScope[action]);
    return this.deps.lifecycle.request(machineId, action, viewer.id);
  }

  async info(viewer: Viewer, machineId: string): Promise<MachineInfo> {
    const { machine, access } = await this.access(viewer, machineId);
    return toInfo(machine, access, this.deps.agents.online(machine));
  }

  async events(
    viewer: Viewer,
    filter: { eventId?: string; machineId?: string; afterSeq?: number; limit?: number },
  ) {
    const machineId = await this.machineOfFilter(viewer, filter);
    const rows = await this.deps.store.events.list({
      eventId: filter.eventId,
      machineId: filter.eventId ? undefined : machineId,
      after: filter.afterSeq,
      limit: filter.limit ?? 200,
    });
    return rows.map((r) => ({
      seq: r.seq,
      eventId: r.eventId,
      machineId: r.machineId,
      message: r.message,
      percentage: r.percentage,
      status: r.status,
      ...(r.error ? { error: r.error } : {}),
      at: r.at,
    }));
  }

  /** Live events after the stored ones: `listener` gets every stored event first, then new ones. */
  /**
   * Live events after the stored ones: `listener` gets every stored event first, then new ones,
   * each once. New ones come from this process's EventBus and, on PostgreSQL, from the other Kloud
   * processes through the backend's event channel (LISTEN/NOTIFY).
   */
  async subscribe(
    viewer: Viewer,
    filter: { eventId?: string; machineId?: string },
    listener: (e: ProgressEvent) => void,
  ): Promise<() => void> {
    const machineId = await this.machineOfFilter(viewer, filter);
    const queued: ProgressEvent[] = [];
    const seen = new Set<number>();
    let replaying = true;
    let last = 0;
    const deliver = (e: ProgressEvent) => {
      if (e.seq !== undefined) {
        if (e.seq <= last || seen.has(e.seq)) return;
        seen.add(e.seq);
        if (seen.size > 10_000) seen.delete(seen.values().next().value!);
      }
      listener(e);
    };
    const live: EventListener = (e) => (replaying ? queued.push(e) : deliver(e));
    const offLocal = this.deps.events.subscribe(
      filter.eventId ? { eventId: filter.eventId } : { machineId },
      live,
    );
    const offRemote =
      this.deps.store.kind === 'postgres'
        ? await this.deps.store.events.subscribe(
            (row) =>
              live({
                eventId: row.eventId,
                machineId: row.machineId ?? '',
                message: row.message,
                percentage: row.percentage,
                status: row.status,
                ...(row.error ? { error: row.error } : {}),
                at: row.at,
                seq: row.seq,
              }),
            filter.eventId ? { jobId: filter.eventId } : { machineId },
          )
        : () => {};
    for (const e of await this.events(viewer, { ...filter, limit: 1000 })) {
      last = e.seq;
      listener(e);
    }
    replaying = false;
    for (const e of queued) deliver(e);
    return () => {
      offLocal();
      offRemote();
    };
  }

  private async machineOfFilter(
    viewer: Viewer,
    filter: { eventId?: string; machineId?: string },
  ): Promise<string> {
    if (filter.machineId) return (await this.access(viewer, filter.machineId)).machine.id;
    const job = filter.eventId ? await this.deps.store.jobs.get(filter.eventId) : undefined;
    if (job?.machineId) {
      await this.access(viewer, job.machineId);
      return job.machineId;
    }
    // A stack job's events: visible to the stack's owner.
    const stack = job?.stackId ? await this.deps.store.stacks.get(job.stackId) : undefined;
    if (!stack || (stack.ownerId !== viewer.id && !viewer.isAdmin))
      throw kloudErrors.notFound(`no event ${filter.eventId}`);
    return '';
  }

  /**
   * An access token for the caller to reach the machine's Klient, with the caller's scope (or
   * a narrower one they ask for), plus where to use it: through Kloud, or directly.
   */
  async token(viewer: Viewer, machineId: string, options: { scope?: Scope; expiresInSeconds?: number } = {}) {
    const { machine, access } = await this.access(viewer, machineId);
    const scope = options.scope ?? access;
    if (!scopeCovers(access, scope))
      throw kloudErrors.forbidden(`you have ${access} access; cannot issue a ${scope} token`);
    if (!machine.kiteId)
      throw kloudErrors.invalidState(
        `machine ${machineId} is ${machine.status.state}: it has no Klient yet`,
        { state: machine.status.state },
      );
    const { token, expiresAt } = await issueAccessToken(this.deps.keys, {
      issuer: this.deps.issuer,
      user: viewer.id,
      kiteId: machine.kiteId,
      scope,
      expiresInSeconds: options.expiresInSeconds,
    });
    const tunnel = new URL(`/machines/${machine.id}/klient`, this.deps.issuer);
    tunnel.protocol = tunnel.protocol === 'https:' ? 'wss:' : 'ws:';
    return {
      token,
      expiresAt,
      scope,
      kiteId: machine.kiteId,
      url: tunnel.toString(),
      directUrl: machine.queryString,
    };
  }
}

export function toInfo(machine: Machine, access: Scope, online: boolean): MachineInfo {
  return {
    id: machine.id,
    uid: machine.uid,
    label: machine.label,
    provider: machine.provider,
    ownerId: machine.ownerId,
    stackId: machine.stackId,
    state: machine.status.state,
    stateReason: machine.status.reason,
    stateModifiedAt: machine.status.modifiedAt,
    allowed: [...allowedActions(machine.status.state)],
    online,
    lastSeenAt: machine.registry.lastSeenAt,
    ipAddress: machine.ipAddress,
    kiteId: machine.kiteId,
    access,
  };
}
