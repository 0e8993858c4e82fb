/**
 * The subset of GitHub Actions expressions the composite actions use, evaluated
 * the way the runner does: `${{ … }}` interpolation with contexts (`inputs`,
 * `steps`, `github`, `runner`, `env`), string/number/boolean literals, `==`,
 * `!=`, `&&`, `||`, `!`, parentheses and the status functions. Anything else is
 * an error, so an action cannot use syntax these tests do not understand.
 */

export type Value = string | number | boolean | null | undefined | Record<string, unknown>;

export interface ExpressionContext {
  contexts: Record<string, unknown>;
  /** `success` until a step failed. */
  status: 'success' | 'failure';
}

type Token = { kind: 'str' | 'num' | 'id' | 'op'; text: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      let text = '';
      while (j < src.length) {
        if (src[j] === "'" && src[j + 1] === "'") {
          text += "'";
          j += 2;
        } else if (src[j] === "'") break;
        else text += src[j++];
      }
      if (j >= src.length) throw new Error(`unterminated string in ${src}`);
      out.push({ kind: 'str', text });
      i = j + 1;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (['==', '!=', '&&', '||'].includes(two)) {
      out.push({ kind: 'op', text: two });
      i += 2;
      continue;
    }
    if ('!().'.includes(c)) {
      out.push({ kind: 'op', text: c });
      i++;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ kind: 'num', text: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i));
    if (id) {
      out.push({ kind: 'id', text: id[0] });
      i += id[0].length;
      continue;
    }
    throw new Error(`unsupported character ${c} in expression ${src}`);
  }
  return out;
}

function truthy(v: Value): boolean {
  return !(v === undefined || v === null || v === false || v === '' || v === 0);
}

function equal(a: Value, b: Value): boolean {
  const norm = (v: Value) => (v === undefined ? null : v);
  const x = norm(a);
  const y = norm(b);
  if (typeof x === 'string' && typeof y === 'string') return x.toLowerCase() === y.toLowerCase();
  if (typeof x === typeof y) return x === y;
  // Loose comparison as the runner does: coerce to numbers.
  const n = (v: Value) => (v === null ? 0 : typeof v === 'boolean' ? Number(v) : Number(v));
  return n(x) === n(y);
}

/** Evaluates one expression (without `${{ }}`). */
export function evaluate(src: string, ctx: ExpressionContext): Value {
  const t = tokenize(src);
  let p = 0;
  const peek = () => t[p];
  const take = (text?: string) => {
    const tok = t[p++];
    if (!tok || (text !== undefined && tok.text !== text)) throw new Error(`expected ${text ?? 'a token'} in ${src}`);
    return tok;
  };
  const primary = (): Value => {
    const tok = take();
    if (tok.kind === 'str') return tok.text;
    if (tok.kind === 'num') return Number(tok.text);
    if (tok.kind === 'op' && tok.text === '(') {
      const v = or();
      take(')');
      return v;
    }
    if (tok.kind === 'op' && tok.text === '!') return !truthy(primary());
    if (tok.kind === 'id') {
      if (tok.text === 'true') return true;
      if (tok.text === 'false') return false;
      if (tok.text === 'null') return null;
      if (peek()?.text === '(') {
        take('(');
        take(')');
        if (tok.text === 'always') return true;
        if (tok.text === 'success') return ctx.status === 'success';
        if (tok.text === 'failure') return ctx.status === 'failure';
        if (tok.text === 'cancelled') return false;
        throw new Error(`unsupported function ${tok.text}() in ${src}`);
      }
      if (!(tok.text in ctx.contexts)) throw new Error(`unknown context ${tok.text} in ${src}`);
      let v: unknown = ctx.contexts[tok.text];
      while (peek()?.text === '.') {
        take('.');
        const key = take().text;
        v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
      }
      return v as Value;
    }
    throw new Error(`unexpected ${tok.text} in ${src}`);
  };
  const cmp = (): Value => {
    let left = primary();
    while (peek()?.text === '==' || peek()?.text === '!=') {
      const op = take().text;
      const right = primary();
      left = op === '==' ? equal(left, right) : !equal(left, right);
    }
    return left;
  };
  const and = (): Value => {
    let left = cmp();
    while (peek()?.text === '&&') {
      take();
      const right = cmp();
      left = truthy(left) ? right : left;
    }
    return left;
  };
  const or = (): Value => {
    let left = and();
    while (peek()?.text === '||') {
      take();
      const right = and();
      left = truthy(left) ? left : right;
    }
    return left;
  };
  const v = or();
  if (p !== t.length) throw new Error(`trailing tokens in ${src}`);
  return v;
}

function asString(v: Value): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Replaces every `${{ expr }}` in `text`. */
export function interpolate(text: string, ctx: ExpressionContext): string {
  return text.replace(/\$\{\{(.*?)\}\}/gs, (_m, expr: string) => asString(evaluate(expr.trim(), ctx)));
}

/** An `if:` condition: a bare expression or `${{ }}`, with the runner's implicit `success() &&`. */
export function condition(src: string | undefined, ctx: ExpressionContext): boolean {
  if (src === undefined) return ctx.status === 'success';
  const expr = src
    .trim()
    .replace(/^\$\{\{(.*)\}\}$/s, '$1')
    .trim();
  const usesStatus = /\b(always|success|failure|cancelled)\(\)/.test(expr);
  const v = truthy(evaluate(expr, ctx));
  return usesStatus ? v : ctx.status === 'success' && v;
}
