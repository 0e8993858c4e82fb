/** A webhook receiver on 127.0.0.1 for notification tests (spec `notify`). */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A webhook receiver: records each POST body; `answers` are the statuses to give, in order (then 200). */
export async function startReceiver(answers: number[] = []) {
  const bodies: unknown[] = [];
  const statuses: number[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const status = answers.shift() ?? 200;
      statuses.push(status);
      if (status === 200) bodies.push(JSON.parse(text));
      res.writeHead(status).end(status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/SECRET-TOKEN-123`;
  return { url, bodies, statuses, close: () => new Promise<void>((r) => server.close(() => r())) };
}
