/**
 * GitHub's published REST description (npm `@octokit/openapi`, api.github.com)
 * as a request and response checker for the fake API server: the route must
 * exist for the method, path parameters must match their types, query
 * parameters must be documented (required ones present), the JSON body must
 * validate against the operation's schema (and carry no undocumented top-level
 * field), and the fake's own answers must validate against the documented
 * response schema for their status.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Record<string, unknown>;
  $ref?: string;
}

interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Record<string, unknown> }>; $ref?: string };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: Record<string, unknown> }> }>;
}

interface OpenApiDocument {
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  components: {
    parameters: Record<string, Parameter>;
    responses: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
    schemas: Record<string, unknown>;
  };
}

/** A matched operation with its path parameters (decoded). */
export interface MatchedOperation {
  template: string;
  method: string;
  operationId: string;
  params: Record<string, string>;
}

const require = createRequire(import.meta.url);

let loaded: OpenApiDocument | undefined;

/** The api.github.com description (13 MB; loaded once per worker, ~0.2 s). */
export function githubOpenApi(): OpenApiDocument {
  loaded ??= JSON.parse(
    readFileSync(require.resolve('@octokit/openapi/generated/api.github.com.json'), 'utf8'),
  ) as OpenApiDocument;
  return loaded;
}

function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    // OpenAPI 3.0 `nullable` without a `type` (next to `allOf`, `$ref`…) is not JSON Schema: spell it out.
    if (obj.nullable === true && obj.type === undefined) {
      const { nullable: _n, ...rest } = obj;
      return { anyOf: [{ type: 'null' }, rewriteRefs(rest)] };
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // GitHub's description uses `oneOf` between overlapping schemas (e.g. `basic-error` has no
      // required field, so a 409 body matches both of its alternatives): check them as `anyOf`.
      const key = k === 'oneOf' ? 'anyOf' : k;
      out[key] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `gh${v}` : rewriteRefs(v);
    }
    return out;
  }
  return value;
}

interface Route {
  template: string;
  method: string;
  segments: string[];
  operation: Operation;
}

/** Checks requests and responses against the description. */
export class OpenApiChecker {
  private readonly doc = githubOpenApi();
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  private readonly routes: Route[] = [];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor() {
    this.ajv.addSchema({ $id: 'gh', components: rewriteRefs(this.doc.components) }, undefined, undefined, false);
    for (const [template, methods] of Object.entries(this.doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        if (!operation || typeof operation !== 'object' || !('responses' in operation)) continue;
        this.routes.push({ template, method: method.toUpperCase(), segments: template.split('/').slice(1), operation });
      }
    }
    // Literal segments before parameters: `/issues/comments/{id}` wins over `/issues/{issue_number}/comments`.
    this.routes.sort((a, b) => score(b) - score(a));
  }

  /** Version of the description in use. */
  get version(): string {
    return this.doc.info.version;
  }

  private parameters(op: Operation): Parameter[] {
    return (op.parameters ?? []).map((p) =>
      p.$ref ? this.doc.components.parameters[p.$ref.replace('#/components/parameters/', '')]! : p,
    );
  }

  private validator(key: string, schema: unknown): ValidateFunction {
    const cached = this.compiled.get(key);
    if (cached) return cached;
    const v = this.ajv.compile(rewriteRefs(schema) as object);
    this.compiled.set(key, v);
    return v;
  }

  /** Finds the documented operation for a method and a raw (still percent-encoded) path. */
  match(method: string, rawPath: string): MatchedOperation | undefined {
    const parts = rawPath.split('/').slice(1);
    for (const r of this.routes) {
      if (r.method !== method || r.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = r.segments[i]!;
        const m = /^\{(.+)\}$/.exec(seg);
        if (m) params[m[1]!] = decodeURIComponent(parts[i]!);
        else ok = seg === parts[i];
      }
      if (ok) return { template: r.template, method, operationId: r.operation.operationId, params };
    }
    return undefined;
  }

