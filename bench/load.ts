import http from 'node:http';

/**
 * The benches' HTTP client: node:http over kept-alive connections, reading each answer as bytes
 * and nothing more. A load generator shares the machine with the server and PostgreSQL, so it
 * should cost as little as it can: fetch (undici) with its stream plumbing and transparent gzip
 * took more CPU than the server it measured. Loopback only, like every bench.
 */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export function loadClient(base: string, connections: number) {
  const url = new URL(base);
  if (url.hostname !== '127.0.0.1') throw new Error(`benches talk to 127.0.0.1 only, not ${url.hostname}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  return {
    send(
      path: string,
      options: { method?: string; headers?: Record<string, string>; body?: string } = {},
    ): Promise<Answer> {
      return new Promise((resolve, reject) => {
        const request = http.request(
          {
            agent,
            host: '127.0.0.1',
            port: url.port,
            path,
            method: options.method ?? 'GET',
            headers: {
              ...options.headers,
              ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }),
            },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () =>
              resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
            );
            response.on('error', reject);
          },
        );
        request.setTimeout(30_000, () => request.destroy(new Error(`no answer to ${path} in 30 s`)));
        request.on('error', reject);
        request.end(options.body);
      });
    },
    close: () => agent.destroy(),
  };
}
