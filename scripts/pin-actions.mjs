// Pins the reusable workflow's own actions to one release (issue 12, item 2).
//
// In the source, .github/workflows/rollout.yml calls `fleetgate/fleetgate/actions/<action>@v1`:
// a caller pinning `rollout.yml@<sha>` would still run whatever the moving `v1` tag points at.
// The release commits dist/ (commit A), then runs this script to rewrite every such `uses:` to
// `<repository>/actions/<action>@<A>` and commits that (commit B, which the tags point at). The
// actions at A are byte for byte the actions at B; only rollout.yml differs. The repository is
// one setting: `--repository` (default $GITHUB_REPOSITORY), so a fork releasing under its own
// name runs its own actions.
//
//   node scripts/pin-actions.mjs --ref <40-hex sha | vX.Y.Z> [--repository owner/repo] [--check] [files…]
//
// Without files: .github/workflows/rollout.yml. --check rewrites nothing and exits 1 when a
// `uses:` of our own actions is not at --ref in --repository. Prints what it changed.
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { parseArgs } from 'node:util';

const SOURCE_REPOSITORY = 'fleetgate/fleetgate';
const OWN_USES = /^(\s*(?:-\s+)?uses:\s*)([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)\/actions\/([a-z0-9-]+)@(\S+)(.*)$/;
const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
// A commit, or a full version tag; never a moving major (v1) or a branch.
const IMMUTABLE_REF = /^(?:[0-9a-f]{40}|v\d+\.\d+\.\d+)$/;

function fail(message) {
  process.stderr.write(`pin-actions: ${message}\n`);
  process.exit(1);
}

const { values, positionals } = parseArgs({
  options: {
    ref: { type: 'string' },
    repository: { type: 'string', default: process.env.GITHUB_REPOSITORY ?? SOURCE_REPOSITORY },
    check: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const { ref, repository, check } = values;
if (!ref || !IMMUTABLE_REF.test(ref)) fail(`--ref must be a full commit sha or a version tag like v1.2.3 (got ${ref})`);
if (!REPOSITORY.test(repository)) fail(`--repository must be owner/repo (got ${repository})`);

const files = positionals.length > 0 ? positionals : ['.github/workflows/rollout.yml'];
let wrong = 0;
for (const file of files) {
  const lines = readFileSync(file, 'utf8').split('\n');
  let own = 0;
  const out = lines.map((line, i) => {
    const m = OWN_USES.exec(line);
    if (!m) return line;
    const [, lead, repo, action, at, rest] = m;
    if (repo !== SOURCE_REPOSITORY && repo !== repository) return line; // a third party's actions/ folder
    own++;
    const pinned = `${lead}${repository}/actions/${action}@${ref}${rest.replace(/\s*#.*$/, '')}`;
    if (check) {
      if (repo !== repository || at !== ref) {
        wrong++;
        process.stderr.write(`${file}:${i + 1}: ${repo}/actions/${action}@${at} is not ${repository}@${ref}\n`);
      }
      return line;
    }
    process.stdout.write(
      `${file}:${i + 1}: ${repo}/actions/${action}@${at} -> ${repository}/actions/${action}@${ref}\n`,
    );
    return pinned;
  });
  if (own === 0) fail(`${file}: no uses: of ${SOURCE_REPOSITORY}'s actions (wrong file?)`);
  if (!check) writeFileSync(file, out.join('\n'));
}
if (wrong > 0) fail(`${wrong} uses: not pinned to ${repository}@${ref}`);
