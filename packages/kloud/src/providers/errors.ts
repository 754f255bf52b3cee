/** Kinds of provider failure the lifecycle acts on differently (see provider.ts). */
export type ProviderErrorKind = 'user' | 'credential' | 'transient' | 'notFound' | 'internal';

export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  readonly provider: string;

  constructor(provider: string, kind: ProviderErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProviderError';
    this.provider = provider;
    this.kind = kind;
  }
}
