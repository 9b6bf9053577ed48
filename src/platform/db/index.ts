/**
 * One Kysely instance per process, on SQLite (better-sqlite3, WAL) or PostgreSQL (pg).
 * Dialect differences live in repositories and in the helpers below, nowhere else.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { createRequire } from 'node:module';
import type pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, PostgresAdapter, type Transaction } from 'kysely';
import { openReader } from './reader.js';
import { statementCache } from './sqlite-fast.js';
import { readerTurn, type ReaderTurn } from './reader-turn.js';
import { createPrivateFile } from './private-file.js';
import type { Database } from './tables.js';

export type Dialect = 'sqlite' | 'postgres';
export type DB = Kysely<Database>;
/** A Kysely handle that may be a transaction: repositories take one of these as an optional last argument. */
export type Executor = Kysely<Database> | Transaction<Database>;

export interface DatabaseHandle {
  db: DB;
  dialect: Dialect;
  /** The raw better-sqlite3 handle (SQLite only), for backups. */
  sqlite?: SQLite.Database;
  /** SQLite on a file only: the read-only connection for per-request lookups (reader.ts). */
  reader?: SQLite.Database;
  /** With a reader: its read transaction shared by the lookups of one event-loop turn (reader-turn.ts). */
  readerTurn?: ReaderTurn;
  /** The pg pool (PostgreSQL only); the job queue LISTENs on a connection of its own. */
  pool?: pg.Pool;
  close(): Promise<void>;
}

let pgModule: typeof pg | undefined;
/** pg, loaded when a PostgreSQL database is opened (a SQLite service never holds it in memory). */
function loadPg(): typeof pg {
  if (!pgModule) {
    pgModule = createRequire(import.meta.url)('pg') as typeof pg;
    // int8 (bigint) columns hold millisecond times and counts; they fit in a double.
    pgModule.types.setTypeParser(20, (v) => Number(v));
  }
  return pgModule;
}

export type DatabaseConfig = { dialect: 'sqlite'; file: string } | { dialect: 'postgres'; url: string };

export interface OpenOptions {
  /** Told when a PostgreSQL connection fails (terminated, reset): for the log. */
  onConnectionError?: (err: Error) => void;
}

/** How long a request waits for a new PostgreSQL connection before it is answered 503. */
export const PG_CONNECT_TIMEOUT_MS = 5000;

/** A pg client class whose connection attempt gives up after PG_CONNECT_TIMEOUT_MS. */
function timedClient(p: typeof pg): typeof pg.Client {
  return class TimedClient extends p.Client {
    constructor(config?: pg.ClientConfig) {
      super({ ...config, connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS });
    }
  };
}

/** Opens the configured database. The caller runs migrations (see migrate.ts). */
export function openDatabase(cfg: DatabaseConfig, opts: OpenOptions = {}): DatabaseHandle {
  if (cfg.dialect === 'postgres') {
    // A refused or black-holed server must fail a request in seconds (a 503), not hang it. The
    // timeout is set on the client (connecting), not the pool: pg-pool applies its own
    // `connectionTimeoutMillis` to waiting for a busy pool's free client too, which turned a burst
    // of 400 requests on a healthy database into 503s ("timeout exceeded when trying to connect").
    const p = loadPg();
    const pool = new p.Pool({ connectionString: cfg.url, max: 10, Client: timedClient(p) });
    const lost = (err: Error) => opts.onConnectionError?.(err);
    // A client losing its connection must not crash the process. The pool's 'error' event covers
    // idle clients only; a client checked out (a query or transaction in progress) emits 'error'
    // on itself, with no listener, which Node turns into an uncaught exception. So every client
    // gets its own listener for its whole life; the query in progress fails with the error (the
    // request answers 503) and the pool discards the client when it is released.
    pool.on('error', lost);
    pool.on('connect', (client) => client.on('error', lost));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', pool, close: () => db.destroy() };
  }
  if (cfg.file !== ':memory:') {
    mkdirSync(dirname(cfg.file), { recursive: true });
    createPrivateFile(cfg.file);
  }
  const sqlite = new SQLite(cfg.file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  // SQLite's own default page cache (2 MB), not better-sqlite3's 16 MB: any pass over a large
  // campaign on this connection (the search indexer after a restart, an import, the sending
  // planner) filled all 16 MB for good, so the service's footprint grew with the campaign (issue
  // 15: 1,000,000 restarted idle 120 -> 107 MB, send peak 163 -> 150 MB, the same as 10,000). The
  // hot reads have their own mapped connection (reader.ts).
  sqlite.pragma('cache_size = -2000');
  const reader = cfg.file === ':memory:' ? undefined : openReader(cfg.file);
  const turn = reader && readerTurn(reader);
  // Every Kysely statement on the main connection ends the reader's read transaction first.
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: statementCache(sqlite, turn?.release) }) });
  return {
    db,
    dialect: 'sqlite',
    sqlite,
    reader,
    readerTurn: turn,
    close: async () => {
      reader?.close();
      await db.destroy();
    },
  };
}

/** Which dialect a Kysely handle (or transaction) speaks; for migrations and repositories. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any handle: the app's, a transaction's, a migration's Kysely<any>
export function dialectOf(db: Kysely<any>): Dialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/** True when an error is a unique-constraint violation, in either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
