import { describe, expect, it } from 'vitest';
import { lastActivity, markActivity, secondsSinceActivity } from './activity.js';

describe('activity', () => {
  it('moves the last activity forward and counts whole seconds from it', () => {
    const before = lastActivity();
    markActivity();
    expect(lastActivity()).toBeGreaterThanOrEqual(before);
    expect(lastActivity()).toBeLessThanOrEqual(Date.now());
    expect(secondsSinceActivity()).toBe(0);
  });
});
