/**
 * Row-decode benchmark: what the SQL store pays per row it reads back (and per entry it
 * writes), the Schema codecs against the hand-written ones of `internal/rows.ts`, in the same
 * run. Rows are what the store writes (the Schema encoder's column values), in both drivers'
 * shapes: SQLite (JSON columns as text, integers as numbers) and PostgreSQL (jsonb parsed,
 * BIGINT as decimal strings, INTEGER as numbers).
 *
 * Timed, in ns per row (median over rounds; the two codecs alternate within each round):
 *
 * - outbox row -> entry (`toOutboxRecord`);
 * - lead row -> columns (the row-level part `toStoredLead` now does by hand: the snapshot
 *   column's JSON parsed, the other columns checked), and the whole `toStoredLead` (that part
 *   plus `LeadSnapshot.decode`, which both paths share);
 * - entry -> column values (`toOutboxValues`).
 *
 * Run: `npx tsx bench/rowDecode.ts [--quick]`.
 */
import type { LeadSnapshot, LeadStore, SyncIntent } from "@leadstate/core"
import { Either } from "effect"
import { codecs, toOutboxRecord, toOutboxValues, toStoredLead } from "../packages/store-sql/src/internal/rows.js"

const quick = process.argv.includes("--quick")

const CONFIG = {
  /** Distinct rows per set, decoded in turn. */
  rows: 1_000,
  /** Passes over the rows per timing (so one timing covers `rows * passes` decodes). */
  passes: quick ? 5 : 20,
  rounds: quick ? 3 : 9,
}

// ---------------------------------------------------------------------------------------------
// Rows as the store writes them
// ---------------------------------------------------------------------------------------------

const t0 = 1_760_000_000_000

const intentOf = (i: number): SyncIntent.SyncIntent =>
  i % 4 === 0
    ? {
        _tag: "CreateLead",
        leadId: `lead-${i}`,
        state: "new",
        metadata: { source: "web", campaign: `spring-${i % 7}`, score: i % 100, tags: ["inbound", "b2b"] },
        at: t0 + i,
      }
    : {
        _tag: "SetState",
        leadId: `lead-${i}`,
        from: "qualified",
        to: "proposal_sent",
        disposition: "interested",
        note: `sent proposal #${i}`,
        actor: "agent-7",
        at: t0 + i,
      }

const entryOf = (i: number): LeadStore.OutboxEntry => ({
  id: `lead-${i}/${(i % 9) + 1}/0`,
  leadId: `lead-${i}`,
  intent: intentOf(i),
  status: i % 3 === 0 ? "accepted" : "pending",
  attempts: i % 3,
  availableAt: t0 + 30_000 + i,
  ...(i % 3 === 0 ? { correlationId: `corr-${i}` } : {}),
  ...(i % 5 === 1 ? { failure: { reason: "RateLimited" as const, message: "429 from vendor, retry later" } } : {}),
})

const snapshotOf = (i: number): LeadSnapshot.LeadSnapshot => ({
  schemaVersion: 2,
  leadId: `lead-${i}`,
  state: "proposal_sent",
  previousState: "qualified",
  disposition: "interested",
  enteredAt: t0 + i,
  updatedAt: t0 + i,
  version: 5,
  metadata: { source: "web", campaign: `spring-${i % 7}`, score: i % 100, tags: ["inbound", "b2b"] },
  recent: [
    { event: "start", from: "", to: "new", at: t0 },
    { event: "transition", from: "new", to: "qualified", actor: "agent-7", at: t0 + 1 },
    { event: "transition", from: "qualified", to: "proposal_sent", disposition: "interested", at: t0 + i },
  ],
})

const entries = Array.from({ length: CONFIG.rows }, (_, i) => entryOf(i))
const values = entries.map((entry) => Either.getOrThrow(codecs.schema.outboxValues(entry)))

const sqliteOutbox: ReadonlyArray<unknown> = values.map((v, i) => ({ seq: i + 1, ...v }))
const pgOutbox: ReadonlyArray<unknown> = values.map((v, i) => ({
  ...v,
  seq: String(i + 1),
  available_at: String(v.available_at),
  intent: JSON.parse(v.intent),
  failure: v.failure === null ? null : JSON.parse(v.failure),
}))