  private operation(m: MatchedOperation): Operation {
    return this.doc.paths[m.template]![m.method.toLowerCase()]!;
  }

  /**
   * Problems with a request (empty when it is as documented).
   * @param body - parsed JSON body, or `undefined` when there was none
   */
  checkRequest(m: MatchedOperation, query: URLSearchParams, body: unknown): string[] {
    const op = this.operation(m);
    const problems: string[] = [];
    const params = this.parameters(op);
    for (const p of params.filter((x) => x.in === 'path')) {
      const value = m.params[p.name];
      if (value === undefined || value === '') problems.push(`path parameter ${p.name} missing`);
      else if (p.schema?.type === 'integer' && !/^\d+$/.test(value))
        problems.push(`path parameter ${p.name} must be an integer (got ${value})`);
    }
    const known = new Map(params.filter((x) => x.in === 'query').map((x) => [x.name, x]));
    for (const [name, value] of query) {
      const p = known.get(name);
      if (!p) {
        problems.push(`query parameter ${name} is not documented for ${op.operationId}`);
        continue;
      }
      if (p.schema?.type === 'integer' && !/^\d+$/.test(value)) problems.push(`query ${name} must be an integer`);
      if (p.schema?.type === 'boolean' && !/^(true|false)$/.test(value))
        problems.push(`query ${name} must be a boolean`);
      const allowed = p.schema?.enum as string[] | undefined;
      if (allowed && !allowed.includes(value)) problems.push(`query ${name} must be one of ${allowed.join(', ')}`);
    }
    for (const p of known.values()) if (p.required && !query.has(p.name)) problems.push(`query ${p.name} is required`);
    const rb = op.requestBody;
    const schema = rb?.content?.['application/json']?.schema;
    if (rb?.required && body === undefined) problems.push(`${op.operationId} requires a JSON body`);
    if (body !== undefined) {
      if (!schema) problems.push(`${op.operationId} takes no JSON body`);
      else {
        const v = this.validator(`req:${op.operationId}`, schema);
        if (!v(body)) {
          for (const e of v.errors ?? []) problems.push(`body${e.instancePath} ${e.message ?? ''}`);
        }
        const props = (schema as { properties?: Record<string, unknown> }).properties;
        if (props && body && typeof body === 'object' && !Array.isArray(body)) {
          for (const k of Object.keys(body)) if (!(k in props)) problems.push(`body field ${k} is not documented`);
        }
      }
    }
    return problems;
  }

  /** Problems with the fake's answer: undocumented status, or a body not matching the documented schema. */
  checkResponse(m: MatchedOperation, status: number, body: unknown): string[] {
    const op = this.operation(m);
    let response = op.responses[String(status)];
    if (!response) {
      // GitHub answers client errors (bad credentials, forbidden, missing resource, invalid field)
      // on any endpoint, documented or not, always with the basic error shape.
      if (![400, 401, 403, 404, 422].includes(status)) return [`${op.operationId} does not document status ${status}`];
      if (body === undefined) return [];
      const v = this.validator('res:basic-error', { $ref: 'gh#/components/schemas/basic-error' });
      return v(body) ? [] : [`response ${status} is not a basic error`];
    }
    if (response.$ref) response = this.doc.components.responses[response.$ref.replace('#/components/responses/', '')]!;
    const content = response.content ?? {};
    const entry = content['application/json'] ?? Object.values(content)[0];
    if (!entry?.schema) return body === undefined || body === '' ? [] : [`${op.operationId} ${status} has no body`];
    const v = this.validator(`res:${op.operationId}:${status}`, entry.schema);
    if (v(body)) return [];
    return (v.errors ?? []).slice(0, 10).map((e) => `response ${status}${e.instancePath} ${e.message ?? ''}`);
  }
}

function score(r: Route): number {
  return r.segments.reduce((n, s, i) => n + (s.startsWith('{') ? 0 : 1 << Math.max(0, 20 - i)), 0);
}
