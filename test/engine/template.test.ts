import { describe, expect, it } from 'vitest';
import { hostOf, renderTemplate } from '../../src/engine/template.js';

const vars = {
  target: { id: 'edge-1', address: '127.0.0.1:8080', labels: { zone: 'a b', evil: '$(rm -rf /); ../../x' } },
  version: '1.2.0+build.5',
  rollout: { name: 'edge' },
  component: 'nginx',
};

describe('templates', () => {
  it('fills target, version and rollout fields', () => {
    expect(
      renderTemplate(
        '{{target.id}}@{{target.address}} {{version}} {{rollout.name}} {{component}} {{target.labels.zone}}',
        vars,
      ),
    ).toBe('edge-1@127.0.0.1:8080 1.2.0+build.5 edge nginx a b');
    expect(renderTemplate('{{ target.host }}', vars)).toBe('127.0.0.1');
  });

  it('percent-encodes values in URLs except the address, so data stays data', () => {
    expect(
      renderTemplate('http://{{target.address}}/upgrade?version={{version}}&z={{target.labels.evil}}', vars, 'url'),
    ).toBe('http://127.0.0.1:8080/upgrade?version=1.2.0%2Bbuild.5&z=%24(rm%20-rf%20%2F)%3B%20..%2F..%2Fx');
  });

  it('refuses an unknown placeholder or a missing label', () => {
    expect(() => renderTemplate('{{nope}}', vars)).toThrow(/\{\{nope\}\}/);
    expect(() => renderTemplate('{{target.labels.missing}}', vars)).toThrow(/missing/);
  });

  it('splits host and port', () => {
    expect(hostOf('10.0.0.1:22')).toBe('10.0.0.1');
    expect(hostOf('[::1]:80')).toBe('::1');
    expect(hostOf('box.example')).toBe('box.example');
  });
});
