/**
 * Fleetgate's typed error family. Every class sets `this.name`, so a catch can
 * tell them apart and the CLI can map them to exit codes.
 */
import type { Issue } from './spec/issue.js';

/** Bad input the user can fix (spec, inventory, flags). CLI exit code 1. */
export class ConfigurationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = ConfigurationError.name;
  }
}

/** Inventory problems, each with a location. */
export class InventoryError extends ConfigurationError {
  readonly issues: Issue[];
  constructor(issues: Issue[]) {
    super(`inventory has ${issues.length} problem${issues.length === 1 ? '' : 's'}`);
    this.name = InventoryError.name;
    this.issues = issues;
  }
}

/** A version policy refused the rollout (downgrade, skew) before any target was touched. */
export class VersionPolicyError extends ConfigurationError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = VersionPolicyError.name;
    this.reason = reason;
  }
}

/** The state file changed since it was read: another run wrote it (compare-and-swap failed). */
export class StateConflictError extends Error {
  constructor(
    message: string,
    readonly expectedRevision: number,
    readonly actualRevision: number,
  ) {
    super(message);
    this.name = StateConflictError.name;
  }
}

/** The state could not be made durable (disk, permissions, git refused the commit). */
export class StateWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = StateWriteError.name;
  }
}

/**
 * The state file cannot be read, or what it holds is not a state Fleetgate wrote (a damaged
 * file, a hand edit, a file that is not a state): nothing was written. The message names the
 * file, the line and column, the field and what was expected.
 */
export class StateReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = StateReadError.name;
  }
}

/** Another run of the same rollout holds the lock. */
export class RolloutLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = RolloutLockedError.name;
  }
}

/** The requested operation does not fit the rollout's phase (e.g. resume when nothing is paused). */
export class InvalidPhaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = InvalidPhaseError.name;
  }
}

/** A bug in Fleetgate itself. */
export class InternalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = InternalError.name;
  }
}

/** The rollout is paused and needs a decision before `run` can go on. CLI exit code 3. */
/** Another rollout of the repository holds a target of this one (one target, one rollout at a time). */
export class TargetHeldError extends InvalidPhaseError {
  readonly reason = 'TargetHeld';
  constructor(
    message: string,
    /** The rollout that holds them. */
    readonly holder: string,
    /** Target ids held. */
    readonly targets: string[],
  ) {
    super(message);
    this.name = 'TargetHeldError';
  }
}

export class RolloutPausedError extends InvalidPhaseError {
  constructor(message: string) {
    super(message);
    this.name = RolloutPausedError.name;
  }
}
