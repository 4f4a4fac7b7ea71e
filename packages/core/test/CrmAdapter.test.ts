import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Either, FastCheck as fc } from "effect"
import * as CrmAdapter from "../src/CrmAdapter.js"
import { CrmError } from "../src/CrmError.js"
import { SyncIntent } from "../src/SyncIntent.js"

const all: CrmAdapter.Capabilities = {
  create: true,
  readBack: true,
  asyncConfirmation: false,
  dispositions: true,
  snooze: true,
  bulk: false,
  delete: false,
  webhooks: { signature: "hmac-sha256" },
}

type Tag = SyncIntent["_tag"]
interface Call {
  readonly handler: Tag | "readBack"
  readonly kind: "plan" | "send" | "send(run)" | "readBack"
  readonly intent?: SyncIntent
}

/** An adapter whose handlers record every call (when called, and when the effect runs). */
const recording = (capabilities: CrmAdapter.Capabilities, withReadBack = true) => {
  const calls: Array<Call> = []
  const handler = <T extends Tag>(tag: T): CrmAdapter.IntentHandler<Extract<SyncIntent, { readonly _tag: T }>> => ({
    plan: (intent) => {
      calls.push({ handler: tag, kind: "plan", intent })
      return Either.right([{ method: "POST", url: `https://vendor.test/${tag}/${intent.leadId}`, headers: {} }])
    },
    send: (intent, ref) => {
      calls.push({ handler: tag, kind: "send", intent })
      return Effect.sync(() => {
        calls.push({ handler: tag, kind: "send(run)", intent })
        return { _tag: "Confirmed", vendorLeadId: ref.vendorLeadId, vendorState: tag }
      })
    },
  })
  const adapter = CrmAdapter.make({
    vendor: "acme",
    capabilities,
    handlers: {
      CreateLead: handler("CreateLead"),
      SetState: handler("SetState"),
      MergeMetadata: handler("MergeMetadata"),
    },
    ...(withReadBack
      ? {
          readBack: (ref: CrmAdapter.LeadRef) =>
            Effect.sync(() => {
              calls.push({ handler: "readBack", kind: "readBack" })
              return {
                vendorLeadId: ref.vendorLeadId ?? "V?",
                vendorState: "open",
                state: "new",
                disposition: undefined,
                metadata: {},
              }
            }),
        }
      : {}),
  })
  return { adapter, calls }
}

const create: SyncIntent = { _tag: "CreateLead", leadId: "L1", state: "new", metadata: { name: "Ada" }, at: 1 }
const setState: SyncIntent = { _tag: "SetState", leadId: "L1", from: "new", to: "contacted", at: 2 }
const merge: SyncIntent = { _tag: "MergeMetadata", leadId: "L1", metadata: { phone: null }, at: 3 }
const ref: CrmAdapter.LeadRef = { leadId: "L1", vendorLeadId: "V1" }

const unsupportedReason = (e: CrmError) => (e.reason._tag === "Unsupported" ? e.reason.capability : undefined)

