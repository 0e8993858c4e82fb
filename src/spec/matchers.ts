/**
 * Alertmanager matchers (`severity="critical", service=~"edge|core"`): parsing,
 * rendering per target, matching label sets, and the two forms the v2 API takes
 * (`filter=` strings for `GET /api/v2/alerts`, `{name, value, isRegex, isEqual}`
 * objects for `POST /api/v2/silences`). Pure: no I/O.
 *
 * The grammar is Alertmanager's classic one (`pkg/labels/parse.go`, the form
 * `amtool` and routes take, and the only one before 0.27): an optional pair of
 * braces around matchers separated by commas; each matcher is a label name
 * (`[a-zA-Z_][a-zA-Z0-9_]*`), an operator (`=`, `!=`, `=~`, `!~`) and a value,
 * double-quoted (escapes `\"`, `\\`, `\n`) or bare. Regular expressions are
 * anchored at both ends, as Alertmanager anchors them. A missing label matches
 * as the empty string. Values may hold `{{target.*}}` placeholders (rendered per
 * target by the engine; inside a regular expression the inserted value is
 * escaped, so an address's dots are literal). Lives in the spec layer: the spec's
 * rules check the syntax, the engine and the Alertmanager client use the rest.
 */
import { findPlaceholders } from './placeholders.js';

/** A matcher operator: equal, not equal, regex match, regex no match. */
export type MatchOperator = '=' | '!=' | '=~' | '!~';

/** One parsed matcher. `value` is the unquoted text (placeholders not yet rendered). */
export interface Matcher {
  name: string;
  op: MatchOperator;
  value: string;
}

/** Why a selector did not parse: the message and the 0-based offset in the text it points at. */
export interface MatcherProblem {
  message: string;
  expected: string;
  offset: number;
}

/** The result of {@link parseMatchers}: the matchers, or the first problem. */
export type ParsedMatchers = { ok: true; matchers: Matcher[] } | { ok: false; problem: MatcherProblem };

const NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const EXPECTED = 'matchers like severity="critical", service=~"edge|core" (operators =, !=, =~, !~)';

/** True for the placeholders whose value depends on the target (`{{target.*}}`). */
export function isTargetPlaceholder(name: string): boolean {
  return name.startsWith('target.');
}

/**
 * Splits `text` on commas outside double quotes and `{{…}}` placeholders.
 * @returns each part with its offset in `text`
 */
function splitMatchers(text: string, base: number): { part: string; offset: number }[] | MatcherProblem {
  const parts: { part: string; offset: number }[] = [];
  let start = 0;
  let quoted = false;
  let braces = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (text.startsWith('{{', i)) {
      braces++;
      i++;
    } else if (text.startsWith('}}', i) && braces > 0) {
      braces--;
      i++;
    } else if (ch === ',' && braces === 0) {
      parts.push({ part: text.slice(start, i), offset: base + start });
      start = i + 1;
    }
  }
  if (quoted) return { message: 'has a value whose closing double quote is missing', expected: EXPECTED, offset: base };
  parts.push({ part: text.slice(start), offset: base + start });
  return parts;
}

/** Reads a double-quoted value (`"a\"b"` → `a"b`). @returns the value, or undefined when it is not one whole quoted string */
function unquote(raw: string): string | undefined {
  if (raw.length < 2 || !raw.startsWith('"') || !raw.endsWith('"')) return undefined;
  let out = '';
  for (let i = 1; i < raw.length - 1; i++) {
    const ch = raw[i]!;
    if (ch === '"') return undefined;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = raw[++i];
    if (next === undefined || i === raw.length - 1) return undefined;
    out += next === 'n' ? '\n' : next;
  }
  return out;
}

/**
 * Parses a selector in Alertmanager's matcher syntax.
 *
 * @param text - e.g. `severity="critical", instance="{{target.address}}"` or `{alertname=~"Edge.*"}`
 * @returns the matchers (at least one), or the first problem with its offset in `text`
 */
