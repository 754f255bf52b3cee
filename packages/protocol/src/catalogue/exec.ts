import { z } from 'zod';
import { defineMethod } from './define.js';

/** exec methods. Owned by the exec implementer; merged into the catalogue by index.ts. */
export const execMethods = {
} satisfies Record<string, ReturnType<typeof defineMethod>>;

void z;
