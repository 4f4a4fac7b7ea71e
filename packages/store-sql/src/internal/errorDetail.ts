/**
 * Readable, secret-free error details for `StoreError`.
 *
 * @internal
 */

import type { SqlError } from "@effect/sql/SqlError"
import { LeadStore } from "@leadstate/core"
import { Effect, Redacted } from "effect"

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

/** Fails with a `StoreError` for `operation`, describing `error` without secrets. */
export const storeFailure =
  (operation: string, scrub: Scrub) =>
  (error: unknown): Effect.Effect<never, LeadStore.StoreError> =>
    Effect.fail(new LeadStore.StoreError({ operation, detail: scrub(describe(error)) }))

/** Maps an `SqlError` to a `StoreError` for `operation` (for `Effect.catchTag("SqlError", ...)`). */
export const onSqlError = (
  operation: string,
  scrub: Scrub,
): ((error: SqlError) => Effect.Effect<never, LeadStore.StoreError>) => storeFailure(operation, scrub)
