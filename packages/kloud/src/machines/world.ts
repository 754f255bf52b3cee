/**
 * How the lifecycle reaches the outside world for one machine: its provider credential, the
 * user data it boots with (the install script for local machines, a #cloud-config wrapping the
 * same script for cloud ones), its kite.key, and the environment its provisioners run with.
 */
import type { Store } from '@kk/backend/store/store.js';
import { issueKiteKey, type KeySet } from '@kk/protocol/tokens/index.js';
import { installScript } from '../cloudinit/install-script.js';
import { buildUserData } from '../cloudinit/user-data.js';
import type { KlientArtifact } from '../download/klient-artifact.js';
import { kloudErrors } from '../errors.js';
import type { Provider, ProviderCredential } from '../providers/provider.js';
import { buildSpecOf, type Machine } from './machine.js';

export interface WorldOptions {
  store: Store;
  /** To bootstrap a cloud credential (key pair, security group …) before its first build. */
  providers: Map<string, Provider>;
  keys: KeySet;
  issuer: string;
  artifact: () => KlientArtifact;
}

export function klientDownloadUrl(issuer: string): string {
  return new URL('/download/klient', issuer).toString();
}

export function machineWorld(options: WorldOptions) {
  const { store } = options;
  return {
    async credential(machine: Machine): Promise<ProviderCredential> {
      if (!machine.credentialId) {
        if (machine.provider === 'local') return { id: 'local', provider: 'local', secret: {} };
        throw kloudErrors.invalid(
          `machine ${machine.id} uses provider ${machine.provider} but has no credential`,
        );
      }
      const cred = await store.credentials.get(machine.credentialId);
      if (!cred)
        throw kloudErrors.notFound(`machine ${machine.id}'s credential ${machine.credentialId} is gone`);
      const fields = cred.fields;
      const credential: ProviderCredential = {
        id: cred.id,
        provider: cred.provider,
        secret: await store.credentials.secret(cred.id),
      };
      if (fields.bootstrap && typeof fields.bootstrap === 'object')
        return { ...credential, bootstrap: fields.bootstrap as Record<string, string> };
      // First use: the provider makes its per-credential resources once (key pair, security
      // group …); their ids are kept with the credential's non-secret fields for later builds.
      const provider = options.providers.get(cred.provider);
      if (!provider)
        throw kloudErrors.invalid(
          `credential ${cred.id} is for provider ${cred.provider}, which is not enabled`,
        );
      const bootstrap = await provider.bootstrap(credential);
      await store.credentials.update(cred.id, { fields: { ...fields, bootstrap } }, undefined, null);
      return { ...credential, bootstrap };
    },

    issueKiteKey(machine: Machine, kiteId: string): Promise<string> {
      return issueKiteKey(options.keys, { issuer: options.issuer, owner: machine.ownerId, kiteId });
    },

    async userData(machine: Machine, kiteKey: string): Promise<string> {
      const artifact = options.artifact();
      const params = {
        kloudUrl: options.issuer,
        klientUrl: klientDownloadUrl(options.issuer),
        klientSha256: artifact.sha256,
        kiteKey,
      };
      const { userData } = await buildSpecOf(store, machine);
      if (machine.provider !== 'local') return buildUserData({ ...params, user: 'kloud', userData });
      const script = installScript(params);
      // Local machines run the stack's shell user data right after Klient's install, like cloud-init would.
      if (!userData) return script;
      if (!userData.startsWith('#!'))
        throw kloudErrors.invalid('local machines take user data as a shell script starting with #!');
      return `${script}\n# --- the stack's user data ---\n(cat <<'KLOUD_USER_DATA_EOF'\n${userData}\nKLOUD_USER_DATA_EOF\n) > "$KLIENT_CONFIG_DIR/user-data.sh"\nchmod 0700 "$KLIENT_CONFIG_DIR/user-data.sh"\n"$KLIENT_CONFIG_DIR/user-data.sh"\n`;
    },

    async stackEnv(machine: Machine): Promise<Record<string, string>> {
      const stack = machine.stackId ? await store.stacks.get(machine.stackId) : undefined;
      return { ...(stack?.config ?? {}), KLOUD_MACHINE_ID: machine.id, KLOUD_MACHINE_LABEL: machine.label };
    },
  };
}
