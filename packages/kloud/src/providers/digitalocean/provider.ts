/**
 * DigitalOcean behind Kloud's Provider interface: droplets created with user data, Kloud's tags
 * and the account's SSH key; power actions followed until DO reports them done; bounded
 * retries and error kinds from the per-credential client.
 */
import { ProviderError } from '../errors.js';
import type {
  Available,
  InstanceInfo,
  MachineSpec,
  Provider,
  ProviderCredential,
  TaggedInstance,
} from '../provider.js';
import { providerWait, withRetry } from '../retry.js';
import { availableDo } from './available.js';
import { type DoApiError, DoClient, doError, doErrorKind } from './client.js';
import { type Droplet, dropletInfo, dropletRequest, kloudTag, taggedDroplet } from './droplets.js';
import { listAll } from './pages.js';
import { type DigitalOceanProviderOptions, type DoSettings, doSecret, doSettings } from './settings.js';
import { ensureSshKey } from './ssh-keys.js';

interface Action {
  id: number;
  status: 'in-progress' | 'completed' | 'errored';
  type: string;
}

export class DigitalOceanProvider implements Provider {
  readonly name = 'digitalocean';
  readonly #settings: DoSettings;

  constructor(options: DigitalOceanProviderOptions = {}) {
    this.#settings = doSettings(options);
  }

