/** The templates in examples/ (the README's quick start uses them) must stay valid. */
import { readdirSync, readFileSync } from 'node:fs';
import { parseTemplate } from '@kk/kloud/stacks/template.js';
import { describe, expect, it } from 'vitest';

const dir = new URL('../examples/', import.meta.url);

describe('examples', () => {
  for (const file of readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f))) {
    it(`${file} is a valid stack template`, () => {
      const template = parseTemplate(readFileSync(new URL(file, dir), 'utf8'));
      expect(Object.keys(template.machines).length).toBeGreaterThan(0);
    });
  }
});
