import { assert, describe, it } from "@effect/vitest"
import { type FakeVoxysServerControl, startFakeVoxysServer } from "@leadstate/adapter-voxys/testing"
import { type CrmAdapter, type SyncIntent, WriteId } from "@leadstate/core"
import { Effect, Fiber } from "effect"
import { ACCOUNT, adapterFor, TOKEN } from "./fixtures.js"

// The fixtures' requests time out after 500 ms (a held request does; an answered one never comes
// near it) and retries start at once.

/** A lead at the fake, in state new, as leadstate created it. */
const seed = (fake: FakeVoxysServerControl) => {
  const lead = fake.putLead({ notes: "[leadstate] state=new", custom_attributes: { external_id: "L-1" } })
  return { leadId: "L-1", vendorLeadId: String(lead.id) } satisfies CrmAdapter.LeadRef
}

const setState = (from: string, to: string): SyncIntent.SetState => ({
  _tag: "SetState",
  leadId: "L-1",
  from,
  to,
  at: 0,
})
const writeIdOf = (version: number) => WriteId.make("L-1", version, 0)
const STATUS = /\/leads\/\d+\/status$/

/** The notes of the status PATCHes the fake received, in order. */
const statusNotes = (fake: FakeVoxysServerControl) =>
  fake
    .requests()
    .filter((r) => r.method === "PATCH" && STATUS.test(r.path))
    .map((r) => (r.body as { notes?: string } | null)?.notes ?? "-")

const waitFor = (promise: Promise<void>) => Effect.promise(() => promise)

describe("VoxysAdapter: write ids", () => {
  it.scopedLive("carries the write id in the notes tag; read-back returns it as lastWriteId", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeVoxysServer({ apiAccessToken: TOKEN, accountId: ACCOUNT })
      const crm = yield* adapterFor(fake.url)
      const created = yield* crm.send(
        { _tag: "CreateLead", leadId: "L-1", state: "new", metadata: { name: "Ana" }, at: 0 },
        { leadId: "L-1", writeId: writeIdOf(1) },
      )
      const ref = { leadId: "L-1", vendorLeadId: created.vendorLeadId }
      assert.strictEqual((yield* crm.readBack(ref)).lastWriteId, writeIdOf(1))
      yield* crm.send({ ...setState("new", "interested"), note: "asked twice" }, { ...ref, writeId: writeIdOf(2) })
      assert.deepStrictEqual(statusNotes(fake), [
        "[leadstate] state=new write=L-1%2F1%2F0",
        "[leadstate] state=interested write=L-1%2F2%2F0\nasked twice",
      ])
      const back = yield* crm.readBack(ref)
      assert.strictEqual(back.lastWriteId, writeIdOf(2))
      assert.strictEqual(back.state, "interested")
      // A status changed in the Voxys UI: the tag no longer describes the lead.
      fake.setStatusAtVendor(Number(ref.vendorLeadId), "lost")
      assert.strictEqual((yield* crm.readBack(ref)).lastWriteId, undefined)
    }),
  )
})

describe("VoxysAdapter: ambiguous writes", () => {
  for (const withIds of [true, false]) {
    const ids = withIds ? "with write ids" : "without write ids"

    it.scopedLive(
      `a timed-out status change that landed is confirmed by read-back, without a second PATCH (${ids})`,
      () =>
        Effect.gen(function* () {
          const fake = yield* startFakeVoxysServer({ apiAccessToken: TOKEN, accountId: ACCOUNT })
          const ref = seed(fake)
          const held = fake.hold({ method: "PATCH", path: STATUS })
          // The PATCH lands right after the adapter gave up on it (onRetry runs before the retry).
          const crm = yield* adapterFor(fake.url, {
            onRetry: () =>
              Effect.promise(async () => {
                held.release()
                await held.handled
              }),
          })
          const receipt = yield* crm.send(setState("new", "snoozed"), {
            ...ref,
            ...(withIds ? { writeId: writeIdOf(2) } : {}),
          })
          assert.deepStrictEqual(receipt, { _tag: "Confirmed", vendorLeadId: ref.vendorLeadId, vendorState: "snoozed" })
          assert.deepStrictEqual(
            fake.requests().map((r) => r.method),
            ["PATCH", "GET"],
            "read back instead of sending it again",
          )
        }),
    )

    it.scopedLive(
      `the measured scenario: a timed-out status change is resent, the next one is confirmed, then the first lands late; Voxys ends with the newest status (${ids})`,
      () =>
        Effect.gen(function* () {
          const fake = yield* startFakeVoxysServer({ apiAccessToken: TOKEN, accountId: ACCOUNT })
          const ref = seed(fake)
          const id = Number(ref.vendorLeadId)
          // The check after B runs 1 s after B's answer; the late landing comes a few ms after it.
          const crm = yield* adapterFor(fake.url, { ambiguous: { settleMs: 1_000 } })
          const a = { ...ref, ...(withIds ? { writeId: writeIdOf(2) } : {}) }
          const b = { ...ref, ...(withIds ? { writeId: writeIdOf(3) } : {}) }
          const first = fake.hold({ method: "PATCH", path: STATUS })
          const receiptA = yield* crm.send(setState("new", "snoozed"), a)
          assert.strictEqual(receiptA._tag, "Confirmed")
          const second = fake.hold({ method: "PATCH", path: STATUS })
          const sendingB = yield* Effect.fork(crm.send(setState("snoozed", "contacted"), b))
          yield* waitFor(second.arrived)
          second.release()
          yield* waitFor(second.handled)
          first.release()
          yield* waitFor(first.handled)
          assert.strictEqual(fake.lead(id)?.status, "snoozed", "the first PATCH landed late, on top of B")
          const receiptB = yield* Fiber.join(sendingB)
          assert.deepStrictEqual(receiptB, { _tag: "Confirmed", vendorLeadId: ref.vendorLeadId, vendorState: "open" })
          const atVendor = yield* crm.readBack(ref)
          assert.strictEqual(atVendor.vendorState, "open")
          assert.strictEqual(atVendor.state, "contacted")
          if (withIds) assert.strictEqual(atVendor.lastWriteId, writeIdOf(3))
          const [tagA, tagB] = withIds
            ? ["[leadstate] state=snoozed write=L-1%2F2%2F0", "[leadstate] state=contacted write=L-1%2F3%2F0"]
            : ["[leadstate] state=snoozed", "[leadstate] state=contacted"]
          assert.deepStrictEqual(statusNotes(fake), [tagA, tagA, tagB, tagB])
        }),
    )
  }

  it.scopedLive("a late landing between two states sharing one status is found by the write id", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeVoxysServer({ apiAccessToken: TOKEN, accountId: ACCOUNT })
      const ref = seed(fake)
      const crm = yield* adapterFor(fake.url)
      const first = fake.hold({ method: "PATCH", path: STATUS })
      yield* crm.send(setState("new", "contacted"), { ...ref, writeId: writeIdOf(2) })
      yield* crm.send(setState("contacted", "interested"), { ...ref, writeId: writeIdOf(3) })
      first.release()
      yield* waitFor(first.handled)
      // Both are "open": only the tag shows that the older write is on top.
      assert.strictEqual((yield* crm.readBack(ref)).state, "contacted")
      yield* crm.send({ _tag: "MergeMetadata", leadId: "L-1", metadata: { score: 7 }, at: 0 }, ref)
      const atVendor = yield* crm.readBack(ref)
      assert.strictEqual(atVendor.state, "interested")
      assert.strictEqual(atVendor.lastWriteId, writeIdOf(3))
      assert.strictEqual(atVendor.metadata.score, 7)
    }),
  )
})
