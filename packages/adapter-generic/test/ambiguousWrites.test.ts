import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { type FakeGenericServerControl, startFakeGenericServer } from "@leadstate/adapter-generic/testing"
import { type CrmAdapter, type CrmError, RetryPolicy, type SyncIntent, WriteId } from "@leadstate/core"
import { Cause, Effect, Exit, Fiber, Logger, Redacted } from "effect"
import { API_KEY, dealer, dealerMap } from "./fixtures.js"

// A held request times out after 1 s (generous: an answered one never comes near it); retries
// start at once. Where a test depends on how long the adapter waits after a write (settleMs),
// it says why that is enough.
const retry: RetryPolicy.RetryPolicy = {
  ...RetryPolicy.defaults,
  baseDelayMs: 1,
  jitter: 0,
  maxDelayMs: 2_000,
  requestTimeoutMs: 1_000,
}

const adapterFor = (baseUrl: string, extra: Partial<GenericAdapter.GenericOptions> = {}) =>
  GenericAdapter.make({
    lifecycle: dealer,
    stateMap: dealerMap,
    baseUrl,
    apiKey: Redacted.make(API_KEY),
    chatbotId: "bot_1",
    retry,
    ambiguous: { settleMs: 100 },
    ...extra,
  }).pipe(Effect.provide(FetchHttpClient.layer))

/** A lead at the fake vendor, in state new, as leadstate created it. */
const seed = (fake: FakeGenericServerControl) => {
  const lead = fake.putLead({
    name: "Ana",
    email: "ana@example.org",
    status: "new",
    metadata: { external_id: "L-1", leadstate: { leadId: "L-1", state: "new" } },
  })
  return { leadId: "L-1", vendorLeadId: lead.id } satisfies CrmAdapter.LeadRef
}

const setState = (from: string, to: string): SyncIntent.SetState => ({
  _tag: "SetState",
  leadId: "L-1",
  from,
  to,
  at: 0,
})
const writeIdOf = (version: number) => WriteId.make("L-1", version, 0)

/** The write ids in the PUT bodies the fake received, in order (`-` for a PUT without one). */
const putIds = (fake: FakeGenericServerControl) =>
  fake
    .requests()
    .filter((r) => r.method === "PUT")
    .map((r) => {
      const block = (r.body as { metadata?: { leadstate?: { writeId?: string; state?: string } } }).metadata?.leadstate
      return block?.writeId ?? block?.state ?? "-"
    })

const failure = <A>(exit: Exit.Exit<A, CrmError.CrmError>): CrmError.CrmError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const f = Cause.failureOption(exit.cause)
  if (f._tag === "None") throw new Error(Cause.pretty(exit.cause))
  return f.value
}

const captureLogs = () => {
  const lines: Array<string> = []
  return {
    lines,
    layer: Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ logLevel, message }) => lines.push(`${logLevel.label} ${String(message)}`)),
    ),
  }
}

const waitFor = (promise: Promise<void>) => Effect.promise(() => promise)

describe("GenericAdapter: write ids", () => {
  it.scopedLive("carries the write id in metadata.leadstate; read-back returns it as lastWriteId", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
      const crm = yield* adapterFor(fake.url)
      const created = yield* crm.send(
        { _tag: "CreateLead", leadId: "L-1", state: "new", metadata: { name: "Ana", email: "ana@example.org" }, at: 0 },
        { leadId: "L-1", writeId: writeIdOf(1) },
      )
      const ref = { leadId: "L-1", vendorLeadId: created.vendorLeadId }
      assert.strictEqual((yield* crm.readBack(ref)).lastWriteId, writeIdOf(1))
      yield* crm.send(setState("new", "contacted"), { ...ref, writeId: writeIdOf(2) })
      const [post] = fake.requests()
      assert.deepStrictEqual((post?.body as { metadata?: { leadstate?: unknown } } | undefined)?.metadata?.leadstate, {
        leadId: "L-1",
        state: "new",
        at: "1970-01-01T00:00:00.000Z",
        writeId: writeIdOf(1),
      })
      assert.deepStrictEqual(putIds(fake), [writeIdOf(2)])
      const back = yield* crm.readBack(ref)
      assert.strictEqual(back.lastWriteId, writeIdOf(2))
      assert.strictEqual(back.state, "contacted")
      // A status changed at the vendor: the block no longer describes the lead, so no write of ours is held.
      if (ref.vendorLeadId === undefined) return assert.fail("no vendor id")
      const lead = fake.lead(ref.vendorLeadId)
      if (lead !== undefined) fake.putLead({ ...lead, status: "lost" })
      assert.strictEqual((yield* crm.readBack(ref)).lastWriteId, undefined)
    }),
  )

  it.scopedLive("without a write id the requests carry none and read-back reports none", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
      const ref = seed(fake)
      const crm = yield* adapterFor(fake.url)
      yield* crm.send(setState("new", "contacted"), ref)
      assert.deepStrictEqual(putIds(fake), ["contacted"])
      assert.strictEqual((yield* crm.readBack(ref)).lastWriteId, undefined)
    }),
  )
})

