import { describe, expect, it } from 'vitest';
import { VersionPolicyError } from '../../src/errors.js';
import { assertVersionAllowed, prevailingVersion } from '../../src/engine/version-policy.js';

const policy = { allowDowngrade: false, stepThrough: [] as string[] };

describe('version policy', () => {
  it('refuses a downgrade unless it is a rollback or allowed', () => {
    expect(() => assertVersionAllowed({ current: '1.2.0', desired: '1.1.0', policy, isRollback: false })).toThrow(
      VersionPolicyError,
    );
    expect(() => assertVersionAllowed({ current: '1.2.0', desired: '1.1.0', policy, isRollback: false })).toThrow(
      /fleetgate rollback/,
    );
    assertVersionAllowed({ current: '1.2.0', desired: '1.1.0', policy, isRollback: true });
    assertVersionAllowed({
      current: '1.2.0',
      desired: '1.1.0',
      policy: { ...policy, allowDowngrade: true },
      isRollback: false,
    });
  });

  it('treats a prerelease of the next version as an upgrade', () => {
    assertVersionAllowed({ current: '1.1.0', desired: '1.2.0-broken', policy, isRollback: false });
  });

  it('enforces max skew and step-through versions', () => {
    expect(() =>
      assertVersionAllowed({
        current: '1.1.0',
        desired: '1.4.0',
        policy: { ...policy, maxSkew: 1 },
        isRollback: false,
      }),
    ).toThrow(/3 minor versions/);
    expect(() =>
      assertVersionAllowed({
        current: '1.1.0',
        desired: '2.0.0',
        policy: { ...policy, maxSkew: 1 },
        isRollback: false,
      }),
    ).toThrow(/major/);
    expect(() =>
      assertVersionAllowed({
        current: '1.1.0',
        desired: '1.4.0',
        policy: { ...policy, stepThrough: ['1.2.0', '1.3.0'] },
        isRollback: false,
      }),
    ).toThrow(/step through 1.2.0, 1.3.0/);
  });

  it('finds the version most targets run', () => {
    expect(prevailingVersion(['1.0.0', '1.1.0', '1.0.0'])).toBe('1.0.0');
    expect(prevailingVersion([])).toBeUndefined();
  });
});
