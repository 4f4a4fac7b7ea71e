/**
 * A model-based property for `LeadStore`s: for random sequences of saves, claims, outbox
 * updates, event records, deadline and unsettled-entry queries, a store answers exactly as the
 * in-memory store (the reference semantics) does, call by call; `hasUnsettled` (and
 * `loadForWrite`'s flag) also agrees with the lead's outbox, in both. Saves carry history
 * entries, and the history log is compared with cursors (`after`, `limit`). Registered in one line per store:
 * `storeModelSuite("sqlite", openStore)`.
 */
import { assert, describe, it } from "@effect/vitest"
import { type LeadSnapshot, LeadStore } from "@leadstate/core"
import { Effect, Either, FastCheck as fc, Option, type Scope } from "effect"

const leadIds = ["A", "B", "C", "D"] as const
const statuses = ["pending", "accepted", "confirmed", "failed"] as const

type Op =
  | {
      readonly _tag: "save"
      readonly lead: number
      readonly entries: ReadonlyArray<{ readonly status: LeadStore.OutboxStatus; readonly availableAt: number }>
      readonly due: number | undefined
      readonly stale: boolean
    }
  | { readonly _tag: "claim"; readonly now: number; readonly limit: number; readonly leaseMs: number }
  | {
      readonly _tag: "update"
      readonly pick: number
      readonly status: LeadStore.OutboxStatus
      readonly availableAt: number
      readonly correlationId: string | undefined
    }
  | { readonly _tag: "remember"; readonly event: number }
  | { readonly _tag: "vendorChange"; readonly lead: number; readonly event: number }
  | { readonly _tag: "due"; readonly now: number; readonly limit: number }
  | { readonly _tag: "unsettled"; readonly lead: number }
  | {
      readonly _tag: "history"
      readonly lead: number
      readonly after: number | undefined
      readonly limit: number | undefined
    }
  | { readonly _tag: "entry"; readonly pick: number }

const time = fc.integer({ min: 0, max: 30 })

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    _tag: fc.constant("save" as const),
    lead: fc.nat({ max: leadIds.length - 1 }),
    // Mostly pending entries: the claim rules are where stores differ most.
    entries: fc.array(
      fc.record({
        status: fc.constantFrom<LeadStore.OutboxStatus>("pending", "pending", "pending", ...statuses),
        availableAt: time,
      }),
      { maxLength: 3 },
    ),
    due: fc.option(time, { nil: undefined }),
    stale: fc.boolean(),
  }),
  fc.record({
    _tag: fc.constant("claim" as const),
    now: time,
    limit: fc.integer({ min: 1, max: 4 }),
    leaseMs: fc.integer({ min: 1, max: 10 }),
  }),
  fc.record({
    _tag: fc.constant("update" as const),
    pick: fc.nat({ max: 6 }),
    status: fc.constantFrom(...statuses),
    availableAt: time,
    correlationId: fc.option(fc.constantFrom("c1", "c2"), { nil: undefined }),
  }),
  fc.record({ _tag: fc.constant("remember" as const), event: fc.nat({ max: 3 }) }),
  fc.record({
    _tag: fc.constant("vendorChange" as const),
    lead: fc.nat({ max: leadIds.length - 1 }),
    event: fc.nat({ max: 3 }),
  }),
  fc.record({ _tag: fc.constant("due" as const), now: time, limit: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ _tag: fc.constant("unsettled" as const), lead: fc.nat({ max: leadIds.length - 1 }) }),
  fc.record({
    _tag: fc.constant("history" as const),
    lead: fc.nat({ max: leadIds.length - 1 }),
    after: fc.option(fc.integer({ min: -1, max: 8 }), { nil: undefined }),
    limit: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
  }),
  fc.record({ _tag: fc.constant("entry" as const), pick: fc.nat({ max: 8 }) }),
)

const isUnsettled = (entry: LeadStore.OutboxEntry) => entry.status === "pending" || entry.status === "accepted"

/** `hasUnsettled`, checked against the lead's outbox (so the reference store is checked too). */
const hasUnsettled = (store: LeadStore.LeadStoreService, leadId: string) =>
  Effect.gen(function* () {
    const answer = yield* store.hasUnsettled(leadId)
    const outbox = yield* store.outbox(leadId)
    assert.strictEqual(answer, outbox.some(isUnsettled), `hasUnsettled("${leadId}") disagrees with its outbox`)
    const forWrite = yield* store.loadForWrite(leadId)
    const lead = yield* store.load(leadId)
    assert.deepStrictEqual(
      Option.map(forWrite, (f) => f.lead),
      lead,
      `loadForWrite("${leadId}") disagrees with load`,
    )
    if (Option.isSome(forWrite)) {
      assert.strictEqual(forWrite.value.unsettled, answer, `loadForWrite("${leadId}").unsettled disagrees`)
    }
    return answer
  })

const snapshot = (leadId: string, version: number, due: number | undefined): LeadSnapshot.LeadSnapshot => ({
  schemaVersion: 2,
  leadId,
  state: version === 0 ? "new" : "contacted",
  enteredAt: version,
  updatedAt: version,
  version,
  metadata: { n: version },
  recent: [{ event: "start", from: "new", to: "new", at: 0 }],
  ...(due === undefined ? {} : { due: { event: "followUpDue", at: due } }),
})

