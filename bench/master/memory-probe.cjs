// Preloaded into the benchmark's master only (`node --expose-gc --require <this>`), never
// into a real one: on SIGUSR2 it runs full collections and writes what the process's memory
// is made of to AGORA_MEMORY_PROBE_OUT (one JSON object), so the state row can tell what
// the master keeps from garbage not yet collected when RSS was read. CommonJS: `--require`
// loads it before the bundle, with no loader of ours.
'use strict';
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const v8 = require('node:v8');

const out = process.env.AGORA_MEMORY_PROBE_OUT;
let snapshotTaken = false;
if (out !== undefined && out !== '') {
  process.on('SIGUSR2', () => {
    const mb = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;
    const vm = (field) => {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
        readFileSync('/proc/self/status', 'utf8'),
      );
      return match === null ? null : mb(Number(match[1]) * 1024);
    };
    const rssBeforeGcMb = vm('VmRSS');
    const started = process.hrtime.bigint();
    // Twice: the first collection's finalizers (WeakMap entries, weak callbacks) free more.
    if (typeof globalThis.gc === 'function') {
      globalThis.gc();
      globalThis.gc();
    }
    const gcMs = Number(process.hrtime.bigint() - started) / 1e6;
    const usage = process.memoryUsage();
    const heap = v8.getHeapStatistics();
    const spaces = {};
    for (const space of v8.getHeapSpaceStatistics())
      spaces[space.space_name] = {
        sizeMb: mb(space.space_size),
        usedMb: mb(space.space_used_size),
      };
    const report = {
      collected: typeof globalThis.gc === 'function',
      gcMs: Math.round(gcMs),
      rssBeforeGcMb,
      rssMb: mb(usage.rss),
      hwmMb: vm('VmHWM'),
      heapTotalMb: mb(usage.heapTotal),
      heapUsedMb: mb(usage.heapUsed),
      externalMb: mb(usage.external),
      arrayBuffersMb: mb(usage.arrayBuffers),
      mallocedMb: mb(heap.malloced_memory),
      peakMallocedMb: mb(heap.peak_malloced_memory),
      heapSizeLimitMb: mb(heap.heap_size_limit),
      nativeContexts: heap.number_of_native_contexts,
      spaces,
      execArgv: process.execArgv,
    };
    // A heap snapshot as well, once, when asked (large: about twice the heap used).
    const snapshot = process.env.AGORA_MEMORY_PROBE_SNAPSHOT;
    if (snapshot !== undefined && snapshot !== '' && !snapshotTaken) {
      snapshotTaken = true;
      v8.writeHeapSnapshot(snapshot);
    }
    // Written whole, then renamed: the reader never sees half a report.
    writeFileSync(`${out}.tmp`, JSON.stringify(report));
    renameSync(`${out}.tmp`, out);
  });
}
