/**
 * PostgreSQL for tests: a throwaway server ({@link startPostgres}, started once per `vitest run`
 * by the repository's globalSetup and provided as `inject("pgUrl")`) and a fresh, empty
 * database per test or suite ({@link freshDatabase}).
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import type { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted, type Scope } from "effect"

export {
  findPostgresBinDir,
  PG_URL_ENV,
  type PostgresServer,
  pgUrlFromEnv,
  type StartPostgresOptions,
  startPostgres,
} from "./postgresServer.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** An admin URL (CREATEDB) of the test PostgreSQL server: `LEADSTATE_PG_URL` or a throwaway server. */
    pgUrl: string
  }
}

/** Runs one statement on a short-lived single connection to `url`. */
const adminExec = (url: string, statement: string): Effect.Effect<void, SqlError> =>
  Effect.gen(function* () {
    const sql = yield* PgClient.PgClient
    yield* sql.unsafe(statement)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })))

/** `url` with its database name replaced. */
const withDatabase = (url: string, database: string): string => {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/**
 * Creates a new, empty database with a random name (`leadstate_test_<random>`) through the
 * admin connection `adminUrl` (whose user needs CREATEDB) and returns its URL; the database is
 * dropped (`WITH (FORCE)`, closing leftover connections) when the scope closes.
 *
 * @since 0.1.0
 */
export const freshDatabase = (adminUrl: string): Effect.Effect<string, SqlError, Scope.Scope> => {
  const name = `leadstate_test_${randomUUID().replaceAll("-", "").slice(0, 16)}`
  return Effect.acquireRelease(
    adminExec(adminUrl, `CREATE DATABASE "${name}"`).pipe(Effect.as(withDatabase(adminUrl, name))),
    () => adminExec(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).pipe(Effect.orDie),
  )
}
