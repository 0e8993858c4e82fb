import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  findPlaceholders,
  findUnknownPlaceholders,
  labelPlaceholders,
  templatePattern,
  type TemplateContext,
} from '../../src/spec/placeholders.js';

const contexts: TemplateContext[] = ['step', 'hook', 'query'];

describe('placeholders', () => {
  it('finds every {{...}} with its trimmed name', () => {
    expect(findPlaceholders('ssh {{ target.host }} nginx={{version}}')).toEqual([
      { name: 'target.host', index: 4 },
      { name: 'version', index: 28 },
    ]);
  });

  it('knows the step placeholders, including any label key', () => {
    const text =
      '{{target.id}} {{target.address}} {{target.host}} {{target.labels.zone}} {{target.labels.app.kubernetes.io_name}} {{version}} {{rollout.name}} {{component}}';
    expect(findUnknownPlaceholders(text, 'step')).toEqual([]);
    expect(
      findUnknownPlaceholders('{{target.name}} {{targets.regex}} {{target.labels.}}', 'step').map((p) => p.name),
    ).toEqual(['target.name', 'targets.regex', 'target.labels.']);
  });

  it('gives hooks no target and queries only their own', () => {
    expect(findUnknownPlaceholders('{{target.id}} {{version}}', 'hook').map((p) => p.name)).toEqual(['target.id']);
    expect(findUnknownPlaceholders('{{targets.regex}} {{window}} {{version}}', 'query').map((p) => p.name)).toEqual([
      'version',
    ]);
  });

  it('lists the label keys a string reads', () => {
    expect(labelPlaceholders('--zone={{target.labels.zone}} {{target.labels.rack}} {{target.labels.zone}}')).toEqual([
      'zone',
      'rack',
      'zone',
    ]);
  });

  it('the JSON Schema pattern accepts a string exactly when no placeholder is unknown', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        '{{',
        '}}',
        '{',
        '}',
        ' ',
        'a',
        '.',
        '{{version}}',
        '{{ target.id }}',
        '{{target.labels.zone}}',
        '{{targets.regex}}',
        '{{window}}',
        '{{nope}}',
        '{{target.}}',
        '{{}}',
      ),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), fc.constantFrom(...contexts), (pieces, context) => {
        const text = pieces.join('');
        const byPattern = new RegExp(templatePattern(context)).test(text);
        const byScan = findUnknownPlaceholders(text, context).length === 0;
        expect(byPattern).toBe(byScan);
      }),
      { numRuns: 2000 },
    );
  });
});
