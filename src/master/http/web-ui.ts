// The web UI (issue #14): static files built by scripts/build.mjs into
// dist/webui, served at `/` by the master. The directory is read once, when the
// master starts, into a table from URL path to bytes: a request is looked up,
// never joined to a directory, so no `..` or symlink reaches anything else, and
// a rebuild while the master runs cannot serve half-written files.
//
// Caching: index.html is `no-cache` (revalidated every load, so a new build is
// picked up at once); everything under /assets/ carries a content hash in its
// name and is cached for a year. The Content-Security-Policy keeps every request
// of the page on the master's own origin (no CDN, no web fonts, no agent URLs).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { HttpError, type HttpServer, type Request } from '../../runtime/index.js';

/** The whole UI is expected to be well under this; more means a wrong directory. */
const MAX_UI_BYTES = 8 * 1024 * 1024;
const MAX_UI_FILES = 200;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

interface UiFile {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  readonly cacheControl: string;
}

/** Reads `dir` (index.html and assets/) into URL path → file; empty when it is not there. */
export function loadWebUi(dir: string): ReadonlyMap<string, UiFile> {
  const files = new Map<string, UiFile>();
  let total = 0;
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(dir, relative), { withFileTypes: true })) {
      const path = `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        walk(path);
        continue;
      }
      if (!entry.isFile()) continue;
      const type = CONTENT_TYPES[extname(entry.name)];
      if (type === undefined) continue;
      const body = readFileSync(join(dir, path));
      total += body.length;
      if (total > MAX_UI_BYTES || files.size >= MAX_UI_FILES)
        throw new Error(`web UI directory ${dir} holds more than a UI: refusing to serve it`);
      files.set(path, {
        body,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
        cacheControl: path.startsWith('/assets/')
          ? 'public, max-age=31536000, immutable'
          : 'no-cache',
      });
    }
  };
  try {
    if (!statSync(dir).isDirectory()) return files;
  } catch {
    return files;
  }
  walk('');
  return files;
}

/**
 * Serves the UI in `dir` at `/` and `/assets/*`. Without a built UI, `/` says how to
 * build one (503), so a bare `agora master` from a checkout explains itself.
 */
export function routeWebUi(http: HttpServer, dir: string | undefined): void {
  const files = dir === undefined ? new Map<string, UiFile>() : loadWebUi(dir);
  const serve = (path: string) => (request: Request, response: ServerResponse) => {
    const file = files.get(path);
    if (file === undefined) {
      if (path === '/index.html')
        throw new HttpError(
          'UNAVAILABLE',
          `the web UI is not built${dir === undefined ? '' : ` in ${dir}`}: run \`npm run build\``,
        );
      throw new HttpError('NOT_FOUND', `no file at ${path}`);
    }
    const headers = {
      'content-type': file.type,
      'cache-control': file.cacheControl,
      etag: file.etag,
      'x-content-type-options': 'nosniff',
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'referrer-policy': 'no-referrer',
    };
    if (request.headers['if-none-match'] === file.etag) {
      response.writeHead(304, headers);
      response.end();
      return;
    }
    response.writeHead(200, { ...headers, 'content-length': file.body.length });
    response.end(request.method === 'HEAD' ? undefined : file.body);
  };
  http.route(['GET'], '/', serve('/index.html'));
  http.route(['GET'], '/index.html', serve('/index.html'));
  http.routePrefix(['GET'], '/assets/', (request, response) =>
    serve(request.path)(request, response),
  );
}