describe("CrmAdapter.make", () => {
  it.effect("without the create capability, CreateLead fails with Unsupported before its handler runs", () =>
    Effect.gen(function* () {
      const { adapter, calls } = recording({ ...all, create: false })
      const planned = adapter.plan(create, ref)
      assert.isTrue(Either.isLeft(planned))
      const failure = yield* Effect.flip(adapter.send(create, ref))
      assert.instanceOf(failure, CrmError)
      assert.strictEqual(failure.vendor, "acme")
      assert.strictEqual(failure.operation, "CreateLead")
      assert.strictEqual(failure.leadId, "L1")
      assert.strictEqual(unsupportedReason(failure), "create")
      assert.isFalse(failure.retryable)
      assert.deepStrictEqual(Either.flip(planned).pipe(Either.map(unsupportedReason)), Either.right("create"))
      assert.deepStrictEqual(calls, [], "no handler was called")
    }),
  )

  it.effect("without the create capability, the other intents still reach their handlers", () =>
    Effect.gen(function* () {
      const { adapter, calls } = recording({ ...all, create: false })
      yield* adapter.send(setState, ref)
      yield* adapter.send(merge, ref)
      assert.deepStrictEqual(
        calls.map((c) => c.handler),
        ["SetState", "SetState", "MergeMetadata", "MergeMetadata"],
      )
    }),
  )

  it.effect("with the create capability, CreateLead reaches its handler", () =>
    Effect.gen(function* () {
      const { adapter, calls } = recording(all)
      const receipt = yield* adapter.send(create, ref)
      assert.deepStrictEqual(receipt, { _tag: "Confirmed", vendorLeadId: "V1", vendorState: "CreateLead" })
      assert.deepStrictEqual(
        calls.map((c) => [c.handler, c.kind]),
        [
          ["CreateLead", "send"],
          ["CreateLead", "send(run)"],
        ],
      )
    }),
  )

  it.effect("readBack without the capability fails with Unsupported and never calls the handler", () =>
    Effect.gen(function* () {
      const { adapter, calls } = recording({ ...all, readBack: false })
      const e = yield* Effect.flip(adapter.readBack(ref))
      assert.strictEqual(e.operation, "readBack")
      assert.strictEqual(e.leadId, "L1")
      assert.strictEqual(unsupportedReason(e), "readBack")
      assert.deepStrictEqual(calls, [])
    }),
  )

  it.effect("readBack claimed but not implemented fails with Unsupported", () =>
    Effect.gen(function* () {
      const { adapter } = recording(all, false)
      const e = yield* Effect.flip(adapter.readBack(ref))
      assert.strictEqual(unsupportedReason(e), "readBack")
    }),
  )

  it.effect("readBack with the capability and a handler calls it", () =>
    Effect.gen(function* () {
      const { adapter, calls } = recording(all)
      const lead = yield* adapter.readBack(ref)
      assert.strictEqual(lead.vendorLeadId, "V1")
      assert.deepStrictEqual(
        calls.map((c) => c.handler),
        ["readBack"],
      )
    }),
  )

  it.prop(
    "plan and send dispatch every intent to the handler of its _tag, with the intent unchanged",
    [Arbitrary.make(SyncIntent), fc.boolean()],
    ([intent, canCreate]) => {
      const { adapter, calls } = recording({ ...all, create: canCreate })
      const refused = intent._tag === "CreateLead" && !canCreate
      const planned = adapter.plan(intent, ref)
      const sent = Effect.runSync(Effect.either(adapter.send(intent, ref)))
      if (refused) {
        assert.isTrue(Either.isLeft(planned) && Either.isLeft(sent))
        assert.deepStrictEqual(calls, [])
        return
      }
      assert.deepStrictEqual(
        planned.pipe(Either.map((rs) => rs.map((r) => r.url))),
        Either.right([`https://vendor.test/${intent._tag}/${intent.leadId}`]),
      )
      assert.deepStrictEqual(
        sent.pipe(Either.map((r) => r._tag === "Confirmed" && r.vendorState)),
        Either.right(intent._tag),
      )
      assert.deepStrictEqual(
        calls.map((c) => [c.handler, c.kind]),
        [
          [intent._tag, "plan"],
          [intent._tag, "send"],
          [intent._tag, "send(run)"],
        ],
      )
      for (const c of calls) assert.strictEqual(c.intent, intent)
    },
    { fastCheck: { numRuns: 50 } },
  )

  it("unsupported builds a typed, non-retryable error naming the capability", () => {
    const e = CrmAdapter.unsupported("voxys", "bulkImport", "bulk", "L9")
    assert.strictEqual(
      e.message,
      `voxys bulkImport for lead "L9" failed: Unsupported: voxys does not support bulk. Check the adapter's capabilities before asking for it.`,
    )
    assert.isUndefined(CrmAdapter.unsupported("voxys", "bulkImport", "bulk").leadId)
  })

  it("a handlers object missing a tag does not compile", () => {
    const h = recording(all).adapter
    const anyHandler: CrmAdapter.IntentHandler<SyncIntent> = { plan: h.plan, send: h.send }
    // @ts-expect-error MergeMetadata has no handler
    const missing: CrmAdapter.IntentHandlers = { CreateLead: anyHandler, SetState: anyHandler }
    const wrong: CrmAdapter.IntentHandlers = {
      CreateLead: anyHandler,
      // @ts-expect-error a handler for CreateLead cannot handle SetState
      SetState: { plan: (_: SyncIntent & { readonly _tag: "CreateLead" }) => Either.right([]), send: h.send },
      MergeMetadata: anyHandler,
    }
    assert.isDefined(missing)
    assert.isDefined(wrong)
  })
})
