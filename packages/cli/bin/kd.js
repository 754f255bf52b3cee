#!/usr/bin/env node
// kd runs from its TypeScript source (the workspace's rule): register tsx, then load main.ts.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
