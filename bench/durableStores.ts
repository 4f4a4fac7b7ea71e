/**
 * The durable lead stores of `engine.bench.ts`, each a layer that owns what it needs: SQLite on
 * a file in a fresh temp directory (WAL; removed afterwards) and PostgreSQL on a throwaway
 * server (started with `startPostgres`, stopped afterwards). SQLite runs twice: with the
 * store's default `synchronous = NORMAL` (commits survive a process crash) and with `FULL`
 * (an fsync per commit); PostgreSQL runs with fsync and synchronous commit turned back on
 * (the test tuning turns them off).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { LeadStore } from "@leadstate/core"
import * as PgLeadStore from "@leadstate/store-sql/pg"
import * as SqliteLeadStore from "@leadstate/store-sql/sqlite"
import { startPostgres } from "@leadstate/testkit/postgres"
import { Effect, Layer } from "effect"

/** SQLite in `leads.db` of a new temp directory (WAL journal), with the given `synchronous`. */
export const sqliteTempFile = (synchronous: "NORMAL" | "FULL"): Layer.Layer<LeadStore.LeadStore, unknown> =>
  Layer.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "leadstate-bench-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
      ),
      (dir) => SqliteLeadStore.layer({ filename: join(dir, "leads.db"), synchronous }),
    ),
  )

/** Production-like durability for the throwaway server. */
export const pgSettings = { fsync: "on", synchronous_commit: "on", full_page_writes: "on" } as const

/** PostgreSQL on a throwaway server (never installed from here: a missing server fails the layer). */
export const throwawayPostgres = (options: {
  readonly maxConnections: number
}): Layer.Layer<LeadStore.LeadStore, unknown> =>
  Layer.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(
        Effect.tryPromise(() => startPostgres({ install: false, settings: pgSettings })),
        (pg) => Effect.promise(() => pg.stop()),
      ),
      (pg) => PgLeadStore.layer({ url: pg.url, maxConnections: options.maxConnections }),
    ),
  )