export function parseMatchers(text: string): ParsedMatchers {
  let body = text;
  let base = 0;
  const trimmed = text.trim();
  if (trimmed.startsWith('{') && !trimmed.startsWith('{{')) {
    if (!trimmed.endsWith('}'))
      return { ok: false, problem: { message: 'opens a { that is not closed', expected: EXPECTED, offset: 0 } };
    base = text.indexOf('{') + 1;
    body = text.slice(base, text.lastIndexOf('}'));
  }
  const parts = splitMatchers(body, base);
  if (!Array.isArray(parts)) return { ok: false, problem: parts };
  const matchers: Matcher[] = [];
  for (const [i, { part, offset }] of parts.entries()) {
    if (part.trim() === '') {
      // A trailing comma is allowed, as Alertmanager allows it.
      if (i === parts.length - 1 && i > 0) continue;
      return { ok: false, problem: { message: 'has an empty matcher', expected: EXPECTED, offset } };
    }
    const m = /^(\s*)([^\s=!~"]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/s.exec(part);
    if (!m) {
      const at = offset + (part.length - part.trimStart().length);
      return {
        ok: false,
        problem: { message: `"${part.trim()}" is not a matcher: it needs an operator`, expected: EXPECTED, offset: at },
      };
    }
    const at = offset + m[1]!.length;
    const name = m[2]!;
    if (!NAME_RE.test(name)) {
      return {
        ok: false,
        problem: {
          message: `"${name}" is not a label name`,
          expected: 'a label name: letters, digits and _, not starting with a digit',
          offset: at,
        },
      };
    }
    const raw = m[4]!;
    if (/^[=~!]/.test(raw)) {
      const written = `${m[3]!}${/^[=~!]+/.exec(raw)![0]}`;
      return {
        ok: false,
        problem: {
          message: `${name} has an operator Alertmanager does not know: ${written}`,
          expected: EXPECTED,
          offset: at,
        },
      };
    }
    let value: string;
    if (raw.startsWith('"')) {
      const v = unquote(raw);
      if (v === undefined)
        return {
          ok: false,
          problem: { message: `the value of ${name} is not one double-quoted string`, expected: EXPECTED, offset: at },
        };
      value = v;
    } else {
      if (/["\s]/.test(raw.replace(/\{\{[^{}]*\}\}/g, '')))
        return {
          ok: false,
          problem: {
            message: `the value of ${name} holds a space or a quote: quote it`,
            expected: EXPECTED,
            offset: at,
          },
        };
      value = raw;
    }
    const op = m[3] as MatchOperator;
    if ((op === '=~' || op === '!~') && !hasPlaceholders(value)) {
      try {
        new RegExp(`^(?:${value})$`);
      } catch (err) {
        return {
          ok: false,
          problem: {
            message: `the regular expression of ${name} does not compile: ${(err as Error).message}`,
            expected: 'a regular expression (RE2 syntax, anchored at both ends)',
            offset: at,
          },
        };
      }
    }
    matchers.push({ name, op, value });
  }
  if (matchers.length === 0)
    return { ok: false, problem: { message: 'holds no matcher', expected: EXPECTED, offset: 0 } };
  return { ok: true, matchers };
}

function hasPlaceholders(value: string): boolean {
  return findPlaceholders(value).length > 0;
}

/** True when any matcher's value depends on the target (`{{target.*}}`). */
export function dependsOnTarget(matchers: readonly Matcher[]): boolean {
  return matchers.some((m) => findPlaceholders(m.value).some((p) => isTargetPlaceholder(p.name)));
}

/** Escapes a string for use as a literal inside a regular expression. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Renders the placeholders of each matcher's value with `render` (one `{{…}}` at a time;
 * inside a regular expression the inserted text is escaped, so it matches literally).
 * @throws whatever `render` throws (a label the template reads missing on the target)
 */
export function renderMatchers(matchers: readonly Matcher[], render: (placeholder: string) => string): Matcher[] {
  return matchers.map((m) => {
    if (!hasPlaceholders(m.value)) return m;
    const regex = m.op === '=~' || m.op === '!~';
    const value = m.value
      .split(/(\{\{[^{}]*\}\})/)
      .map((part) => {
        if (!/^\{\{[^{}]*\}\}$/.test(part)) return part;
        const text = render(part);
        return regex ? escapeRegex(text) : text;
      })
      .join('');
    return { ...m, value };
  });
}

const regexCache = new Map<string, RegExp>();

/**
 * The regular expression a `=~`/`!~` matcher tests, anchored at both ends and with `.` matching
 * a newline too, as Prometheus and Alertmanager compile it (`^(?s:…)$`); compiled once per
 * pattern (a bounded cache).
 *
 * @throws SyntaxError when `pattern` is not a valid regular expression.
 */
export function anchored(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${pattern})$`, 's');
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

/** True when a label set matches one (rendered) matcher; a missing label is the empty string. */
export function matchesOne(m: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const value = Object.hasOwn(labels, m.name) ? labels[m.name]! : '';
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return anchored(m.value).test(value);
    case '!~':
      return !anchored(m.value).test(value);
  }
}

/** True when a label set matches every (rendered) matcher. */
export function matchesAll(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => matchesOne(m, labels));
}

/** Quotes a value the way Alertmanager's parser reads it back. */
function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** One matcher as text: `name="value"` (the form of a `filter=` parameter). */
export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}${quote(m.value)}`;
}

/** Matchers as text: `{a="1", b=~"x|y"}`. */
export function formatMatchers(matchers: readonly Matcher[]): string {
  return `{${matchers.map(formatMatcher).join(', ')}}`;
}

/** A matcher of the v2 silences API. */
export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  /** False for `!=` and `!~` (Alertmanager 0.22 and later). */
  isEqual: boolean;
}

/** A (rendered) matcher in the form `POST /api/v2/silences` takes. */
export function toSilenceMatcher(m: Matcher): SilenceMatcher {
  return {
    name: m.name,
    value: m.value,
    isRegex: m.op === '=~' || m.op === '!~',
    isEqual: m.op === '=' || m.op === '=~',
  };
}

/** Matchers with duplicates (same name, operator and value) left out, first kept. */
export function uniqueMatchers(matchers: readonly Matcher[]): Matcher[] {
  const seen = new Set<string>();
  return matchers.filter((m) => {
    const key = formatMatcher(m);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
