/**
 * `fleetgate report` through real rollouts, opened in a real browser: the bundled CLI
 * on real agent processes with synthetic traffic and the `scrape` provider (as the demo
 * runs, absolute thresholds as in rollouts/demo.yaml), for a healthy rollout, a circuit-breaker trip rolled back by a decision, and a
 * metric-driven automatic rollback. Each report is opened in headless Chromium (Debian
 * `chromium`, driven by playwright-core) with every non-file request refused: every
 * wave and every metric chart is there with its table, and nothing is logged to the
 * console. Screenshots go to test-results/report/.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { RolloutRepo, type SpecOptions } from '../helpers/rollout-repo.js';
import type { RolloutState } from '../../src/state/types.js';
import { locateChromium, renderMermaid, type MermaidRendering } from './chromium.js';
import { renderMermaidTimeline } from '../../src/report/mermaid-timeline.js';
import {
  locatePrometheus,
  startPrometheus,
  waitForSamples,
  type TestPrometheus,
} from '../analysis/helpers/prometheus.js';

const OUT = resolve(import.meta.dirname, '../../test-results/report');
const executablePath = locateChromium();
const prometheusBinary = executablePath === undefined ? undefined : locatePrometheus();

const ANALYSIS = `analysis:
  provider: { scrape: {} }
  noData: pause
  metrics:
    - name: error-rate
      query: ratio(http_requests_total{code=~"5.."}, http_requests_total)
      threshold: '< 0.05'
      severity: critical
    - name: error-share-loose
      query: ratio(http_requests_total{code=~"5.."}, http_requests_total)
      threshold: '< 0.5'
      severity: warning
`;

/** 10 agents at 300 requests/s (1% 5xx): a canary of 4, then one wave of 6; 4 s windows. */
function spec(version: string): SpecOptions {
  return { version, canary: 4, waves: 6, maxUnavailable: 4, observe: '4s', extra: ANALYSIS };
}

interface Opened {
  waves: string[];
  charts: { wave: string; metric: string; svg: number; tables: number; rows: number }[];
  timeline: number;
  targets: number;
  problems: string[];
  /** The job summary's mermaid timeline of the same state, rendered by the real mermaid library. */
  summary: { text: string; rendered: MermaidRendering };
}

