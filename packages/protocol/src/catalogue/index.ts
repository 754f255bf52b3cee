import type { z } from 'zod';
import { commonMethods } from './common.js';
import type { MethodSpec } from './define.js';
import { execMethods } from './exec.js';
import { fsMethods } from './fs.js';
import { klientMethods } from './klient.js';
import { kloudMethods } from './kloud.js';
import { terminalMethods } from './terminal.js';

export * from './define.js';

/** Every RPC of the platform. The one place a method's shape is written. */
export const catalogue = {
  ...commonMethods,
  ...klientMethods,
  ...fsMethods,
  ...execMethods,
  ...terminalMethods,
  ...kloudMethods,
} satisfies Record<string, MethodSpec>;

export type Catalogue = typeof catalogue;
export type MethodName = keyof Catalogue;
export type ParamsOf<M extends MethodName> = z.input<Catalogue[M]['params']>;
/** Params after validation (defaults applied), as handlers receive them. */
export type ParsedParamsOf<M extends MethodName> = z.output<Catalogue[M]['params']>;
export type ResultOf<M extends MethodName> = z.output<Catalogue[M]['result']>;
