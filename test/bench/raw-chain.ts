// The architecture's own floor: the same HTTP → NATS → service → Postgres chain with no framework,
// no auth and no validation, as two processes like the real gateway and vm-operator. The gap between
// this and the gateway is what Ferry's code costs; the gap between this and bare_http_pg is what the
// extra hop costs. MODE=responder|proxy, NATS_URL, DATABASE_URL, PORT.
import { createServer } from 'node:http';
import { connect } from 'nats';
import { Pool } from 'pg';

const SUBJECT = 'bench.raw.template.get';

async function responder(): Promise<void> {
  const pool = new Pool({ connectionString: process.env['DATABASE_URL'], max: 10 });
  const nc = await connect({ servers: process.env['NATS_URL'] });
  nc.subscribe(SUBJECT, {
    queue: 'bench-raw',
    callback: (_err, msg) => {
      const { name } = JSON.parse(new TextDecoder().decode(msg.data)) as { name: string };
      pool
        .query('SELECT name, cpu_count, ram_amount, created_at FROM vm_operator.templates WHERE name = $1', [
          name,
        ])
        .then(
          (r) => msg.respond(JSON.stringify({ data: r.rows[0] ?? null })),
          () => msg.respond(JSON.stringify({ error: { code: 'INTERNAL', message: 'query failed' } })),
        );
    },
  });
  await nc.flush();
}

async function proxy(): Promise<void> {
  const nc = await connect({ servers: process.env['NATS_URL'] });
  const server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
    nc.request(SUBJECT, JSON.stringify({ name }), { timeout: 5000 }).then(
      (m) => {
        const body = JSON.parse(m.string()) as { data: unknown };
        res.writeHead(body.data ? 200 : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body.data));
      },
      () => {
        res.writeHead(503);
        res.end();
      },
    );
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(Number(process.env['PORT']), '127.0.0.1', resolve));
}

(process.env['MODE'] === 'proxy' ? proxy() : responder()).then(
  () => process.stdout.write('"msg":"ready"\n'),
  (err: Error) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);
process.on('SIGTERM', () => process.exit(0));
