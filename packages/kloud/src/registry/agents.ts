/**
 * Klients wherever they are linked: what the lifecycle and stacks use to wait for a Klient and
 * to run provisioners on it (`AgentLinks`).
 *
 * One SQLite Kloud has every link itself: this is the registry's own links, nothing more. With
 * several Kloud processes on one PostgreSQL a Klient may have linked to any of them; the store
 * records the link's holder (that process's own address) and its last heartbeat, so
 *
 * - `waitOnline` resolves once the machine reads online at some holder with a fresh heartbeat
 *   (within 3 heartbeats: a holder killed without recording its links offline goes stale), woken
 *   by the holder's `NOTIFY` when it records a link and polled every second as the fallback;
 * - `call` / `runScript` use a link held here directly, and otherwise reach the Klient through
 *   the holder's tunnel (`/machines/<id>/klient`), end to end, with an owner-scoped access token
 *   minted here — the same path and checks as any caller's;
 * - `disconnect` records the machine offline at once and asks whichever process holds the link
 *   to drop it (`NOTIFY`).
 *
 * A call through a holder that dies fails with Unavailable, like a dropped link here; the
 * holder's record is cleared (and a holder still alive asked to drop the link), so the caller
 * waits for the Klient to link again (it reconnects by itself) and decides what to redo.
 */
import type { Store } from '@kk/backend/store/store.js';
import type { MethodName, ParamsOf, ResultOf } from '@kk/protocol/catalogue/index.js';
import { errors as rpcErrors } from '@kk/protocol/errors.js';
import { connect } from '@kk/protocol/node.js';
import { issueAccessToken, type KeySet } from '@kk/protocol/tokens/index.js';
import type { Logger } from 'pino';
import { isLinkLost } from '../errors.js';
import type { AgentLinks, ExecOutcome } from '../lifecycle/deps.js';
import { Wakeup } from '../lifecycle/wakeup.js';
import type { Machine } from '../machines/machine.js';
import { LINK_UP_CHANNEL, type Registry } from './registry.js';

/** Asks the process holding a Klient's link to drop it (payload: kite id). */
const LINK_DROP_CHANNEL = 'kk_link_drop';
/** How often a wait for a Klient linked elsewhere looks at the store when no NOTIFY woke it. */
const ONLINE_POLL_MS = 1_000;
/** Heartbeats a link may miss before the store's record of it counts as stale. */
const STALE_AFTER_HEARTBEATS = 3;

export interface AgentsOptions {
  store: Store;
  registry: Registry;
  keys: KeySet;
  /** The tokens' issuer (Kloud's public URL). */
  issuer: string;
  /** This process's own address, as the registry records it. */
  self: string;
  heartbeatMs: number;
  log: Logger;
}

export class Agents implements AgentLinks {
  private stopListening: (() => void) | undefined;

  constructor(private readonly options: AgentsOptions) {}

  private get shared(): boolean {
    return this.options.store.kind === 'postgres';
  }

  /** With PostgreSQL: drops links other processes ask this one to drop. Call once at start. */
  async start(): Promise<void> {
    if (!this.shared) return;
    this.stopListening = await this.options.store.notifier.subscribe(LINK_DROP_CHANNEL, (kiteId) => {
      if (!this.options.registry.link(kiteId)) return;
      void this.options.registry.disconnect(kiteId, 'dropped at the request of another Kloud process');
    });
  }

  close(): void {
    this.stopListening?.();
  }

  /** The process address holding a live link to this machine's Klient, per the store (undefined: none). */
  private holderOf(machine: Machine): string | undefined {
    const r = machine.registry;
    const fresh =
      r.lastSeenAt !== null && r.lastSeenAt >= Date.now() - STALE_AFTER_HEARTBEATS * this.options.heartbeatMs;
    return r.online && r.linkHolder && fresh ? r.linkHolder : undefined;
  }

  /** True when the machine's Klient is linked here, or (PostgreSQL) fresh at another process. */
  online(machine: Machine): boolean {
    if (!machine.kiteId) return false;
    if (this.options.registry.isOnline(machine.kiteId)) return true;
    const holder = this.shared ? this.holderOf(machine) : undefined;
    return holder !== undefined && holder !== this.options.self;
  }

