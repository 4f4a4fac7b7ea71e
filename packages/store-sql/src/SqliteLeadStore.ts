/**
 * The SQLite `LeadStore` (better-sqlite3): one file, or `":memory:"`, for a single process.
 * `layer` opens the database (WAL journal for files), creates or upgrades its tables and
 * provides `LeadStore`; `make` does the same over a `SqliteClient` you already have.
 *
 * @example
 * import * as SqliteLeadStore from "@leadstate/store-sql/sqlite"
 * const StoreLive = SqliteLeadStore.layer({ filename: "leads.db" })
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { LeadStore } from "@leadstate/core"
import { Effect, Layer } from "effect"
import { describe, scrubber } from "./internal/errorDetail.js"
import * as Migrations from "./Migrations.js"
import * as SqlLeadStore from "./SqlLeadStore.js"

/** Options of {@link layer}. */
export interface SqliteLeadStoreOptions extends SqlLeadStore.SqlLeadStoreOptions {
  /** The database file (created when missing), or `":memory:"` for a private in-memory database. */
  readonly filename: string
  /** Keep SQLite's rollback journal instead of switching files to WAL (the default). */
  readonly disableWAL?: boolean | undefined
  /**
   * SQLite's `synchronous` setting. Default `"NORMAL"` with WAL: a commit survives the process
   * crashing (what the engine's outbox needs); only an OS crash or power loss may lose the last
   * commits, and never corrupts the file. `"FULL"` syncs every commit to disk (slower: one fsync
   * per commit).
   */
  readonly synchronous?: "OFF" | "NORMAL" | "FULL" | "EXTRA" | undefined
}

/**
 * The store over the `SqliteClient` in context, after running the migrations.
 */
export const make = (
  options: SqlLeadStore.SqlLeadStoreOptions = {},
): Effect.Effect<LeadStore.LeadStoreService, LeadStore.StoreError, SqliteClient.SqliteClient> =>
  Effect.flatMap(SqliteClient.SqliteClient, (client) =>
    Migrations.run(options).pipe(
      Effect.zipRight(SqlLeadStore.make(options)),
      Effect.provideService(SqlClient.SqlClient, client),
    ),
  )

/**
 * Opens the database, runs the migrations and provides `LeadStore`; the database is closed
 * when the layer is released. A database that cannot be opened is a `StoreError` ("open").
 */
export const layer = (options: SqliteLeadStoreOptions): Layer.Layer<LeadStore.LeadStore, LeadStore.StoreError> =>
  Layer.scoped(
    LeadStore.LeadStore,
    Effect.gen(function* () {
      const scrub = scrubber(options.redact ?? [])
      // better-sqlite3 throws (a defect here) when the file cannot be opened.
      const client = yield* SqliteClient.make({ filename: options.filename, disableWAL: options.disableWAL }).pipe(
        Effect.catchAllDefect((defect) =>
          Effect.fail(
            new LeadStore.StoreError({
              operation: "open",
              detail: scrub(`cannot open SQLite database ${JSON.stringify(options.filename)}: ${describe(defect)}`),
            }),
          ),
        ),
      )
      const synchronous = options.synchronous ?? (options.disableWAL === true ? "FULL" : "NORMAL")
      if (!["OFF", "NORMAL", "FULL", "EXTRA"].includes(synchronous)) {
        return yield* new LeadStore.StoreError({
          operation: "open",
          detail: `synchronous must be OFF, NORMAL, FULL or EXTRA, not ${JSON.stringify(synchronous)}`,
        })
      }
      yield* client
        .unsafe(`PRAGMA synchronous = ${synchronous}`)
        .pipe(
          Effect.mapError(
            (error) =>
              new LeadStore.StoreError({ operation: "open", detail: scrub(`PRAGMA synchronous: ${error.message}`) }),
          ),
        )
      return yield* make(options).pipe(Effect.provideService(SqliteClient.SqliteClient, client))
    }),
  ).pipe(Layer.provide(Reactivity.layer))
