import { z } from 'zod';
import { defineMethod } from './define.js';

/** kloud methods. Owned by the kloud implementer; merged into the catalogue by index.ts. */
export const kloudMethods = {
} satisfies Record<string, ReturnType<typeof defineMethod>>;

void z;