  private async isOnline(kiteId: string): Promise<boolean> {
    if (this.options.registry.isOnline(kiteId)) return true;
    const machine = await this.options.store.machines.byKiteId(kiteId);
    return machine !== undefined && this.online(machine);
  }

  async waitOnline(kiteId: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (!this.shared) return this.options.registry.waitOnline(kiteId, timeoutMs, signal);
    const deadline = Date.now() + timeoutMs;
    const wakeup = new Wakeup();
    const off = await this.options.store.notifier.subscribe(LINK_UP_CHANNEL, (k) => {
      if (k === kiteId) wakeup.poke();
    });
    try {
      for (;;) {
        if (signal.aborted) throw signal.reason;
        if (await this.isOnline(kiteId)) return;
        const left = deadline - Date.now();
        if (left <= 0) throw rpcErrors.timeout(`klient ${kiteId} did not register within ${timeoutMs} ms`);
        await wakeup.sleep(Math.min(ONLINE_POLL_MS, left), signal);
      }
    } finally {
      off();
    }
  }

  /** Calls a method on a Klient over its link, wherever it is held. */
  async call<M extends MethodName>(
    kiteId: string,
    method: M,
    params: ParamsOf<M>,
    timeoutMs: number,
  ): Promise<ResultOf<M>> {
    const { registry, store } = this.options;
    if (registry.link(kiteId) || !this.shared) return registry.call(kiteId, method, params, timeoutMs);
    const machine = await store.machines.byKiteId(kiteId);
    // A record without a recent heartbeat is tried all the same: a loaded holder may be late
    // with it, and a dead one refuses at once (and its record is then forgotten).
    const holder = machine?.registry.online ? machine.registry.linkHolder : null;
    if (!machine || !holder || holder === this.options.self)
      throw rpcErrors.unavailable(`machine's klient is offline (kite ${kiteId})`);
    const url = new URL(`/machines/${machine.id}/klient`, holder);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const token = async () =>
      (
        await issueAccessToken(this.options.keys, {
          issuer: this.options.issuer,
          user: machine.ownerId,
          kiteId,
          scope: 'owner',
        })
      ).token;
    const client = connect(url.toString(), token, { reconnect: false });
    try {
      return await client.call(method, params, { timeoutMs });
    } catch (err) {
      if (isLinkLost(err)) await this.forget(machine.id, kiteId, holder);
      throw err;
    } finally {
      client.close();
    }
  }

  /**
   * A call through `holder` was lost: clears its record of the link, and — only if that record
   * was still its (the Klient may have linked elsewhere meanwhile) — has it drop the link, in
   * case it is alive, so waiters wait for the Klient to link again, recorded anew.
   */
  private async forget(machineId: string, kiteId: string, holder: string): Promise<void> {
    const { store } = this.options;
    try {
      const res = await store.conn.db
        .updateTable('machines')
        .set({ online: 0, linkHolder: null })
        .where('id', '=', machineId)
        .where('kiteId', '=', kiteId)
        .where('linkHolder', '=', holder)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) > 0) await store.notifier.publish(LINK_DROP_CHANNEL, kiteId);
    } catch (err) {
      this.options.log.warn({ err, machineId }, 'could not forget a lost link');
    }
  }

  async runScript(
    kiteId: string,
    script: string,
    options: { env?: Record<string, string>; timeoutMs: number },
  ): Promise<ExecOutcome> {
    const out = await this.call(
      kiteId,
      'exec.run',
      { argv: ['/bin/sh', '-c', script], env: options.env, timeoutMs: options.timeoutMs },
      options.timeoutMs + 10_000,
    );
    return { exitCode: out.exitCode, signal: out.signal, stdout: out.stdout, stderr: out.stderr };
  }

  async disconnect(kiteId: string, reason: string): Promise<void> {
    const { registry, store } = this.options;
    if (registry.link(kiteId) || !this.shared) return registry.disconnect(kiteId, reason);
    // Offline at once (a restart then waits for the new Klient), and the holder drops the link.
    const machine = await store.machines.byKiteId(kiteId);
    if (machine?.registry.online)
      await store.machines.setRegistry(machine.id, { online: false, linkHolder: null });
    await store.notifier.publish(LINK_DROP_CHANNEL, kiteId);
  }
}
