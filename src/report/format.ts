/**
 * Rounding for people in the report (the state keeps exact values): three
 * significant digits, whole counts with thousands separators, UTC clock times.
 */

/** A value with three significant digits (`0.0123`, `1.23e-7` stays readable); `∞` for infinity, `–` when absent. */
export function roundForPeople(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e6 || abs < 1e-4) return value.toExponential(2);
  return String(Number(value.toPrecision(3)));
}

/** A count (events, requests): whole, with thousands separators. */
export function formatCount(value: number | undefined): string {
  if (value === undefined) return '–';
  return Math.round(value).toLocaleString('en-US');
}

/** An epoch-ms time as `HH:MM:SS` UTC (the date goes in the report's header). */
export function clock(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return '–';
  return new Date(ms).toISOString().slice(11, 19);
}

/** An epoch-ms time as `YYYY-MM-DD HH:MM:SS UTC`. */
export function dateTime(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return '–';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A duration for people: `850 ms`, `3.2 s`, `4 min 10 s`, `2 h 5 min`. */
export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${roundForPeople(ms / 1000)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
