/**
 * Types of the `parse-prometheus-text-format` package (it ships none). Only the
 * shapes Fleetgate reads are declared; see `exposition.ts` for how it is used.
 */
declare module 'parse-prometheus-text-format' {
  /** One sample of an untyped, counter or gauge family; values are the text as written (`"1027"`, `"+Inf"`, `"NaN"`). */
  export interface ParsedSample {
    value?: string;
    labels?: Record<string, string>;
    timestamp_ms?: string;
    buckets?: Record<string, string>;
    quantiles?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  /** One metric family. `type` is upper case (`COUNTER`, `GAUGE`, `HISTOGRAM`, `SUMMARY`, `UNTYPED`). */
  export interface ParsedFamily {
    name: string;
    help: string;
    type: string;
    metrics: ParsedSample[];
  }
  /** Parses the text exposition format. @throws Error (`InvalidLineError`) on a malformed line. */
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}
