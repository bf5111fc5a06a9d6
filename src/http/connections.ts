import type { Server } from 'node:http';

/**
 * At most `cap` open connections from one address: one client holding hundreds of slow sockets
 * could otherwise take every one of MAX_CONNECTIONS and leave nothing for anyone else. A
 * connection over the cap is closed as it arrives, before a byte is read. Behind a proxy every
 * connection comes from the proxy, so the proxy must do this instead (docs/deployment.md).
 */
export function limitConnectionsPerAddress(server: Server, cap: number): void {
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    // An IPv4 client on a dual-stack listener is ::ffff:a.b.c.d: one address, however written.
    const address = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const count = open.get(address) ?? 0;
    if (count >= cap) {
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}
