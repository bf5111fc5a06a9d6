import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A real SMTP server in the test process that keeps every message it receives. */
export interface SmtpSink {
  url: string;
  port: number;
  received: Buffer[];
  parsed(): Promise<ParsedMail[]>;
  stop(): Promise<void>;
  /** Listen again on the same port after stop(). */
  restart(): Promise<void>;
}

export interface SinkOptions {
  /** Awaited before a message is accepted: a slow or stalled mail server. */
  beforeAccept?: () => Promise<void>;
}

function createServer(received: Buffer[], options: SinkOptions): SMTPServer {
  return new SMTPServer({
    authOptional: true,
    closeTimeout: 100,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const accept = () => {
          received.push(Buffer.concat(chunks));
          callback();
        };
        if (options.beforeAccept) void options.beforeAccept().then(accept);
        else accept();
      });
    },
  });
}

export async function startSmtpSink(options: SinkOptions = {}): Promise<SmtpSink> {
  const received: Buffer[] = [];
  let server = createServer(received, options);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    received,
    parsed: () => Promise.all(received.map((raw) => simpleParser(raw))),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    async restart() {
      server = createServer(received, options);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
  };
}
