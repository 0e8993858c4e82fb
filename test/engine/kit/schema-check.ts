/**
 * Every state the in-memory ports store is checked against the state file's schema
 * (src/state/schema.ts), so each engine unit test also says the schema accepts what the
 * engine writes: a field the engine writes that the schema refuses (or does not know the
 * form of) fails the test that wrote it, not a user's next read.
 */
import { StateSchema } from '../../../src/state/schema.js';
import type { RolloutState } from '../../../src/state/types.js';

/**
 * @throws Error naming every problem (`path: message`) when the schema refuses `state`
 * @returns `state`, unchanged (the schema's output is not used, as in `parseState`)
 */
export function checkedState(state: RolloutState, where: string): RolloutState {
  const checked = StateSchema.safeParse(structuredClone(state));
  if (!checked.success) {
    const problems = checked.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`);
    throw new Error(`${where}: the state schema refuses what the engine wrote:\n  ${problems.join('\n  ')}`);
  }
  return state;
}
