import pg from 'pg';

/** A fresh database on the bench's PostgreSQL server; dropped by the returned function. */
export async function benchDatabase(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `liaison_bench_${Date.now()}_${Math.floor(Math.random() * 1000)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}
