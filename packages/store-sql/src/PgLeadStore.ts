/**
 * The PostgreSQL `LeadStore` (node-postgres): several processes may share the database;
 * `claim` locks its candidates with `FOR UPDATE SKIP LOCKED` and leases them in the same
 * transaction, so no entry is handed to two workers. `layer` connects (the URL is kept
 * `Redacted` and never appears in errors), creates or upgrades the tables and provides
 * `LeadStore`; `make` does the same over a `PgClient` you already have.
 *
 * @example
 * import * as PgLeadStore from "@leadstate/store-sql/pg"
 * const StoreLive = PgLeadStore.layer({ url: Redacted.make(process.env.DATABASE_URL ?? "") })
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { LeadStore } from "@leadstate/core"
import { type Duration, Effect, Layer, Redacted } from "effect"
import { describe, scrubber } from "./internal/errorDetail.js"
import * as Migrations from "./Migrations.js"
import * as SqlLeadStore from "./SqlLeadStore.js"

/** Options of {@link layer}. */
export interface PgLeadStoreOptions extends SqlLeadStore.SqlLeadStoreOptions {
  /** `postgres://user:password@host:port/database`; prefer a `Redacted` one. */
  readonly url: Redacted.Redacted<string> | string
  /** Pool size (node-postgres default: 10). */
  readonly maxConnections?: number | undefined
  /** How long to wait for the first connection (default 5 seconds). */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** TLS: `true`, or node `tls` connection options. */
  readonly ssl?: PgClient.PgClientConfig["ssl"]
  /** Shown in `pg_stat_activity` (default `leadstate`). */
  readonly applicationName?: string | undefined
}

/** The URL and the password in it (raw and percent-decoded), to keep out of error details. */
const secretsOf = (url: Redacted.Redacted<string>): ReadonlyArray<Redacted.Redacted<string>> => {
  const text = Redacted.value(url)
  let password: string
  try {
    password = new URL(text).password
  } catch {
    return [url]
  }
  try {
    return [url, Redacted.make(password), Redacted.make(decodeURIComponent(password))]
  } catch {
    // Not valid percent-encoding (e.g. "100%"): the raw password is still kept out.
    return [url, Redacted.make(password)]
  }
}

/** The secrets of a client's configuration. */
const clientSecrets = (config: PgClient.PgClientConfig): ReadonlyArray<Redacted.Redacted<string>> => [
  ...(config.url === undefined ? [] : secretsOf(Redacted.make(Redacted.value(config.url)))),
  ...(config.password === undefined ? [] : [Redacted.make(Redacted.value(config.password))]),
]

/**
 * The store over the `PgClient` in context, after running the migrations. The client's URL
 * and password are added to `redact`.
 */
export const make = (
  options: SqlLeadStore.SqlLeadStoreOptions = {},
): Effect.Effect<LeadStore.LeadStoreService, LeadStore.StoreError, PgClient.PgClient> =>
  Effect.flatMap(PgClient.PgClient, (client) => {
    const withSecrets = { ...options, redact: [...(options.redact ?? []), ...clientSecrets(client.config)] }
    return Migrations.run(withSecrets).pipe(
      Effect.zipRight(SqlLeadStore.make(withSecrets)),
      Effect.provideService(SqlClient.SqlClient, client),
    )
  })

/**
 * Connects a pool, runs the migrations and provides `LeadStore`; the pool is closed when the
 * layer is released. A failed connection is a `StoreError` ("connect") without the URL.
 */
export const layer = (options: PgLeadStoreOptions): Layer.Layer<LeadStore.LeadStore, LeadStore.StoreError> =>
  Layer.scoped(
    LeadStore.LeadStore,
    Effect.gen(function* () {
      const url = typeof options.url === "string" ? Redacted.make(options.url) : options.url
      const scrub = scrubber([...secretsOf(url), ...(options.redact ?? [])])
      const connectFailed = (error: unknown) =>
        new LeadStore.StoreError({ operation: "connect", detail: scrub(describe(error)) })
      const client = yield* PgClient.make({
        url,
        maxConnections: options.maxConnections,
        connectTimeout: options.connectTimeout,
        ssl: options.ssl,
        applicationName: options.applicationName ?? "leadstate",
      }).pipe(
        Effect.mapError(connectFailed),
        // node-postgres throws (a defect here) on a malformed URL.
        Effect.catchAllDefect((defect) => Effect.fail(connectFailed(defect))),
      )
      return yield* make({ tablePrefix: options.tablePrefix, redact: options.redact }).pipe(
        Effect.provideService(PgClient.PgClient, client),
      )
    }),
  ).pipe(Layer.provide(Reactivity.layer))