const snapshotJson = Array.from({ length: CONFIG.rows }, (_, i) => JSON.stringify(snapshotOf(i)))
const sqliteLeads: ReadonlyArray<unknown> = snapshotJson.map((snapshot, i) => ({
  lead_id: `lead-${i}`,
  snapshot,
  vendor_lead_id: i % 2 === 0 ? `V-${i}` : null,
}))
const pgLeads: ReadonlyArray<unknown> = snapshotJson.map((snapshot, i) => ({
  lead_id: `lead-${i}`,
  snapshot: JSON.parse(snapshot),
  vendor_lead_id: i % 2 === 0 ? `V-${i}` : null,
}))

// ---------------------------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------------------------

/** Results go here, so no decode is optimized away. */
let sink = 0
const consume = (result: unknown): void => {
  if (result === undefined || (Either.isEither(result) && Either.isLeft(result))) {
    throw new Error(`a benchmark row was refused: ${String(Either.isEither(result) ? result.left : result)}`)
  }
  sink++
}

/** ns per call of `f` over `inputs`, `CONFIG.passes` times. */
const time = <I>(inputs: ReadonlyArray<I>, f: (input: I) => unknown): number => {
  const start = process.hrtime.bigint()
  for (let p = 0; p < CONFIG.passes; p++) for (const input of inputs) consume(f(input))
  return Number(process.hrtime.bigint() - start) / (CONFIG.passes * inputs.length)
}

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

interface Case<I> {
  readonly name: string
  readonly inputs: ReadonlyArray<I>
  readonly schema: (input: I) => unknown
  readonly plain: (input: I) => unknown
}

const run = <I>(c: Case<I>) => {
  // Warm-up: both paths compiled before the first timing.
  time(c.inputs, c.schema)
  time(c.inputs, c.plain)
  const schema: Array<number> = []
  const plain: Array<number> = []
  for (let round = 0; round < CONFIG.rounds; round++) {
    if (round % 2 === 0) {
      schema.push(time(c.inputs, c.schema))
      plain.push(time(c.inputs, c.plain))
    } else {
      plain.push(time(c.inputs, c.plain))
      schema.push(time(c.inputs, c.schema))
    }
  }
  const s = median(schema)
  const p = median(plain)
  return { case: c.name, "schema ns": Math.round(s), "plain ns": Math.round(p), "schema / plain": +(s / p).toFixed(1) }
}

const cases = [
  // What the store calls (the plain codec, the Schema one for refusals) against the Schema codec.
  run({ name: "outbox row, SQLite", inputs: sqliteOutbox, schema: codecs.schema.outboxRecord, plain: toOutboxRecord }),
  run({ name: "outbox row, PostgreSQL", inputs: pgOutbox, schema: codecs.schema.outboxRecord, plain: toOutboxRecord }),
  run({
    name: "lead row columns, SQLite",
    inputs: sqliteLeads,
    schema: codecs.schema.leadRow,
    plain: codecs.plain.leadRow,
  }),
  run({
    name: "lead row columns, PostgreSQL",
    inputs: pgLeads,
    schema: codecs.schema.leadRow,
    plain: codecs.plain.leadRow,
  }),
  run({ name: "toStoredLead, SQLite", inputs: sqliteLeads, schema: codecs.schema.storedLead, plain: toStoredLead }),
  run({ name: "toStoredLead, PostgreSQL", inputs: pgLeads, schema: codecs.schema.storedLead, plain: toStoredLead }),
  run({ name: "toOutboxValues (write)", inputs: entries, schema: codecs.schema.outboxValues, plain: toOutboxValues }),
]

console.log(
  `node ${process.version}, ${CONFIG.rows} rows x ${CONFIG.passes} passes per timing, median of ${CONFIG.rounds} rounds`,
)
console.table(cases)
if (sink === 0) console.log("(nothing decoded)")
