import net from 'node:net';

/**
 * A TCP proxy on loopback between the app and PostgreSQL, for outage tests: it can close every
 * connection at once (a dropped path), or stall them (a black hole: bytes are taken and never
 * passed on, either way, as when packets are silently dropped). Connections made after `restore`
 * pass again; those that were stalled stay lost, as their bytes were.
 */
export interface TcpProxy {
  /** Connection string of the database behind the proxy. */
  url: string;
  /** Closes every open connection, both sides. */
  dropAll(): void;
  /** From now on nothing passes, on open connections or new ones. */
  blackhole(): void;
  /** New connections pass again. */
  restore(): void;
  /** Connections the proxy has accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(databaseUrl: string): Promise<TcpProxy> {
  const target = new URL(databaseUrl);
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket; lost: boolean }>();
  let stalled = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted += 1;
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    const pair = { client, upstream, lost: stalled };
    pairs.add(pair);
    const relay = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk) => {
        if (!pair.lost && !stalled) to.write(chunk);
        else pair.lost = true;
      });
    relay(client, upstream);
    relay(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    dropAll() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
    },
    blackhole() {
      stalled = true;
      for (const pair of pairs) pair.lost = true;
    },
    restore() {
      stalled = false;
    },
    accepted: () => accepted,
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
