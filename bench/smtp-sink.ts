import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A throwaway SMTP server in its own process, so it does not share the worker's CPU time. */
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  closeTimeout: 100,
  onData(stream, _session, callback) {
    stream.on('data', () => {});
    stream.on('end', () => callback());
  },
});
server.listen(0, '127.0.0.1', () => {
  console.log(String((server.server.address() as AddressInfo).port));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
