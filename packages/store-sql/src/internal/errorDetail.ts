/**
 * Readable, secret-free error details for `StoreError`.
 *
 * @internal
 */

import { SqlError } from "@effect/sql/SqlError"
import { LeadStore } from "@leadstate/core"
import { Effect, Redacted } from "effect"
import { sqlDefectsAsFailures } from "./transaction.js"

/** Removes the secrets from a text (each becomes `<redacted>`). */
export type Scrub = (text: string) => string

/** A {@link Scrub} for these secrets (empty ones are ignored; longer ones are removed first). */
export const scrubber = (secrets: ReadonlyArray<Redacted.Redacted<string>>): Scrub => {
  const values = secrets
    .map((secret) => Redacted.value(secret))
    .filter((value) => value.length > 0)
    .sort((a, b) => b.length - a.length)
  return (text) => values.reduce((out, value) => out.replaceAll(value, "<redacted>"), text)
}

/** The messages of an error and of its causes, joined with ": " (at most four levels). */
export const describe = (error: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = error
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (typeof current !== "object") {
      parts.push(String(current))
      break
    }
    const message = "message" in current ? current.message : undefined
    if (typeof message === "string" && message !== "" && !parts.includes(message)) parts.push(message)
    current = "cause" in current ? current.cause : undefined
  }
  return parts.length === 0 ? "unknown error" : parts.join(": ")
}

/** What to do about a failure whose description is `detail`, when it is a known kind. */
const advice = (detail: string): string | undefined => {
  if (
    /ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|terminat|Connection|not open|shut ?down/i.test(detail)
  ) {
    return "The database did not answer: check that it is running and reachable, then try again."
  }
  if (/SQLITE_BUSY|database is locked/i.test(detail)) {
    return "Another connection holds the database lock: try again once it is released."
  }
  return undefined
}

/** Fails with a `StoreError` for `operation`, describing `error` (and what to do) without secrets. */
export const storeFailure =
  (operation: string, scrub: Scrub) =>
  (error: unknown): Effect.Effect<never, LeadStore.StoreError> => {
    const detail = describe(error)
    const todo = advice(detail)
    return Effect.fail(
      new LeadStore.StoreError({ operation, detail: scrub(todo === undefined ? detail : `${detail}. ${todo}`) }),
    )
  }

/**
 * Maps every `SqlError` of `effect`, failure or defect (`@effect/sql` dies on some driver
 * failures), to a `StoreError` for `operation`.
 */
export const onSqlError =
  (operation: string, scrub: Scrub) =>
  <A, E, R>(
    effect: Effect.Effect<A, E | SqlError, R>,
  ): Effect.Effect<A, Exclude<E, SqlError> | LeadStore.StoreError, R> =>
    Effect.catchIf(
      sqlDefectsAsFailures(effect),
      (error): error is SqlError => error instanceof SqlError,
      storeFailure(operation, scrub),
    )
