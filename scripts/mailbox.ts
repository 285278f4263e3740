// The demo's mail catcher: an SMTP server on loopback that keeps every message the shop sends as an .eml
// file, so order confirmations and receipts can be read without a real mail provider.
//   node --import tsx/esm scripts/mailbox.ts    (MAILBOX_PORT, default 1025; MAILBOX_DIR, default $LANTERN_HOME/mail)
import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

const port = Number(process.env.MAILBOX_PORT ?? 1025);
const dir = process.env.MAILBOX_DIR ?? join(process.env.LANTERN_HOME ?? join(homedir(), '.lantern'), 'mail');
/** Larger messages are refused (552), never truncated. */
const MAX_BYTES = 5 * 1024 * 1024;
mkdirSync(dir, { recursive: true });

let seq = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  size: MAX_BYTES,
  logger: false,
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      if (stream.sizeExceeded) return callback(Object.assign(new Error('message too large'), { responseCode: 552 }));
      const to = session.envelope.rcptTo.map((r) => r.address).join(',');
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${++seq}.eml`;
      writeFileSync(join(dir, name), Buffer.concat(chunks));
      console.log(JSON.stringify({ msg: 'mail received', to, file: join(dir, name) }));
      callback();
    });
  },
});
server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ msg: 'mailbox listening', port, dir })));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