describe.skipIf(executablePath === undefined)('fleetgate report in a browser', () => {
  let repo: RolloutRepo;
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    repo = await RolloutRepo.create({
      count: 10,
      version: '1.0.0',
      spec: spec('1.1.0'),
      fleet: { trafficRps: 300, seed: 7 },
    });
    browser = await chromium.launch({ executablePath });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await repo?.close();
  });

  async function reportOf(name: string): Promise<{ state: RolloutState; opened: Opened }> {
    const file = resolve(OUT, `${name}.html`);
    const r = await repo.cli('report', repo.specPath, '--out', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(file);
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    // Self-contained: anything but the file itself is refused and reported.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file://')) return route.continue();
      problems.push(`request: ${url}`);
      return route.abort();
    });
    await page.goto(`file://${file}`);
    await page.screenshot({ path: resolve(OUT, `${name}.png`), fullPage: true });
    await page.locator('#timeline').screenshot({ path: resolve(OUT, `${name}-timeline.png`) });
    const first = page.locator('figure.metric-chart').first();
    if ((await first.count()) > 0) await first.screenshot({ path: resolve(OUT, `${name}-metric.png`) });
    const charts: Opened['charts'] = [];
    for (const f of await page.locator('figure.metric-chart').all())
      charts.push({
        wave: (await f.getAttribute('data-wave')) ?? '',
        metric: (await f.getAttribute('data-metric')) ?? '',
        svg: await f.locator('svg[role="img"]').count(),
        tables: await f.locator('table').count(),
        rows: await f.locator('table').first().locator('tbody tr').count(),
      });
    const waves: string[] = [];
    for (const w of await page.locator('section.wave').all()) waves.push((await w.getAttribute('data-wave')) ?? '');
    const timeline = await page.locator('figure.timeline-chart svg').count();
    const targets = await page.locator('figure.targets-chart svg').count();
    await page.close();
    const state = repo.state();
    const text = renderMermaidTimeline(state)!;
    const summary = { text, rendered: await renderMermaid(browser, text, resolve(OUT, `${name}-summary-mermaid.png`)) };
    return { state, opened: { waves, charts, timeline, targets, problems, summary } };
  }

  /** Every wave of the state is a section; every metric of every analysed window a chart with its tables. */
  function expectComplete(state: RolloutState, opened: Opened): void {
    expect(opened.problems).toEqual([]);
    expect(opened.waves).toEqual(state.waves.map((w) => w.id));
    const metrics = state.waves.flatMap((w) => [
      ...new Set((w.analysis?.measurements ?? []).map((m) => `${w.id} ${m.metric}`)),
    ]);
    expect(opened.charts.map((c) => `${c.wave} ${c.metric}`)).toEqual(metrics);
    for (const c of opened.charts) {
      expect(c.svg, `${c.wave} ${c.metric}`).toBeGreaterThanOrEqual(1);
      expect(c.tables, `${c.wave} ${c.metric}`).toBe(2);
    }
    expect(opened.timeline).toBe(1);
    expect(opened.targets).toBe(1);
    // The job summary's timeline is valid mermaid: every section and task drawn, nothing logged.
    const { text, rendered } = opened.summary;
    expect(rendered.error, text).toBeUndefined();
    expect(rendered.problems).toEqual([]);
    const sections = text
      .split('\n')
      .filter((l) => l.startsWith('  section '))
      .map((l) => l.slice('  section '.length));
    expect(rendered.sections).toEqual(sections);
    const lines = text.split('\n');
    const tasks = lines.filter((l) => / :(?!milestone)/.test(l)).length;
    expect(tasks).toBeGreaterThan(0);
    expect(rendered.tasks, text).toBe(tasks);
    expect(rendered.milestones, text).toBe(lines.filter((l) => / :milestone/.test(l)).length);
  }

  it('a healthy rollout: every wave and every metric chart', async () => {
    const run = await repo.cli('run', repo.specPath);
    expect(run.code, run.stderr).toBe(0);
    const { state, opened } = await reportOf('healthy');
    expect(state.phase).toBe('Healthy');
    expectComplete(state, opened);
    expect(opened.charts.length).toBe(4);
  }, 120_000);

  it('a circuit-breaker trip, then a rollback decision', async () => {
    repo.propose({ ...spec('1.2.0-broken'), verifyTimeout: '1s' });
    expect((await repo.cli('run', repo.specPath)).code).toBe(3);
    const paused = await reportOf('breaker-paused');
    expect(paused.state.breaker.trips).toHaveLength(1);
    expectComplete(paused.state, paused.opened);
    const back = await repo.cli('resume', repo.specPath, '--decision', 'rollback', '--reason', 'drill');
    expect(back.code, back.stderr).toBe(4);
    const { state, opened } = await reportOf('breaker-rolled-back');
    expect(state.phase).toBe('RolledBack');
    expectComplete(state, opened);
  }, 120_000);

  // A relative metric on a real Prometheus: the sequential test's evidence (rate ratio, its
  // interval, limit and detect) and the allowed-increase band are charted.
  it.skipIf(prometheusBinary === undefined)(
    'a metric-driven rollback on a real Prometheus, judged against the stable baseline',
    async () => {
      const own = await RolloutRepo.create({
        count: 6,
        version: '1.0.0',
        spec: { version: '1.0.0' },
        fleet: { trafficRps: 300 },
      });
      const addresses = own.fleet.targets.map((t) => t.address);
      let prom: TestPrometheus | undefined;
      const outer = repo;
      try {
        prom = await startPrometheus(prometheusBinary!, addresses);
        await waitForSamples(prom, addresses, 2);
        const regex = '{{targets.regex}}';
        const extra = `analysis:
  provider: { prometheus: { address: "${prom.url}" } }
  metrics:
    - name: error-rate
      query: sum(rate(http_requests_total{code=~"5..",instance=~"${regex}"}[{{window}}])) / sum(rate(http_requests_total{instance=~"${regex}"}[{{window}}]))
      baseline: { cohort: stable }
      maxIncrease: 50%
      severity: critical
`;
        own.propose({ version: '1.1.0-errors10', canary: 2, waves: 4, maxUnavailable: 2, observe: '8s', extra });
        repo = own;
        const run = await repo.cli('run', repo.specPath);
        expect(run.code, run.stderr).toBe(4);
        const { state, opened } = await reportOf('prometheus-rollback');
        expectComplete(state, opened);
        const m = state.waves[0]!.analysis!.measurements[0]!;
        expect(m.verdict).toBe('fail');
        expect(m.evidence?.interval).toBeDefined();
        // Every look up to the deciding one is recorded and charted, one table row each.
        expect(m.series).toHaveLength(m.evidence!.looks!);
        const chart = opened.charts.find((c) => c.wave === state.waves[0]!.id && c.metric === 'error-rate')!;
        expect(chart.rows).toBe(m.series!.length);
      } finally {
        repo = outer;
        await prom?.stop();
        await own.close();
      }
    },
    180_000,
  );

  it('a metric-driven rollback: the failed metric is charted with its verdict', async () => {
    repo.propose(spec('1.3.0-errors10'));
    expect((await repo.cli('run', repo.specPath)).code).toBe(4);
    const { state, opened } = await reportOf('metric-rollback');
    expect(state.phase).toBe('RolledBack');
    expectComplete(state, opened);
    const canary = state.waves[0]!;
    expect(canary.analysis?.verdict).toBe('fail');
    expect(opened.charts.filter((c) => c.wave === canary.id).length).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
