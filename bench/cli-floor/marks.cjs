// Runs a client (`agora <bin/agora.js> run …` or `script <file> …`, both as node's main script) and writes, at its exit,
// to the file named by AGORA_MARKS: the CPU (user + system, all threads, ms) and the wall
// clock (epoch ms) when this file's first line ran (node's own start done), and when the
// client first wrote a SUBSCRIBE and an ACCEPT to a socket (bench/cli-floor.ts); and the
// main thread's own time on a CPU and waiting for one (ms, /proc/thread-self/schedstat, in
// nanoseconds: the critical path's own work, which other processes' load stretches far less
// than the wall clock).
// execArgv is emptied so that bin/code-cache.js uses the code cache as under a plain node.
'use strict';
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const { readFileSync, writeFileSync } = require('node:fs');
const mainThread = () => {
  const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ');
  return [Number(run) / 1e6, Number(wait) / 1e6];
};
const mark = () => [cpuMs(), performance.timeOrigin + performance.now(), ...mainThread()];
const marks = { boot: mark() };
const { Socket } = require('node:net');
const write = Socket.prototype.write;
Socket.prototype.write = function (data, ...rest) {
  if (typeof data === 'string') {
    if (marks.subscribe === undefined && data.includes('"type":"SUBSCRIBE"'))
      marks.subscribe = mark();
    if (marks.accept === undefined && data.includes('"type":"ACCEPT"')) marks.accept = mark();
  }
  return write.call(this, data, ...rest);
};
process.on('exit', () => {
  marks.exit = mark();
  if (process.env.AGORA_MARKS) writeFileSync(process.env.AGORA_MARKS, JSON.stringify(marks));
});
process.execArgv.length = 0;
const [kind, file] = process.argv.splice(2, 2);
// `agora <bin/agora.js> run …` runs as `node bin/agora.js run …` would; `script <file> …` the file.
void kind;
process.argv.splice(1, 1, file);
require(file);
