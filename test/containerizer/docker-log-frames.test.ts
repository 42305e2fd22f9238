import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LogDemultiplexer,
  LogSkipper,
  type LogStream,
} from '../../src/containerizer/docker-log-frames.js';

function frame(stream: 0 | 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Every byte of `wire` fed in pieces cut at `cuts`; what each stream got. */
function demux(wire: Buffer, cuts: readonly number[]): Record<LogStream, string> {
  const d = new LogDemultiplexer();
  const out: Record<LogStream, string> = { stdout: '', stderr: '' };
  let from = 0;
  for (const to of [...cuts, wire.length]) {
    for (const piece of d.push(wire.subarray(from, to))) out[piece.stream] += piece.data;
    from = to;
  }
  assert.ok(d.isAtBoundary);
  return out;
}

test('log demultiplexer splits stdout and stderr frames, wherever the socket cuts them', () => {
  const wire = Buffer.concat([
    frame(1, 'out one\n'),
    frame(2, 'err one\n'),
    frame(1, ''),
    frame(0, 'stdin goes with stdout\n'),
    frame(2, 'err two\n'),
  ]);
  const expected = { stdout: 'out one\nstdin goes with stdout\n', stderr: 'err one\nerr two\n' };
  assert.deepEqual(demux(wire, []), expected);
  // Every single cut point, headers included, and every byte alone.
  for (let cut = 1; cut < wire.length; cut++) assert.deepEqual(demux(wire, [cut]), expected);
  assert.deepEqual(
    demux(
      wire,
      Array.from({ length: wire.length - 1 }, (_, i) => i + 1),
    ),
    expected,
  );
});

test('log demultiplexer hands consecutive pieces of one stream out as one', () => {
  const d = new LogDemultiplexer();
  const pieces = d.push(
    Buffer.concat([frame(1, 'a'), frame(1, 'b'), frame(2, 'c'), frame(1, 'd')]),
  );
  assert.deepEqual(
    pieces.map((p) => [p.stream, p.data.toString()]),
    [
      ['stdout', 'ab'],
      ['stderr', 'c'],
      ['stdout', 'd'],
    ],
  );
});

test('log demultiplexer refuses what is not Docker framing', () => {
  assert.throws(
    () => new LogDemultiplexer().push(Buffer.from('plain text, a TTY')),
    /unknown stream/,
  );
  const huge = Buffer.alloc(8);
  huge[0] = 1;
  huge.writeUInt32BE(2 ** 31, 4);
  assert.throws(() => new LogDemultiplexer().push(huge), /frame of 2147483648 bytes/);
});

test('log demultiplexer knows a stream cut inside a frame', () => {
  const d = new LogDemultiplexer();
  d.push(frame(1, 'hello').subarray(0, 10));
  assert.equal(d.isAtBoundary, false);
});

test('log skipper drops what an earlier life copied, per stream, across pieces', () => {
  const skipper = new LogSkipper({ stdout: 5, stderr: 1 });
  const take = (stream: LogStream, text: string) =>
    skipper.take(stream, Buffer.from(text)).toString();
  assert.equal(take('stdout', 'abc'), '');
  assert.equal(take('stderr', 'xyz'), 'yz');
  assert.equal(take('stdout', 'defgh'), 'fgh');
  assert.equal(take('stdout', 'ij'), 'ij');
  assert.equal(take('stderr', 'w'), 'w');
});
