import { PgClient } from "@effect/sql-pg"
import { freshDatabase } from "@leadstate/testkit/postgres"
import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { describe, expect, inject, it } from "vitest"

const adminUrl = inject("pgUrl")

/** Runs `f` with a client connected to `url`. */
const withClient = <A>(url: string, f: (sql: PgClient.PgClient) => Effect.Effect<A, unknown>) =>
  Effect.flatMap(PgClient.PgClient, f).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url) })))

const tables = (url: string) =>
  withClient(url, (sql) =>
    sql<{
      readonly name: string
    }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'`.pipe(
      Effect.map((rows) => rows.map((r) => r.name)),
    ),
  )

const databaseExists = (name: string) =>
  withClient(adminUrl, (sql) =>
    sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM pg_database WHERE datname = ${name}`.pipe(
      Effect.map((rows) => rows[0]?.n === 1),
    ),
  )

const dbName = (url: string) => new URL(url).pathname.slice(1)

describe("freshDatabase", () => {
  it("creates distinct, empty, isolated databases", async () => {
    await Effect.gen(function* () {
      const a = yield* freshDatabase(adminUrl)
      const b = yield* freshDatabase(adminUrl)
      expect(a).not.toBe(b)
      expect(dbName(a)).toMatch(/^leadstate_test_[0-9a-f]+$/)
      expect(yield* tables(a)).toEqual([])
      expect(yield* tables(b)).toEqual([])
      yield* withClient(a, (sql) => sql`CREATE TABLE only_in_a (id int PRIMARY KEY)`)
      expect(yield* tables(a)).toEqual(["only_in_a"])
      expect(yield* tables(b)).toEqual([])
    }).pipe(Effect.scoped, Effect.runPromise)
  })

  it("drops the database when its scope closes, even with a connection still open", async () => {
    await Effect.gen(function* () {
      const scope = yield* Scope.make()
      const url = yield* freshDatabase(adminUrl).pipe(Scope.extend(scope))
      expect(yield* databaseExists(dbName(url))).toBe(true)
      // A client that outlives the database: DROP ... WITH (FORCE) must not wait for it.
      const clientScope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(PgClient.layer({ url: Redacted.make(url) }), clientScope)
      const sql = Context.get(context, PgClient.PgClient)
      yield* sql`SELECT 1`
      yield* Scope.close(scope, Exit.void)
      expect(yield* databaseExists(dbName(url))).toBe(false)
      yield* Scope.close(clientScope, Exit.void).pipe(Effect.timeout("5 seconds"), Effect.ignore)
    }).pipe(Effect.runPromise)
  })
})
