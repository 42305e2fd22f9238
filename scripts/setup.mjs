#!/usr/bin/env node
// Makes a fresh clone runnable: installs dependencies when the lock file changed
// since the last install, then bundles the sources into dist/. It runs before
// `npm start` and `npm test` (the pre-scripts), so those two commands need
// nothing else on a machine with only Node.js.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`setup: ${command} ${args.join(' ')} failed (status ${result.status})`);
    process.exit(result.status ?? 1);
  }
}

// npm writes node_modules/.package-lock.json on every install; when it matches the
// committed lock file the tree is current and a reinstall would only cost time.
function installIsCurrent() {
  const installed = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(installed)) return false;
  const wanted = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages ?? {};
  const have = JSON.parse(readFileSync(installed, 'utf8')).packages ?? {};
  return Object.entries(wanted).every(
    ([path, entry]) => path === '' || entry.optional || have[path]?.version === entry.version,
  );
}

// The test suite starts real ZooKeeper, etcd, chromium and dockerd. On a fresh machine they are
// installed here, before any test runs, rather than inside a test's deadline (the tests
// still install them themselves when run alone).
const TEST_PACKAGES = [
  ['/usr/share/java/zookeeper.jar', 'zookeeper'],
  ['/usr/bin/etcd', 'etcd-server'],
  ['/usr/bin/chromium', 'chromium'],
  // The Docker containerizer's tests start their own dockerd and import a busybox image.
  ['/usr/sbin/dockerd', 'docker.io'],
  ['/usr/bin/busybox', 'busybox-static'],
  // test/edge builds a network of namespaces: veths with `ip`, NAT and partitions with `nft`.
  ['/usr/sbin/ip', 'iproute2'],
  ['/usr/sbin/nft', 'nftables'],
];
function installTestPackages() {
  const missing = TEST_PACKAGES.filter(([path]) => !existsSync(path)).map(([, name]) => name);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`setup: ${missing.join(', ')} missing and not root; their tests will try`);
    return;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...missing]]) {
    const result = spawnSync('apt-get', args, { cwd: root, stdio: 'inherit', env });
    if (result.status !== 0)
      console.error(`setup: apt-get ${args.join(' ')} failed (status ${result.status})`);
  }
}

if (!installIsCurrent()) run('npm', ['ci', '--no-audit', '--no-fund']);
if (process.argv.includes('--test')) installTestPackages();
run(process.execPath, [join(root, 'scripts', 'build.mjs')]);
