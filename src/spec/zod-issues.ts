/**
 * Turns zod issues into `SpecProblem`s a person understands: "is required",
 * "unknown field; did you mean …", the schema's own explained messages, and
 * plain words for zod's defaults. Internal to `src/spec`.
 */
import type { z } from 'zod';
import { unexplain } from './explain.js';
import { describeValue, isMissing, valueAt, type PathSegment } from './locate.js';
import type { SpecProblem } from './problem.js';

const TYPE_WORDS: Record<string, { message: string; expected: string }> = {
  object: { message: 'must be a map of fields', expected: 'a map (key: value lines)' },
  record: { message: 'must be a map', expected: 'a map (key: value lines)' },
  array: { message: 'must be a list', expected: 'a list (- item lines or [a, b])' },
  string: { message: 'must be text', expected: 'a string' },
  number: { message: 'must be a number', expected: 'a number' },
  int: { message: 'must be a whole number', expected: 'an integer' },
  boolean: { message: 'must be true or false', expected: 'true or false' },
};

/** Edit distance between two short strings (for "did you mean"). */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[y.length]!;
}

/** The known name closest to `word`, when close enough to be a typo. */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.floor(Math.min(word.length, best?.length ?? 0) / 3));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}

function knownFrom(expected: string | undefined): string[] {
  if (expected === undefined || !expected.startsWith('one of ')) return [];
  return expected.slice('one of '.length).split(', ');
}

function typeWords(expected: string): { message: string; expected: string } {
  return TYPE_WORDS[expected] ?? { message: `must be ${expected}`, expected };
}

/**
 * Converts the issues of a failed `safeParse` into problems.
 * @param data - the parsed YAML the schema saw (to tell a missing field from a wrong one).
 */
export function problemsFromZod(issues: readonly z.core.$ZodIssue[], data: unknown): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
    const explained = unexplain(issue.message);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = knownFrom(explained?.expected);
        for (const key of issue.keys) {
          const guess = closest(key, known);
          problems.push({
            path: [...path, key],
            message: `${explained?.message ?? 'unknown field'}${guess === undefined ? '' : `; did you mean "${guess}"?`}`,
            ...(explained?.expected !== undefined ? { expected: explained.expected } : {}),
            got: null,
            at: 'key',
            severity: 'error',
          });
        }
        break;
      }
      case 'invalid_key': {
        const inner = issue.issues[0];
        const innerExplained = inner === undefined ? undefined : unexplain(inner.message);
        const key = path[path.length - 1];
        problems.push({
          path,
          message: innerExplained?.message ?? 'is not an allowed key',
          ...(innerExplained?.expected !== undefined ? { expected: innerExplained.expected } : {}),
          got: key === undefined ? null : JSON.stringify(String(key)),
          at: 'key',
          severity: 'error',
        });
        break;
      }
      case 'invalid_type': {
        const words = typeWords(issue.expected);
        if (isMissing(data, path)) {
          problems.push({
            path,
            message: 'is required',
            expected: explained?.expected ?? words.expected,
            got: null,
            severity: 'error',
          });
          break;
        }
        let message = explained?.message ?? words.message;
        const value = valueAt(data, path);
        // YAML reads 8080, 1.0 and true as numbers and booleans; quoting keeps them text.
        // Not for versions: quoting 1.26 does not make it major.minor.patch.
        const quotable = !(explained?.message.includes('semantic version') ?? false);
        if (quotable && issue.expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) {
          message += `; quote it to keep it text: "${describeValue(value)}"`;
        }
        problems.push({
          path,
          message,
          expected: explained?.expected ?? words.expected,
          showGot: true,
          severity: 'error',
        });
        break;
      }
      case 'invalid_value': {
        const values = issue.values.map((v) => JSON.stringify(v));
        problems.push({
          path,
          message:
            explained?.message ??
            (values.length === 1 ? `must be ${values[0]}` : `must be one of ${values.join(', ')}`),
          expected: explained?.expected ?? values.join(' | '),
          showGot: true,
          severity: 'error',
        });
        break;
      }
      case 'custom': {
        problems.push({
          path,
          message: explained?.message ?? issue.message,
          ...(explained?.expected !== undefined ? { expected: explained.expected } : {}),
          severity: 'error',
        });
        break;
      }
      default: {
        // invalid_union, invalid_format, too_small, too_big, not_multiple_of, invalid_element
        problems.push({
          path,
          message: explained?.message ?? issue.message,
          ...(explained?.expected !== undefined ? { expected: explained.expected } : {}),
          showGot: true,
          severity: 'error',
        });
      }
    }
  }
  return problems;
}
