import { describe, expect, it } from 'vitest';
import { summarizeByVersion } from '../../src/engine/rollback.js';

describe('summarizeByVersion', () => {
  it('groups rolled-back targets by the version each got, most first (not "6 targets to 1.7.0")', () => {
    expect(summarizeByVersion(['1.7.0', '1.6.0', '1.7.0', '1.5.0', '1.7.0', undefined])).toBe(
      '3 to 1.7.0, 1 to 1.6.0, 1 to 1.5.0, 1 to unknown',
    );
  });
});
