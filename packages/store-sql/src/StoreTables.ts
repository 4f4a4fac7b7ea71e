/**
 * The names of the store's tables, all derived from one prefix (default `leadstate_`), so
 * several stores, or the store and your own tables, can share a database.
 *
 * @since 0.1.0
 */
import { LeadStore } from "@leadstate/core"
import { Either } from "effect"

/** The tables of one store. */
export interface StoreTables {
  /** One row per lead: version, snapshot JSON, vendor lead id, deadline. */
  readonly leads: string
  /** The outbox of vendor writes not settled yet (pending or accepted), in creation order. */
  readonly outbox: string
  /** Settled (confirmed or failed) outbox entries, moved out of `outbox` with their `seq`. */
  readonly outboxSettled: string
  /** Each lead's history log: one row per move, keyed by lead, version and position. */
  readonly history: string
  /** Vendor event ids already handled (webhook deduplication). */
  readonly events: string
  /** The migrator's bookkeeping table. */
  readonly migrations: string
}

/** The prefix used when none is given. */
export const defaultPrefix = "leadstate_"

// Lower case only: PostgreSQL folds unquoted names, and the migrator looks its table up unquoted.
// At most 40 characters: PostgreSQL cuts identifiers at 63 bytes, and the longest name derived
// from the prefix, `<prefix>outbox_settled_lead_idx` (23 more), must fit whole.
const validPrefix = /^(?:[a-z_][a-z0-9_]{0,39})?$/

/**
 * The tables for `prefix` (lower-case letters, digits and underscores, not starting with a digit, at most
 * 40 characters, so that every derived name is a plain SQL identifier).
 */
export const fromPrefix = (prefix: string = defaultPrefix): Either.Either<StoreTables, LeadStore.StoreError> =>
  validPrefix.test(prefix)
    ? Either.right({
        leads: `${prefix}leads`,
        outbox: `${prefix}outbox`,
        outboxSettled: `${prefix}outbox_settled`,
        history: `${prefix}history`,
        events: `${prefix}events`,
        migrations: `${prefix}migrations`,
      })
    : Either.left(
        new LeadStore.StoreError({
          operation: "configure",
          detail: `table prefix ${JSON.stringify(prefix)} is not allowed: use at most 40 lower-case letters, digits and underscores, not starting with a digit.`,
        }),
      )
