/**
 * A problem found in a spec before it has a position: the field path and the
 * words. `parse.ts` locates it in the YAML and turns it into an `Issue`.
 * Internal to `src/spec`; rules return these so they stay testable on plain
 * objects.
 */
import type { PathSegment } from './locate.js';

export interface SpecProblem {
  /** Field path, e.g. `['tiers', 0, 'strategy', 'canary']`; `[]` for the document. */
  path: PathSegment[];
  message: string;
  expected?: string;
  /**
   * What was found. Omitted: the value written at `path` is shown when the
   * problem is about a value's form (see `showGot`). `null`: show nothing.
   */
  got?: string | null;
  /** Show the value written at `path` as `got` when `got` is omitted (default false). */
  showGot?: boolean;
  /** Point at the key of the field instead of its value (unknown keys, bad keys). */
  at?: 'key' | 'value';
  severity: 'error' | 'warning';
}