/** Runs the operations against a store; each answer as plain data (errors by their tag). */
const run = (store: LeadStore.LeadStoreService, ops: ReadonlyArray<Op>) =>
  Effect.gen(function* () {
    const answers: Array<unknown> = []
    const versions = new Map<string, number>()
    const entryIds: Array<{ id: string; leadId: string }> = []
    const answer = <A, E extends { readonly _tag: string }>(effect: Effect.Effect<A, E>) =>
      Effect.map(Effect.either(effect), (result) =>
        Either.isLeft(result) ? { error: result.left._tag } : { ok: result.right },
      )
    for (const o of ops) {
      switch (o._tag) {
        case "save":
        case "vendorChange": {
          const leadId = leadIds[o.lead] ?? "A"
          const current = versions.get(leadId)
          const next = current === undefined ? 0 : current + 1
          const expected = o._tag === "save" && o.stale ? (current === undefined ? 0 : undefined) : current
          const entries = (o._tag === "save" ? o.entries : [{ status: "confirmed" as const, availableAt: 0 }]).map(
            (e, index): LeadStore.OutboxEntry => ({
              id: LeadStore.entryId(leadId, next, index),
              leadId,
              intent: { _tag: "SetState", leadId, from: "new", to: "contacted", at: next },
              status: e.status,
              attempts: 0,
              availableAt: e.availableAt,
            }),
          )
          const due = o._tag === "save" ? o.due : undefined
          // Zero to two history entries per save (a metadata update adds none, a rollback one).
          const history = Array.from({ length: next % 3 }, (_, i) => ({
            event: i === 0 ? "transition" : "rollback",
            from: "new",
            to: "contacted",
            at: next * 10 + i,
            ...(i === 1 ? { note: `n${next}` } : {}),
          }))
          const saved = yield* answer(
            o._tag === "save"
              ? store.save(snapshot(leadId, next, due), expected, entries, history)
              : store.saveVendorChange(snapshot(leadId, next, due), expected, entries, `evt-${o.event}`, history),
          )
          if ("ok" in saved) {
            versions.set(leadId, next)
            for (const e of entries) entryIds.push({ id: e.id, leadId })
          }
          answers.push(saved)
          break
        }
        case "claim":
          answers.push(
            yield* answer(
              Effect.map(store.claim(o.now, o.limit, o.leaseMs), (es) => es.map((e) => [e.id, e.availableAt])),
            ),
          )
          break
        case "update": {
          const target = entryIds[o.pick]
          if (target === undefined) break
          const index = Number(target.id.split("/")[2])
          const version = Number(target.id.split("/")[1])
          answers.push(
            yield* answer(
              store.updateOutbox({
                id: target.id,
                leadId: target.leadId,
                intent: { _tag: "SetState", leadId: target.leadId, from: "new", to: "contacted", at: version + index },
                status: o.status,
                attempts: 1,
                availableAt: o.availableAt,
                ...(o.correlationId === undefined ? {} : { correlationId: o.correlationId }),
              }),
            ),
          )
          break
        }
        case "remember":
          answers.push(yield* answer(store.rememberEvent(`evt-${o.event}`)))
          break
        case "history":
          answers.push(yield* answer(store.history(leadIds[o.lead] ?? "A", { after: o.after, limit: o.limit })))
          break
        case "entry": {
          const target = entryIds[o.pick]
          if (target === undefined) break
          answers.push(yield* answer(Effect.map(store.outboxEntry(target.leadId, target.id), Option.getOrUndefined)))
          // Asked as another lead's: not found.
          answers.push(yield* answer(Effect.map(store.outboxEntry("Z", target.id), Option.isSome)))
          break
        }
        case "unsettled":
          answers.push({ unsettled: yield* hasUnsettled(store, leadIds[o.lead] ?? "A") })
          break
        case "due":
          // The port does not fix which due leads come first: compare all of them as a set, and
          // how many a limit lets through.
          answers.push(yield* answer(Effect.map(store.dueLeads(o.now, 100), (ids) => [...ids].sort())))
          answers.push(yield* answer(Effect.map(store.dueLeads(o.now, o.limit), (ids) => ids.length)))
          break
      }
    }
    for (const leadId of leadIds) {
      answers.push({
        leadId,
        lead: Option.getOrUndefined(yield* store.load(leadId)),
        outbox: yield* store.outbox(leadId),
        oldestAccepted: Option.getOrUndefined(yield* store.oldestAccepted(leadId)),
        hasUnsettled: yield* hasUnsettled(store, leadId),
        history: yield* store.history(leadId),
      })
    }
    return answers
  })

/**
 * Registers the property for a store: `open` builds a fresh, empty store in the given scope
 * (one per generated case).
 */
export const storeModelSuite = <E>(
  name: string,
  open: Effect.Effect<LeadStore.LeadStoreService, E, Scope.Scope>,
  options: { readonly numRuns?: number } = {},
): void => {
  describe(`LeadStore model: ${name}`, () => {
    it.live(
      "answers every call sequence as the in-memory store does",
      () =>
        Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
              const [expected, actual] = await Effect.runPromise(
                Effect.scoped(
                  Effect.all([
                    Effect.flatMap(LeadStore.makeMemory, (memory) => run(memory, ops)),
                    Effect.flatMap(open, (store) => run(store, ops)),
                  ]),
                ).pipe(Effect.orDie),
              )
              assert.deepStrictEqual(actual, expected)
            }),
            { numRuns: options.numRuns ?? 60 },
          ),
        ),
      120_000,
    )
  })
}
