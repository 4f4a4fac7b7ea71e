import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { dealer, PROCESS, setup } from "./fixtures.js"

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const f = Cause.failureOption(exit.cause)
  if (f._tag === "None") throw new Error(Cause.pretty(exit.cause))
  return f.value
}

const create = {
  _tag: "CreateLead",
  leadId: "L-1",
  state: "new",
  metadata: { name: "Priya", phone: "+919800000001", city: "Pune" },
  at: 0,
} as const
const merge = (metadata: Record<string, string>) => ({ _tag: "MergeMetadata", leadId: "L-1", metadata, at: 0 }) as const
const setState = (to: string) => ({ _tag: "SetState", leadId: "L-1", from: "new", to, at: 0 }) as const

describe("uservox write ids", () => {
  it.scopedLive("a write's id goes into the lead's metadata; read-back returns the last one as lastWriteId", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer)
      yield* crm.send(create, { leadId: "L-1", writeId: "L-1/0/0" })
      assert.deepInclude(fake.requests()[0]?.body as object, {
        lead: {
          projectId: "6650aa11bb22cc33dd44ee55",
          processId: PROCESS,
          name: "Priya",
          phone: "+919800000001",
          referenceId: "L-1",
          metadata: { city: "Pune", leadstate_write_id: "L-1/0/0" },
        },
      })
      assert.strictEqual((yield* crm.readBack({ leadId: "L-1" })).lastWriteId, "L-1/0/0")

      const merged = yield* crm.send(merge({ budget: "10L" }), { leadId: "L-1", writeId: "L-1/1/0" })
      assert.deepStrictEqual((fake.requests().at(-1)?.body as { metadata?: unknown } | undefined)?.metadata, {
        budget: "10L",
        leadstate_write_id: "L-1/1/0",
      })
      if (merged._tag === "Accepted") yield* crm.awaitConfirmation(merged, { leadId: "L-1" })
      const afterMerge = yield* crm.readBack({ leadId: "L-1" })
      assert.strictEqual(afterMerge.lastWriteId, "L-1/1/0")
      assert.deepStrictEqual(afterMerge.metadata, { city: "Pune", budget: "10L" }, "the id is not user metadata")

      // A later write's id replaces it.
      const moved = yield* crm.send(setState("contacted"), { leadId: "L-1", writeId: "L-1/2/0" })
      if (moved._tag === "Accepted") yield* crm.awaitConfirmation(moved, { leadId: "L-1" })
      assert.strictEqual((yield* crm.readBack({ leadId: "L-1" })).lastWriteId, "L-1/2/0")
      assert.strictEqual(fake.leadByReference("L-1", PROCESS)?.metadata.leadstate_write_id, "L-1/2/0")
    }),
  )

  it.scopedLive("without a write id the requests carry no write id, and read-back reports none", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer)
      yield* crm.send(create, { leadId: "L-1" })
      yield* crm.send(merge({ budget: "10L" }), { leadId: "L-1" })
      for (const r of fake.requests()) assert.notInclude(r.rawBody, "leadstate_write_id")
      assert.isUndefined((yield* crm.readBack({ leadId: "L-1" })).lastWriteId)
    }),
  )

  it.scopedLive("no webhook: a metadata merge is confirmed by its write id on read-back, or found not applied", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer, { confirmTimeoutMs: 200 })
      const created = yield* crm.send(create, { leadId: "L-1", writeId: "L-1/0/0" })
      fake.webhookFaults({ drop: 1 })
      const landed = yield* crm.send(merge({ budget: "10L" }), { leadId: "L-1", writeId: "L-1/1/0" })
      if (landed._tag !== "Accepted") return assert.fail("expected Accepted")
      assert.strictEqual((yield* crm.awaitConfirmation(landed, { leadId: "L-1" }))._tag, "Confirmed")

      // The job fails (a call is running) and its webhook is lost: the lead still holds L-1/1/0.
      fake.callInProgress(created.vendorLeadId ?? "", true)
      const lost = yield* crm.send(merge({ budget: "12L" }), { leadId: "L-1", writeId: "L-1/2/0" })
      if (lost._tag !== "Accepted") return assert.fail("expected Accepted")
      const error = failure(yield* Effect.exit(crm.awaitConfirmation(lost, { leadId: "L-1" })))
      assert.deepInclude(error.reason, { _tag: "VendorIgnoredWrite", expected: "L-1/2/0", actual: "L-1/1/0" })
    }),
  )
})
