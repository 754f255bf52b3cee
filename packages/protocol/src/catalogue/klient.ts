import { z } from 'zod';
import { defineMethod } from './define.js';

/** klient methods. Owned by the klient implementer; merged into the catalogue by index.ts. */
export const klientMethods = {
} satisfies Record<string, ReturnType<typeof defineMethod>>;

void z;