  async validate(credential: ProviderCredential): Promise<void> {
    const { body } = await this.#call(credential, 'check the account', (c) =>
      c.request<{ account: { status: string; status_message?: string; email?: string } }>(
        'GET',
        '/v2/account',
      ),
    );
    if (body.account.status === 'locked') {
      throw new ProviderError(
        'digitalocean',
        'credential',
        `digitalocean account is locked: ${body.account.status_message || 'no reason given'}`,
      );
    }
  }

  bootstrap(credential: ProviderCredential): Promise<Record<string, string>> {
    const publicKey = this.#settings.sshPublicKey?.trim();
    if (!publicKey) return Promise.resolve({});
    return this.#call(credential, 'add the SSH key', (c) =>
      ensureSshKey(c, `kloud-${credential.id}`, publicKey),
    );
  }

  async create(credential: ProviderCredential, spec: MachineSpec, userData: string): Promise<InstanceInfo> {
    doSecret(credential);
    const request = dropletRequest(spec, userData, credential.bootstrap?.sshKeyId, this.#settings);
    const tags = request.tags;
    const created = await this.#call(credential, `create machine ${spec.machineId}`, (c) =>
      // DO has no idempotency token: each attempt first looks for a droplet an earlier attempt
      // (ours, or one cut short by a crash) made, by its request tag, checked again here
      // because adopting a droplet that is not ours would be far worse than listing one.
      withRetry(
        async () => {
          const earlier = (await listAll<Droplet>(c, `/v2/droplets?tag_name=${tags[2]}`, 'droplets')).find(
            (d) => d.tags?.includes(tags[2]),
          );
          if (earlier) return earlier;
          return (await c.once<{ droplet: Droplet }>('POST', '/v2/droplets', request)).body.droplet;
        },
        { retryable: (e) => doErrorKind(e) === 'transient' },
        this.#settings.retry,
      ),
    );
    this.#settings.logger?.info(
      { provider: 'digitalocean', machineId: spec.machineId, dropletId: created.id },
      'droplet created',
    );
    const info = await this.#poll(credential, String(created.id), (i) => i.state !== 'Starting', 'to boot');
    if (info.state !== 'Running') {
      throw new ProviderError(
        'digitalocean',
        'transient',
        `droplet ${created.id} became ${info.state} instead of Running`,
      );
    }
    return info;
  }

  async start(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo> {
    const now = await this.#present(credential, instanceId, 'start');
    if (now.state === 'Running') return now;
    await this.#act(credential, instanceId, 'power_on');
    return this.describe(credential, instanceId);
  }

  async stop(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo> {
    const now = await this.#present(credential, instanceId, 'stop');
    if (now.state === 'Stopped') return now;
    // A clean shutdown first; if the guest ignores it, cut the power.
    const clean = await this.#act(credential, instanceId, 'shutdown', false);
    if (!clean) await this.#act(credential, instanceId, 'power_off');
    return this.describe(credential, instanceId);
  }

  async restart(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo> {
    const now = await this.#present(credential, instanceId, 'restart');
    if (now.state !== 'Running') {
      throw new ProviderError(
        'digitalocean',
        'user',
        `droplet ${instanceId} is ${now.state}, not Running; it cannot be restarted`,
      );
    }
    await this.#act(credential, instanceId, 'reboot');
    return this.describe(credential, instanceId);
  }

  async destroy(credential: ProviderCredential, instanceId: string): Promise<void> {
    try {
      await this.#call(credential, `destroy droplet ${instanceId}`, (c) =>
        c.request('DELETE', `/v2/droplets/${this.#id(instanceId)}`),
      );
    } catch (error) {
      if (error instanceof ProviderError && error.kind === 'notFound') return;
      throw error;
    }
  }

  async describe(credential: ProviderCredential, instanceId: string): Promise<InstanceInfo> {
    try {
      const { body } = await this.#call(credential, `describe droplet ${instanceId}`, (c) =>
        c.request<{ droplet: Droplet }>('GET', `/v2/droplets/${this.#id(instanceId)}`),
      );
      return dropletInfo(body.droplet);
    } catch (error) {
      if (error instanceof ProviderError && error.kind === 'notFound') {
        return { instanceId, state: 'Terminated', meta: { vanished: true } };
      }
      throw error;
    }
  }

  listAvailable(credential: ProviderCredential): Promise<Available> {
    return this.#call(credential, 'list sizes, regions and images', availableDo);
  }

  async listTagged(credential: ProviderCredential): Promise<TaggedInstance[]> {
    const droplets = await this.#call(credential, 'list Kloud droplets', (c) =>
      listAll<Droplet>(c, `/v2/droplets?tag_name=${kloudTag}`, 'droplets'),
    );
    return droplets.map(taggedDroplet);
  }

  /** A client for this credential: its own token and base URL, nothing shared. */
  #client(credential: ProviderCredential): DoClient {
    const secret = doSecret(credential);
    const log = this.#settings.logger;
    return new DoClient({
      token: secret.token,
      baseUrl: secret.baseUrl ?? this.#settings.baseUrl,
      timeoutMs: this.#settings.requestTimeoutMs,
      retry: this.#settings.retry,
      fetch: this.#settings.fetch,
      onRetry: (error, attempt, delayMs) =>
        log?.warn(
          {
            provider: 'digitalocean',
            credentialId: credential.id,
            attempt,
            delayMs,
            status: (error as DoApiError).status,
          },
          'retrying DigitalOcean call',
        ),
    });
  }

  async #call<T>(
    credential: ProviderCredential,
    what: string,
    run: (client: DoClient) => Promise<T>,
  ): Promise<T> {
    const client = this.#client(credential);
    try {
      return await run(client);
    } catch (error) {
      throw doError(error, what);
    }
  }

  #id(instanceId: string): string {
    if (!/^\d{1,20}$/.test(instanceId)) {
      throw new ProviderError(
        'digitalocean',
        'internal',
        `${JSON.stringify(instanceId)} is not a droplet id`,
      );
    }
    return instanceId;
  }

  /** The droplet's state; a droplet that is gone cannot take `action`. */
  async #present(credential: ProviderCredential, instanceId: string, action: string): Promise<InstanceInfo> {
    const now = await this.describe(credential, instanceId);
    if (now.state === 'Terminated') {
      throw new ProviderError(
        'digitalocean',
        'notFound',
        `droplet ${instanceId} is gone; it cannot ${action}`,
      );
    }
    return now;
  }

  /**
   * Starts a droplet action and follows it until DO reports it done. Resolves true when it
   * completed; when it errored, throws (or resolves false if `mustSucceed` is false).
   */
  async #act(
    credential: ProviderCredential,
    instanceId: string,
    type: string,
    mustSucceed = true,
  ): Promise<boolean> {
    const { body } = await this.#call(credential, `${type} droplet ${instanceId}`, (c) =>
      c.request<{ action: Action }>('POST', `/v2/droplets/${this.#id(instanceId)}/actions`, { type }),
    );
    const done = await this.#waitAction(credential, body.action, `${type} of droplet ${instanceId}`);
    if (done.status === 'completed') return true;
    if (!mustSucceed) return false;
    throw new ProviderError(
      'digitalocean',
      'transient',
      `DigitalOcean reports the ${type} of droplet ${instanceId} errored`,
    );
  }

  #waitAction(credential: ProviderCredential, action: Action, what: string): Promise<Action> {
    if (action.status !== 'in-progress') return Promise.resolve(action);
    return this.#wait(
      () =>
        this.#call(credential, `follow the ${what}`, (c) =>
          c.request<{ action: Action }>('GET', `/v2/actions/${action.id}`),
        ).then((r) => r.body.action),
      (a) => a.status !== 'in-progress',
      what,
    );
  }

  #poll(
    credential: ProviderCredential,
    instanceId: string,
    done: (info: InstanceInfo) => boolean,
    what: string,
  ): Promise<InstanceInfo> {
    return this.#wait(() => this.describe(credential, instanceId), done, `droplet ${instanceId} ${what}`);
  }

  #wait<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
    return providerWait('digitalocean', read, done, what, {
      intervalMs: this.#settings.pollIntervalMs,
      timeoutMs: this.#settings.waitTimeoutMs,
    });
  }
}
