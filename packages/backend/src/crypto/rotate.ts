/**
 * Key rotation: re-seals every credential secret with the current key. With a file keyring a
 * new key is made current first, and keys that no longer seal anything are dropped from the file
 * at the end. Crash-safe by order: the new key is on disk before any row uses it, each row is
 * rewritten in its own transaction (guarded by its old key id), and old keys go only once no row
 * needs them — an interrupted rotation is finished by running it again.
 */
import { errors } from '../errors.js';
import type { Store } from '../store/store.js';
import { open, seal } from './cipher.js';

export interface RotationResult {
  keyId: string;
  resealed: number;
  /** Key ids the keyring dropped (file keyrings only). */
  retired: string[];
}

export async function rotateCredentialKey(
  store: Store,
  options: { newKey?: boolean } = {},
): Promise<RotationResult> {
  const { keyring, conn } = store;
  if (options.newKey ?? keyring.source === 'file') {
    if (!keyring.addKey)
      throw errors.invalid(
        'keys from the environment rotate by setting KK_CREDENTIAL_KEY (and the old one in KK_CREDENTIAL_OLD_KEYS)',
      );
    keyring.addKey();
  }
  const current = keyring.currentId;
  let resealed = 0;
  for (;;) {
    const batch = await conn.db
      .selectFrom('credentialData')
      .selectAll()
      .where('keyId', '!=', current)
      .orderBy('credentialId')
      .limit(100)
      .execute();
    if (batch.length === 0) break;
    for (const row of batch) {
      const fresh = seal(keyring, open(keyring, row, row.credentialId), row.credentialId);
      await conn.write(async (trx) => {
        const result = await trx
          .updateTable('credentialData')
          .set({ ...fresh, updatedAt: Date.now() })
          .where('credentialId', '=', row.credentialId)
          .where('keyId', '=', row.keyId)
          .executeTakeFirst();
        if (result.numUpdatedRows > 0n) {
          resealed++;
          await store.audit.record(trx, {
            actorId: null,
            action: 'credential.reseal',
            resourceType: 'credential',
            resourceId: row.credentialId,
            details: { from: row.keyId, to: current },
          });
        }
      });
    }
  }
  const before = keyring.ids();
  if (keyring.retain) {
    const used = await conn.db.selectFrom('credentialData').select('keyId').distinct().execute();
    keyring.retain(new Set(used.map((u) => u.keyId)));
  }
  const after = new Set(keyring.ids());
  return { keyId: current, resealed, retired: before.filter((id) => !after.has(id)) };
}
