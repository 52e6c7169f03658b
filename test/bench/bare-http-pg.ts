// The floor for the gateway: a bare node:http server doing the same primary-key query, no framework,
// no NATS hop. Started as its own process by bench.ts: DATABASE_URL, PORT.
import { createServer } from 'node:http';
import { Pool } from 'pg';

const pool = new Pool({ connectionString: process.env['DATABASE_URL'], max: 10 });
const server = createServer((req, res) => {
  const name = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
  pool
    .query('SELECT name, cpu_count, ram_amount, created_at FROM vm_operator.templates WHERE name = $1', [
      name,
    ])
    .then(
      (r) => {
        const row = r.rows[0] as { created_at: Date } | undefined;
        res.writeHead(row ? 200 : 404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(row ? { ...row, created_at: row.created_at.toISOString() } : { error: 'not found' }),
        );
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env['PORT']), '127.0.0.1', () => process.stdout.write('"msg":"ready"\n'));
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
