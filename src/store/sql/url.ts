/**
 * DATABASE_URL handling for the SQL stores: which dialect a URL speaks and a label for errors
 * and logs that names the database without its credentials.
 */

export type Dialect = 'pgsql' | 'mysql';

const SCHEMES: Record<string, Dialect> = { 'postgres:': 'pgsql', 'postgresql:': 'pgsql', 'mysql:': 'mysql', 'mariadb:': 'mysql' };

/** The dialect a `postgres://`, `postgresql://`, `mysql://` or `mariadb://` URL speaks; null for anything else. */
export function dialectOf(url: string): Dialect | null {
  try {
    return SCHEMES[new URL(url).protocol] ?? null;
  } catch {
    return null;
  }
}

export const DIALECT_NAME: Record<Dialect, string> = { pgsql: 'PostgreSQL', mysql: 'MySQL/MariaDB' };

/** `postgres://u:pw@db.example:5432/g2a` → `PostgreSQL at db.example:5432/g2a` (never the password). */
export function databaseLabel(url: string): string {
  const dialect = dialectOf(url);
  try {
    const u = new URL(url);
    const port = u.port || (dialect === 'pgsql' ? '5432' : '3306');
    return `${DIALECT_NAME[dialect ?? 'pgsql']} at ${u.hostname}:${port}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'the configured database';
  }
}
