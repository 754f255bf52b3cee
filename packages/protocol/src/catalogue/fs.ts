import { z } from 'zod';
import { defineMethod } from './define.js';

/** fs methods. Owned by the fs implementer; merged into the catalogue by index.ts. */
export const fsMethods = {
} satisfies Record<string, ReturnType<typeof defineMethod>>;

void z;