describe("GenericAdapter: ambiguous writes", () => {
  for (const withIds of [true, false]) {
    const ids = withIds ? "with write ids" : "without write ids"

    it.scopedLive(`a timed-out PUT that landed is confirmed by read-back, without a second PUT (${ids})`, () =>
      Effect.gen(function* () {
        const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
        const ref = seed(fake)
        const held = fake.hold({ method: "PUT" })
        // The PUT lands right after the adapter gave up on it (onRetry runs before the retry).
        const crm = yield* adapterFor(fake.url, {
          onRetry: () =>
            Effect.promise(async () => {
              held.release()
              await held.handled
            }),
        })
        const receipt = yield* crm.send(setState("new", "contacted"), {
          ...ref,
          ...(withIds ? { writeId: writeIdOf(2) } : {}),
        })
        assert.deepStrictEqual(receipt, { _tag: "Confirmed", vendorLeadId: ref.vendorLeadId, vendorState: "contacted" })
        assert.deepStrictEqual(
          fake.requests().map((r) => r.method),
          ["PUT", "GET"],
          "read back instead of sending it again",
        )
        // With a write id the one copy is known to have landed: the next write is not checked;
        // without one, the lead is watched (read back before and after).
        const before = fake.requests().length
        yield* crm.send(setState("contacted", "interested"), { ...ref, ...(withIds ? { writeId: writeIdOf(3) } : {}) })
        assert.deepStrictEqual(
          fake
            .requests()
            .slice(before)
            .map((r) => r.method),
          withIds ? ["PUT"] : ["GET", "PUT", "GET"],
        )
      }),
    )

    it.scopedLive(
      `the measured scenario: a timed-out PUT is resent, the next write is confirmed, then the first PUT lands late; the vendor ends with the newest status (${ids})`,
      () =>
        Effect.gen(function* () {
          const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
          const ref = seed(fake)
          // The post-write check runs 1 s after B's answer; the late landing comes a few ms after it.
          const crm = yield* adapterFor(fake.url, { ambiguous: { settleMs: 1_000 } })
          const logs = captureLogs()
          const a = { ...ref, ...(withIds ? { writeId: writeIdOf(2) } : {}) }
          const b = { ...ref, ...(withIds ? { writeId: writeIdOf(3) } : {}) }
          const first = fake.hold({ method: "PUT" })
          const receiptA = yield* crm.send(setState("new", "contacted"), a)
          assert.strictEqual(receiptA._tag, "Confirmed")
          const second = fake.hold({ method: "PUT" })
          const sendingB = yield* Effect.fork(
            crm.send(setState("contacted", "interested"), b).pipe(Effect.provide(logs.layer)),
          )
          yield* waitFor(second.arrived)
          second.release()
          yield* waitFor(second.handled)
          first.release()
          yield* waitFor(first.handled)
          assert.strictEqual(fake.lead(ref.vendorLeadId)?.status, "contacted", "the first PUT landed late, on top of B")
          const receiptB = yield* Fiber.join(sendingB)
          assert.deepStrictEqual(receiptB, {
            _tag: "Confirmed",
            vendorLeadId: ref.vendorLeadId,
            vendorState: "qualified",
          })
          const atVendor = yield* crm.readBack(ref)
          assert.strictEqual(atVendor.vendorState, "qualified")
          assert.strictEqual(atVendor.state, "interested")
          if (withIds) assert.strictEqual(atVendor.lastWriteId, writeIdOf(3))
          // A's first copy (held), A again after the read-back, B, B again after the late landing.
          const [a1, a2, b1, b2] = withIds
            ? [writeIdOf(2), writeIdOf(2), writeIdOf(3), writeIdOf(3)]
            : ["contacted", "contacted", "interested", "interested"]
          assert.deepStrictEqual(putIds(fake), [a1, a2, b1, b2])
          assert.isTrue(
            logs.lines.some((l) => l.startsWith("WARN") && l.includes("landed late and overwrote")),
            logs.lines.join("\n"),
          )
        }),
    )
  }

  it.scopedLive("a late landing after the write's own check is found before the lead's next write", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
      const ref = seed(fake)
      const crm = yield* adapterFor(fake.url)
      const first = fake.hold({ method: "PUT" })
      yield* crm.send(setState("new", "contacted"), { ...ref, writeId: writeIdOf(2) })
      yield* crm.send(setState("contacted", "interested"), { ...ref, writeId: writeIdOf(3) })
      first.release()
      yield* waitFor(first.handled)
      assert.strictEqual(fake.lead(ref.vendorLeadId)?.status, "contacted")
      const before = fake.requests().length
      yield* crm.send({ _tag: "MergeMetadata", leadId: "L-1", metadata: { score: 7 }, at: 0 }, ref)
      assert.deepStrictEqual(
        fake
          .requests()
          .slice(before)
          .map((r) => r.method),
        ["GET", "PUT", "PUT", "GET"],
        "read back, B again, the merge, then the check after it",
      )
      const lead = fake.lead(ref.vendorLeadId)
      assert.strictEqual(lead?.status, "qualified")
      assert.deepStrictEqual(lead?.metadata.score, 7)
      assert.deepStrictEqual(putIds(fake), [writeIdOf(2), writeIdOf(2), writeIdOf(3), writeIdOf(3), "-"])
    }),
  )

  it.scopedLive("when the overwritten write cannot be restored, the next write fails with a typed error", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
      const ref = seed(fake)
      const crm = yield* adapterFor(fake.url)
      const first = fake.hold({ method: "PUT" })
      yield* crm.send(setState("new", "contacted"), { ...ref, writeId: writeIdOf(2) })
      yield* crm.send(setState("contacted", "interested"), { ...ref, writeId: writeIdOf(3) })
      first.release()
      yield* waitFor(first.handled)
      const stale = fake.lead(ref.vendorLeadId)
      // The vendor answers the re-sent B with the older status, as if it ignored it.
      fake.inject({ method: "PUT", fault: { _tag: "Status", status: 200, body: { success: true, data: stale } } })
      const before = fake.requests().length
      const error = failure(
        yield* Effect.exit(crm.send({ _tag: "MergeMetadata", leadId: "L-1", metadata: { score: 7 }, at: 0 }, ref)),
      )
      assert.strictEqual(error.reason._tag, "VendorIgnoredWrite")
      assert.strictEqual(error.leadId, "L-1")
      assert.include(error.message, 'landed late and overwrote status "qualified" (state interested)')
      assert.deepStrictEqual(
        fake
          .requests()
          .slice(before)
          .map((r) => r.method),
        ["GET", "PUT"],
        "the merge itself is not sent",
      )
    }),
  )

  it.scopedLive("a create that timed out but landed is adopted from the duplicate, not created twice", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
      const held = fake.hold({ method: "POST" })
      const crm = yield* adapterFor(fake.url, {
        onRetry: () =>
          Effect.promise(async () => {
            held.release()
            await held.handled
          }),
      })
      const receipt = yield* crm.send(
        { _tag: "CreateLead", leadId: "L-1", state: "new", metadata: { name: "Ana", email: "ana@example.org" }, at: 0 },
        { leadId: "L-1", writeId: writeIdOf(1) },
      )
      assert.strictEqual(fake.leads().length, 1)
      assert.strictEqual(receipt.vendorLeadId, fake.leads()[0]?.id)
      assert.deepStrictEqual(
        fake.requests().map((r) => r.method),
        ["POST", "POST", "GET"],
        "the second POST is refused as a duplicate, which is ours",
      )
    }),
  )

  it.scopedLive("a duplicate of someone else's lead is still a DuplicateLead after a timed-out create", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
      fake.putLead({ name: "Other", email: "ana@example.org", metadata: { external_id: "L-9" } })
      fake.inject({ method: "POST", fault: { _tag: "Drop" } })
      const crm = yield* adapterFor(fake.url)
      const error = failure(
        yield* Effect.exit(
          crm.send(
            {
              _tag: "CreateLead",
              leadId: "L-1",
              state: "new",
              metadata: { name: "Ana", email: "ana@example.org" },
              at: 0,
            },
            { leadId: "L-1" },
          ),
        ),
      )
      assert.strictEqual(error.reason._tag, "DuplicateLead")
    }),
  )

  it.scopedLive("remembers at most maxLeads leads (the least recently used is forgotten)", () =>
    Effect.gen(function* () {
      const fake = yield* startFakeGenericServer({ apiKey: API_KEY })
      const one = seed(fake)
      const other = fake.putLead({ name: "Bo", email: "bo@example.org", metadata: { external_id: "L-2" } })
      const two = { leadId: "L-2", vendorLeadId: other.id }
      const crm = yield* adapterFor(fake.url, { ambiguous: { settleMs: 50, maxLeads: 1 } })
      // A dropped PUT for each lead (no write id: both stay watched).
      fake.inject({ method: "PUT", fault: { _tag: "Drop" } })
      yield* crm.send(setState("new", "contacted"), one)
      fake.inject({ method: "PUT", fault: { _tag: "Drop" } })
      yield* crm.send({ ...setState("new", "contacted"), leadId: "L-2" }, two)
      const before = fake.requests().length
      yield* crm.send(setState("contacted", "interested"), one)
      yield* crm.send({ ...setState("contacted", "interested"), leadId: "L-2" }, two)
      assert.deepStrictEqual(
        fake
          .requests()
          .slice(before)
          .map((r) => r.method),
        ["PUT", "GET", "PUT", "GET"],
        "L-1 was forgotten when L-2 was remembered; L-2 is still read back before and after",
      )
    }),
  )
})
