// The Engine API's multiplexed stream (logs and attach of a container without
// a TTY): each frame is an 8-byte header, [stream, 0, 0, 0, size as a 32-bit
// big-endian integer], then `size` bytes of that stream's output; stream 1 is
// stdout, 2 stderr (0, stdin, is written to stdout as the CLI does). Frames
// arrive cut anywhere by the socket, a header included, so the demultiplexer
// keeps what it has of the current one between chunks. Pure.

export type LogStream = 'stdout' | 'stderr';

/** Largest frame accepted: dockerd cuts its log lines at 16 KiB; more means a broken stream. */
const MAX_FRAME_BYTES = 1024 * 1024;
const HEADER_BYTES = 8;

export class LogDemultiplexer {
  private header = Buffer.alloc(HEADER_BYTES);
  private headerBytes = 0;
  /** Bytes of the current frame's payload still to come, and whose they are. */
  private remaining = 0;
  private stream: LogStream = 'stdout';

  /**
   * Splits a chunk into the pieces of each stream, in order. Throws on a header that
   * cannot be one (an unknown stream, a frame larger than any dockerd writes).
   */
  push(chunk: Buffer): { readonly stream: LogStream; readonly data: Buffer }[] {
    const out: { stream: LogStream; data: Buffer }[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining === 0) {
        const take = Math.min(HEADER_BYTES - this.headerBytes, chunk.length - at);
        chunk.copy(this.header, this.headerBytes, at, at + take);
        this.headerBytes += take;
        at += take;
        if (this.headerBytes < HEADER_BYTES) break;
        this.headerBytes = 0;
        const kind = this.header[0];
        if (kind !== 0 && kind !== 1 && kind !== 2)
          throw new Error(`log stream: frame of unknown stream ${kind}`);
        const size = this.header.readUInt32BE(4);
        if (size > MAX_FRAME_BYTES) throw new Error(`log stream: frame of ${size} bytes`);
        this.stream = kind === 2 ? 'stderr' : 'stdout';
        this.remaining = size;
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - at);
      const data = chunk.subarray(at, at + take);
      const last = out.at(-1);
      // Consecutive pieces of one stream go out as one write.
      if (last !== undefined && last.stream === this.stream)
        last.data = Buffer.concat([last.data, data]);
      else out.push({ stream: this.stream, data });
      this.remaining -= take;
      at += take;
    }
    return out;
  }

  /** Whether the stream ended between frames (not inside a header or a payload). */
  get isAtBoundary(): boolean {
    return this.headerBytes === 0 && this.remaining === 0;
  }
}

/**
 * Drops the first `skip` bytes of each stream: what an earlier life of the agent already
 * wrote to the sandbox, when a restarted one reads the container's logs from the start.
 */
export class LogSkipper {
  private readonly left: Record<LogStream, number>;

  constructor(skip: Readonly<Record<LogStream, number>>) {
    this.left = { ...skip };
  }

  take(stream: LogStream, data: Buffer): Buffer {
    const left = this.left[stream];
    if (left === 0) return data;
    const dropped = Math.min(left, data.length);
    this.left[stream] = left - dropped;
    return data.subarray(dropped);
  }
}
