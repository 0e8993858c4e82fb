/**
 * Reads the Prometheus text exposition format (what a target's `/metrics`
 * serves) into flat series: one `{name, labels, value}` per sample line.
 *
 * Line parsing (label escaping, `+Inf`/`NaN`, timestamps) is done by the
 * `parse-prometheus-text-format` package. Its grouping of histogram and summary
 * families keeps only one unlabelled series (a labelled histogram such as
 * `http_request_duration_seconds_bucket{id="a",le="0.1"}` loses its labels and
 * its `_sum`/`_count`), so `# TYPE` lines are removed before parsing: every
 * sample then comes back under its own name (`…_bucket`, `…_sum`, `…_count`)
 * with all its labels, and the declared types are read from the removed lines.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** One sample line of an exposition. */
export interface ExpositionSeries {
  /** Sample name as written, with any `_bucket`/`_sum`/`_count` suffix. */
  name: string;
  labels: Record<string, string>;
  /** The value (`+Inf`, `-Inf` and `NaN` become the JavaScript values). */
  value: number;
}

/** A parsed exposition. */
export interface Exposition {
  series: ExpositionSeries[];
  /** Declared family types by family name (lower case: `counter`, `gauge`, `histogram`, …). */
  types: Map<string, string>;
}

/**
 * Parses a sample value as Prometheus writes it: a decimal or exponent float,
 * `+Inf`/`-Inf`/`Inf` and `NaN` (any case). JavaScript's `Number()` reads
 * `"NaN"` but not `"+Inf"`, so the words are handled here.
 *
 * @returns the number, or `undefined` when the text is not a float.
 */
export function parsePromFloat(text: string): number | undefined {
  const t = text.trim();
  if (/^[+-]?inf(?:inity)?$/i.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return Number.NaN;
  if (!/^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/.test(t) && !/^0[xX][0-9a-fA-F]+$/.test(t)) return undefined;
  return Number(t);
}

const TYPE_LINE = /^#\s*TYPE\s+(\S+)\s+(\S+)\s*$/;

/**
 * Parses a `/metrics` body.
 *
 * @throws Error naming the offending line when the text is not in the exposition format.
 */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const kept: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const typeMatch = TYPE_LINE.exec(line);
    if (typeMatch) {
      types.set(typeMatch[1] as string, (typeMatch[2] as string).toLowerCase());
      continue;
    }
    // HELP lines carry nothing we use, and a HELP for `h` followed by `h_bucket` samples is harmless but noisy.
    if (line.startsWith('#')) continue;
    kept.push(line);
  }
  // The parser only flushes the last family on a trailing empty line.
  kept.push('');
  let families;
  try {
    families = parsePrometheusTextFormat(kept.join('\n'));
  } catch (err) {
    throw new Error(`not in the Prometheus text format: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const series: ExpositionSeries[] = [];
  for (const family of families) {
    for (const sample of family.metrics) {
      if (sample.value === undefined) continue;
      const value = parsePromFloat(sample.value);
      if (value === undefined)
        throw new Error(
          `not in the Prometheus text format: ${family.name} has the value ${JSON.stringify(sample.value)}`,
        );
      series.push({ name: family.name, labels: { ...(sample.labels ?? {}) }, value });
    }
  }
  return { series, types };
}
