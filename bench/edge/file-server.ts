// bench:edge's file server for the fetch-resume run (#15): serves one file of
// deterministic bytes at /file, in the master's namespace. With `resumable` it
// says Accept-Ranges: bytes and a strong ETag and honours `Range: bytes=N-`
// (If-Range checked), as nginx or S3 do; without, every request gets the file whole.
// Every response's bytes actually written go to stdout as one JSON line.
//
// Run: node --import tsx file-server.ts '{"host":…,"port":0,"size":N,"resumable":true}'
import { createServer } from 'node:http';

const config = JSON.parse(process.argv[2] ?? '{}') as {
  host: string;
  port: number;
  size: number;
  resumable: boolean;
};
const file = Buffer.alloc(config.size);
for (let i = 0; i < file.length; i++) file[i] = Math.imul(i, 2654435761) >>> 24;
const ETAG = '"bench-file-1"';
const CHUNK = 16 * 1024;

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const server = createServer((request, response) => {
  let start = 0;
  const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
  const ifRange = request.headers['if-range'];
  if (config.resumable && range !== null && (ifRange === undefined || ifRange === ETAG)) {
    start = Math.min(Number(range[1]), file.length);
    response.writeHead(206, {
      'content-length': String(file.length - start),
      'content-range': `bytes ${start}-${file.length - 1}/${file.length}`,
      'accept-ranges': 'bytes',
      etag: ETAG,
    });
  } else {
    response.writeHead(200, {
      'content-length': String(file.length),
      ...(config.resumable ? { 'accept-ranges': 'bytes', etag: ETAG } : {}),
    });
  }
  let offset = start;
  let written = 0;
  const pump = () => {
    while (offset < file.length) {
      const chunk = file.subarray(offset, Math.min(offset + CHUNK, file.length));
      offset += chunk.length;
      written += chunk.length;
      if (!response.write(chunk)) {
        response.once('drain', pump);
        return;
      }
    }
    response.end();
  };
  response.once('close', () =>
    emit({ event: 'response', from: start, written, complete: response.writableFinished }),
  );
  pump();
});
server.listen(config.port, config.host, () => {
  const address = server.address();
  emit({ event: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
