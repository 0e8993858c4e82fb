/**
 * Where the engine keeps state: a port, so local files + git and the GitHub
 * contents API are two adapters of one interface.
 */
import type { RolloutState } from './types.js';

export interface StatePort {
  /** Human-readable location (`rollouts/demo.state.yaml`). */
  readonly location: string;
  /**
   * Current state, or `undefined` when the rollout never ran.
   * @throws StateReadError when it cannot be read or is damaged (located: file, line, column, field)
   */
  read(): Promise<RolloutState | undefined>;
  /**
   * Writes `state`, expecting the stored revision to equal `state.revision`.
   * @returns the stored state (revision + 1).
   * @throws StateConflictError, StateWriteError; StateReadError when the stored revision cannot be read
   */
  write(state: RolloutState): Promise<RolloutState>;
  /**
   * Makes the last write durable where people look (a git commit).
   * @throws StateWriteError when the commit is refused
   */
  commit(message: string): Promise<void>;
  /**
   * True when runs on other machines share this state (the GitHub contents API): the engine
   * then takes a lease in the state, made visible with `commit()`, before touching any target.
   * Absent or false: one machine's lock file already keeps runs apart (the local backend).
   */
  readonly shared?: boolean;
  /**
   * The states of the other rollouts kept beside this one (same folder, same branch), for the
   * rule that two rollouts never hold the same target. A state that cannot be read is skipped.
   */
  siblings?(): Promise<RolloutState[]>;
}
