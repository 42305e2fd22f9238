// A small client of the Docker Engine API over its unix socket (node:http, no
// dependency): the calls the containerizer makes besides `docker run` itself,
// each a few milliseconds where a CLI process would cost ~50 ms of CPU. Every
// call has a deadline; an error names the call and Docker's own message.
import { request } from 'node:http';

/** Engine API version: 1.41 is Docker 20.10's, the oldest Debian release we run against. */
const API_PREFIX = '/v1.41';
const DEFAULT_TIMEOUT_MS = 30_000;
/** Largest body read from the daemon (a container list of a few thousand). */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export class DockerEngineError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** What the containerizer reads of `GET /containers/{id}/json`. */
export interface ContainerInspect {
  readonly Id: string;
  readonly Name: string;
  readonly State: {
    readonly Status: string;
    readonly Running: boolean;
    readonly OOMKilled: boolean;
    readonly Pid: number;
    readonly ExitCode: number;
    readonly Error?: string;
  };
  readonly Config: { readonly Labels: Readonly<Record<string, string>> | null };
  readonly HostConfig?: { readonly Memory?: number };
}

export interface ContainerSummary {
  readonly Id: string;
  readonly Names: readonly string[];
  readonly State: string;
  readonly Labels: Readonly<Record<string, string>> | null;
}

export class DockerEngine {
  constructor(readonly socket: string) {}

  /** `GET /containers/{name}/json`; undefined if there is no such container. */
  async inspect(name: string): Promise<ContainerInspect | undefined> {
    return this.orNotFound(() =>
      this.call<ContainerInspect>('GET', `/containers/${encodeURIComponent(name)}/json`),
    );
  }

  /** Whether the image is in the daemon's store. */
  async hasImage(image: string): Promise<boolean> {
    const found = await this.orNotFound(() =>
      this.call<unknown>('GET', `/images/${encodeURIComponent(image)}/json`),
    );
    return found !== undefined;
  }

  async hasNetwork(name: string): Promise<boolean> {
    const found = await this.orNotFound(() =>
      this.call<unknown>('GET', `/networks/${encodeURIComponent(name)}`),
    );
    return found !== undefined;
  }

  /** Containers (running or not) carrying every one of these labels. */
  async list(labels: Readonly<Record<string, string>>): Promise<ContainerSummary[]> {
    const filters = JSON.stringify({
      label: Object.entries(labels).map(([key, value]) => `${key}=${value}`),
    });
    return this.call<ContainerSummary[]>(
      'GET',
      `/containers/json?all=1&filters=${encodeURIComponent(filters)}`,
    );
  }

  /** Sends a signal to the container's init process; a container not running is left be. */
  async kill(name: string, signal: NodeJS.Signals): Promise<void> {
    try {
      await this.call('POST', `/containers/${encodeURIComponent(name)}/kill?signal=${signal}`);
    } catch (error) {
      // 404: gone; 409: not running. Either way, nothing left to signal.
      if (
        error instanceof DockerEngineError &&
        (error.statusCode === 404 || error.statusCode === 409)
      )
        return;
      throw error;
    }
  }

  /** Removes the container (killing it if it runs) and its anonymous volumes. */
  async remove(name: string): Promise<void> {
    try {
      await this.call('DELETE', `/containers/${encodeURIComponent(name)}?force=1&v=1`);
    } catch (error) {
      if (error instanceof DockerEngineError && error.statusCode === 404) return;
      throw error;
    }
  }

  async ping(): Promise<void> {
    await this.call('GET', '/_ping');
  }

  private async orNotFound<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof DockerEngineError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  private call<T>(method: string, path: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = request(
        { socketPath: this.socket, method, path: `${API_PREFIX}${path}`, timeout: timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy(
                new Error(`${method} ${path}: response larger than ${MAX_RESPONSE_BYTES} bytes`),
              );
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 500;
            if (status >= 400) {
              let message = body.trim();
              try {
                message = (JSON.parse(body) as { message?: string }).message ?? message;
              } catch {
                // Not JSON: the text as it came.
              }
              reject(new DockerEngineError(status, `${method} ${path}: ${message}`));
              return;
            }
            const type = res.headers['content-type'] ?? '';
            try {
              resolve((type.includes('json') && body !== '' ? JSON.parse(body) : body) as T);
            } catch (error) {
              reject(error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)),
      );
      req.on('error', (error) =>
        reject(new Error(`docker daemon at ${this.socket}: ${error.message}`, { cause: error })),
      );
      req.end();
    });
  }
}
