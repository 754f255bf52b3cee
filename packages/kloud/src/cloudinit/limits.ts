/** Clouds cap user data; a machine whose user data is too big is refused before any call. */
import { ProviderError } from '../providers/errors.js';

/** Throws ProviderError `user` when `userData` is over `maxBytes` (UTF-8), naming the cloud's limit. */
export function checkUserDataSize(provider: string, cloud: string, userData: string, maxBytes: number): void {
  const bytes = Buffer.byteLength(userData, 'utf8');
  if (bytes > maxBytes) {
    throw new ProviderError(
      provider,
      'user',
      `user data is ${bytes} bytes; ${cloud} takes at most ${maxBytes}`,
    );
  }
}
