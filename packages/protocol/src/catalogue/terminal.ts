import { z } from 'zod';
import { defineMethod } from './define.js';

/** terminal methods. Owned by the terminal implementer; merged into the catalogue by index.ts. */
export const terminalMethods = {
} satisfies Record<string, ReturnType<typeof defineMethod>>;

void z;
