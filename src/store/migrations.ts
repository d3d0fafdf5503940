/**
 * Schema migrations: the numbered SQL files in migrations/ (NNN_name.sql), applied in order,
 * each inside its own transaction together with its row in schema_migrations (version, name,
 * SHA-256 checksum of the file, applied_at). Files never change after landing, so start-up
 * refuses a database where an applied migration's checksum differs from the file, or that
 * holds a version this program does not know (a newer program migrated it).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GkmError } from '../ikev2/errors.ts';
import type { SqliteDatabase } from './database.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /** Hex SHA-256 of the file's bytes. */
  readonly checksum: string;
}

export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly appliedAt: string;
}

export interface MigrationResult {
  /** Versions applied by this run. */
  readonly applied: readonly number[];
  /** Schema version after the run. */
  readonly version: number;
}

/** migrations/ at the repository root. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

const FILE_NAME = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

const migrationError = (detail: string, cause?: unknown): GkmError => new GkmError('GKM_STORE_MIGRATION', { detail, cause });

/** Migrations from `dir`, by version; versions must run 1, 2, 3… without gaps or duplicates. */
export function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = FILE_NAME.exec(file);
    if (!m) throw migrationError(`${file}: migration files are named NNN_name.sql`);
    const bytes = readFileSync(join(dir, file));
    out.push({ version: Number(m[1]), name: m[2]!, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') });
  }
  out.sort((a, b) => a.version - b.version);
  out.forEach((m, i) => {
    if (m.version !== i + 1) throw migrationError(`expected migration ${i + 1}, found ${m.version} (${m.name})`);
  });
  return out;
}

function ensureMigrationsTable(db: SqliteDatabase): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);
}

export function appliedMigrations(db: SqliteDatabase): AppliedMigration[] {
  ensureMigrationsTable(db);
  return db
    .prepare<[], AppliedMigration>('SELECT version, name, checksum, applied_at AS appliedAt FROM schema_migrations ORDER BY version')
    .all();
}

/** Check what is applied against `migrations`, then apply the rest, each in one transaction. */
export function applyMigrations(db: SqliteDatabase, migrations: readonly Migration[], now: () => Date = () => new Date()): MigrationResult {
  const applied = appliedMigrations(db);
  const known = new Map(migrations.map((m) => [m.version, m]));
  for (const a of applied) {
    const m = known.get(a.version);
    if (!m) {
      throw new GkmError('GKM_STORE_SCHEMA_TOO_NEW', {
        detail: `the database has migration ${a.version} (${a.name}); this program knows up to ${migrations.length}. Run a newer gkm-ikev2 or restore a backup`,
      });
    }
    if (m.checksum !== a.checksum) {
      throw new GkmError('GKM_STORE_MIGRATION_CHANGED', {
        field: `migrations/${String(a.version).padStart(3, '0')}_${a.name}.sql`,
        detail: 'its checksum differs from the one recorded when it was applied; restore the original file and put changes in a new migration',
      });
    }
  }
  const done = new Set(applied.map((a) => a.version));
  const insert = db.prepare('INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)');
  const ran: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    try {
      db.transaction(() => {
        db.exec(m.sql);
        insert.run(m.version, m.name, m.checksum, now().toISOString());
      })();
    } catch (e) {
      throw migrationError(`migration ${m.version} (${m.name}): ${(e as Error).message}`, e);
    }
    ran.push(m.version);
  }
  return { applied: ran, version: migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version };
}

/** Highest applied version (0 for an empty database). */
export function schemaVersion(db: SqliteDatabase): number {
  ensureMigrationsTable(db);
  const row = db.prepare<[], { v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations').get();
  return row?.v ?? 0;
}
