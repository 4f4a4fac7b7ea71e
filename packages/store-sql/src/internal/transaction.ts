/**
 * Transactions whose every driver failure is a failure. `@effect/sql`'s `withTransaction`
 * turns a failed COMMIT or ROLLBACK into a defect (`Effect.orDie`): with the server gone (or a
 * SQLite COMMIT refused with SQLITE_BUSY), a store call would die instead of failing with a
 * `StoreError`. Here BEGIN, COMMIT and ROLLBACK are plain statements whose errors are
 * `SqlError`s, and a COMMIT that failed is followed by a ROLLBACK, so a SQLite transaction is
 * never left open on the shared connection.
 *
 * @internal
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlConnection from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import { Effect, Exit, Option } from "effect"

/** A `SqlError` that reached the defect channel (e.g. from `@effect/sql`'s `orDie`), back as a failure. */
export const sqlDefectsAsFailures = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
  Effect.catchSomeDefect(effect, (defect) =>
    defect instanceof SqlError ? Option.some(Effect.fail(defect)) : Option.none(),
  )

/** Runs a transaction-control statement; a driver that throws (SQLite prepares it eagerly) is a `SqlError`. */
const control = (conn: SqlConnection.Connection, statement: string): Effect.Effect<void, SqlError> =>
  Effect.flatten(
    Effect.try({
      try: () => Effect.asVoid(conn.executeUnprepared(statement, [], undefined)),
      catch: (cause) => new SqlError({ cause, message: `Failed to execute ${statement}` }),
    }),
  )

/**
 * Runs `body` in a transaction on a connection reserved from `sql`. Inside a transaction
 * already open (the caller's), it is a savepoint of that one, through `sql.withTransaction`.
 */
export const withTransaction =
  (sql: SqlClient.SqlClient) =>
  <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
    Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (outer) =>
      Option.isSome(outer)
        ? sqlDefectsAsFailures(sql.withTransaction(body))
        : Effect.uninterruptibleMask((restore) =>
            Effect.scoped(
              Effect.gen(function* () {
                // Not interruptible: node-postgres would leak a connection handed over after an interrupt.
                const conn = yield* sql.reserve
                yield* control(conn, "BEGIN")
                const exit = yield* Effect.exit(
                  restore(body).pipe(Effect.provideService(SqlClient.TransactionConnection, [conn, 0] as const)),
                )
                if (Exit.isFailure(exit)) {
                  // The connection may be gone: the rollback's own failure changes nothing for the caller.
                  yield* Effect.ignore(control(conn, "ROLLBACK"))
                  return yield* exit
                }
                const committed = yield* Effect.exit(control(conn, "COMMIT"))
                if (Exit.isFailure(committed)) {
                  // SQLite keeps the transaction open after a failed COMMIT (SQLITE_BUSY): end it.
                  yield* Effect.ignore(control(conn, "ROLLBACK"))
                  return yield* Effect.failCause(committed.cause)
                }
                return exit.value
              }),
            ),
          ),
    )
