/** Test helper: the ProviderError a provider call rejects with (fails the test if it resolves). */
import { ProviderError } from '@kk/kloud/providers/errors.js';
import { expect } from 'vitest';

export async function providerRejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}
