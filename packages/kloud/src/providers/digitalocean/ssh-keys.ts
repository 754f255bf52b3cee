/** The operator's SSH key on a DigitalOcean account: found by its key material, added once. */
import { DoApiError, type DoClient } from './client.js';
import { listAll } from './pages.js';

interface SshKey {
  id: number;
  fingerprint: string;
  public_key: string;
  name: string;
}

/** `type base64` of an OpenSSH public key line, without its comment. */
function material(line: string): string {
  return line.trim().split(/\s+/).slice(0, 2).join(' ');
}

/** The account's key with this material, added under `name` when missing; its id and fingerprint. */
export async function ensureSshKey(
  client: DoClient,
  name: string,
  publicKey: string,
): Promise<Record<string, string>> {
  const find = async () =>
    (await listAll<SshKey>(client, '/v2/account/keys', 'ssh_keys')).find(
      (k) => material(k.public_key) === material(publicKey),
    );
  let key = await find();
  if (!key) {
    try {
      key = (
        await client.request<{ ssh_key: SshKey }>('POST', '/v2/account/keys', {
          name: name.slice(0, 255),
          public_key: publicKey,
        })
      ).body.ssh_key;
    } catch (error) {
      // Added by a concurrent bootstrap between our look and our add: use that one.
      key = error instanceof DoApiError && error.status === 422 ? await find() : undefined;
      if (!key) throw error;
    }
  }
  return { sshKeyId: String(key.id), sshKeyFingerprint: key.fingerprint };
}
