/**
 * The adapter conformance suite: one set of tests every adapter runs against its fake vendor
 * server, in a few lines. It checks that each intent becomes the documented request (and that
 * `send` sends exactly its `plan`), that vendor errors map to the right reasons, that
 * retryable faults are retried and others are not, that malformed answers are typed errors
 * and never defects, that secrets never leak, that unsupported capabilities send nothing,
 * that webhooks decode and garbage is refused, that an adapter declaring `listLeads` lists
 * every lead once, page by page (and one not declaring it has no `listLeads`), and that every
 * shortest path of the example lifecycles leaves the fake vendor in the mapped state.
 */
import { assert, describe, it } from "@effect/vitest"
import {
  type CrmAdapter,
  CrmError,
  type CrmWebhooks,
  type LeadSnapshot,
  type Lifecycle,
  type Metadata,
  Paths,
  type StateMap,
  type SyncIntent,
  start,
  transition,
} from "@leadstate/core"
import type { FakeVendorControl, Fault, RecordedRequest } from "@leadstate/core/testing"
import { Cause, Chunk, Effect, Either, Exit, FastCheck as fc, Logger, type Scope, Stream } from "effect"

/** What an adapter's conformance test gives the suite for one lifecycle. */
export interface ConformanceHarness {
  readonly fake: FakeVendorControl
  readonly adapter: CrmAdapter.CrmAdapterService
  readonly webhooks: CrmWebhooks.CrmWebhooksService | undefined
  readonly stateMap: StateMap.StateMap
  /** Values that must never appear in errors, plans or logs (API keys, webhook tokens). */
  readonly secrets: ReadonlyArray<string>
  /** The metadata a new lead needs at this vendor (contact fields). */
  readonly leadMetadata: (leadId: string) => Metadata.Metadata
  /** The vendor's raw state value for a lead, read from the fake server's store. */
  readonly vendorState: (ref: CrmAdapter.LeadRef) => Effect.Effect<string | undefined>
  /** For vendors that confirm asynchronously: settle an `Accepted` receipt (deliver its webhook). */
  readonly settle?: (receipt: CrmAdapter.Accepted, ref: CrmAdapter.LeadRef) => Effect.Effect<void, unknown>
  /** Valid signed/authenticated webhook deliveries and the event tag each must decode to. */
  readonly webhookFixtures?: ReadonlyArray<{
    readonly name: string
    readonly raw: CrmWebhooks.RawWebhook
    readonly expect: CrmWebhooks.WebhookEvent["_tag"]
  }>
  /** The headers that authenticate a webhook (removed or altered to test tampering). */
  readonly webhookAuthHeaders?: ReadonlyArray<string>
  /** For signed webhooks: the delivery with `body` and a valid signature for it. */
  readonly resign?: (raw: CrmWebhooks.RawWebhook, body: Uint8Array) => CrmWebhooks.RawWebhook
}

/** A vendor error the suite injects, and the reason it must map to. */
export interface ErrorCase {
  readonly name: string
  readonly fault: Fault
  readonly reason: CrmError.CrmErrorReason["_tag"]
  /** For InvalidRequest: the field names the reason must carry. */
  readonly fields?: ReadonlyArray<string>
}

/** One documented request: the intent and what the vendor's docs say must be sent. */
export interface DocumentedRequest {
  readonly name: string
  /** Builds the intent for a lead that exists at the vendor (`ref` has its vendor id). */
  readonly intent: (ref: CrmAdapter.LeadRef) => SyncIntent.SyncIntent
  readonly method: string
  /** The path (without query) the vendor documents; may use the ref's ids. */
  readonly path: (ref: CrmAdapter.LeadRef) => string
  /** The body the vendor documents (compared with `toEqual` semantics). */
  readonly body?: (ref: CrmAdapter.LeadRef) => unknown
}

/** An adapter under test. */
export interface ConformanceTarget {
  readonly vendor: string
  /** The lifecycles whose shortest paths are driven through the adapter. */
  readonly lifecycles: ReadonlyArray<Lifecycle.Lifecycle>
  /** Starts the fake server and builds the adapter for `lifecycle` (small real retry delays). */
  readonly harness: (lifecycle: Lifecycle.Lifecycle) => Effect.Effect<ConformanceHarness, unknown, Scope.Scope>
  readonly documentedRequests: ReadonlyArray<DocumentedRequest>
  readonly errorCases: ReadonlyArray<ErrorCase>
  /** A retryable fault (e.g. a 503) the adapter must retry and then succeed after. */
  readonly retryableFaults: ReadonlyArray<Fault>
  /** 2xx bodies that do not have the documented shape (default: a few that fit no JSON API). */
  readonly malformedBodies?: ReadonlyArray<string>
}

const leadCounter = { n: 0 }

/** Creates a lead at the fake vendor through the adapter; returns its ref and snapshot. */
export const createLead = (
  h: ConformanceHarness,
  lifecycle: Lifecycle.Lifecycle,
): Effect.Effect<
  { readonly ref: CrmAdapter.LeadRef; readonly snapshot: LeadSnapshot.LeadSnapshot },
  CrmError.CrmError | unknown
> =>
  Effect.gen(function* () {
    const leadId = `conf-${++leadCounter.n}`
    const started = start(lifecycle, { leadId, at: Date.now(), metadata: h.leadMetadata(leadId) })
    const [create] = started.intents
    if (create === undefined) return yield* Effect.dieMessage("start gave no CreateLead intent")
    const receipt = yield* h.adapter.send(create, { leadId })
    const ref = { leadId, vendorLeadId: receipt.vendorLeadId }
    if (receipt._tag === "Accepted" && h.settle !== undefined) yield* h.settle(receipt, ref)
    return { ref, snapshot: started.snapshot }
  })

const sendAndSettle = (h: ConformanceHarness, intent: SyncIntent.SyncIntent, ref: CrmAdapter.LeadRef) =>
  Effect.gen(function* () {
    const receipt = yield* h.adapter.send(intent, ref)
    if (receipt._tag === "Accepted" && h.settle !== undefined) yield* h.settle(receipt, ref)
    return receipt
  })

const setStateFor = (ref: CrmAdapter.LeadRef, from: string, to: string): SyncIntent.SetState => ({
  _tag: "SetState",
  leadId: ref.leadId,
  from,
  to,
  at: Date.now(),
})

/** A state the lead can be set to that differs from the initial one, with what it needs. */
const someMove = (lifecycle: Lifecycle.Lifecycle, ref: CrmAdapter.LeadRef): SyncIntent.SetState => {
  const initial = lifecycle.states.get(lifecycle.initial)
  const to = initial?.targetList[0] ?? lifecycle.initial
  const d = lifecycle.states.get(to)?.dispositions
  const intent = setStateFor(ref, lifecycle.initial, to)
  return d?.required === true && d.list[0] !== undefined ? { ...intent, disposition: d.list[0] } : intent
}

const requestsAfter = (fake: FakeVendorControl, count: number): ReadonlyArray<RecordedRequest> =>
  fake.requests().slice(count)

const failureOf = <A>(exit: Exit.Exit<A, unknown>): unknown => {
  if (Exit.isSuccess(exit)) return undefined
  assert.isFalse(Cause.isDie(exit.cause), `expected a typed failure, got a defect: ${Cause.pretty(exit.cause)}`)
  const failure = Cause.failureOption(exit.cause)
  return failure._tag === "Some" ? failure.value : undefined
}

const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ message, annotations }) => {
    lines.push(`${JSON.stringify(message)} ${JSON.stringify([...annotations])}`)
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

const assertNoSecret = (h: ConformanceHarness, text: string, where: string) => {
  for (const secret of h.secrets) assert.notInclude(text, secret, `a secret leaked into ${where}`)
}

/**
 * Registers the whole suite for one adapter.
 *
 * @example
 * conformanceSuite({ vendor: "generic", lifecycles: [dealer], harness, documentedRequests, errorCases, retryableFaults })
 */
export const conformanceSuite = (target: ConformanceTarget): void => {
  const [lifecycle] = target.lifecycles
  if (lifecycle === undefined) throw new Error("conformanceSuite needs at least one lifecycle")

  describe(`${target.vendor}: adapter conformance`, () => {
    it.scopedLive("declares its vendor and capabilities", () =>
      Effect.gen(function* () {
        const h = yield* target.harness(lifecycle)
        assert.strictEqual(h.adapter.vendor, target.vendor)
        assert.strictEqual(h.webhooks !== undefined, h.adapter.capabilities.webhooks !== false)
      }),
    )

    for (const doc of target.documentedRequests) {
      it.scopedLive(`${doc.name}: sends the documented request, exactly as planned`, () =>
        Effect.gen(function* () {
          const h = yield* target.harness(lifecycle)
          const { ref } = yield* createLead(h, lifecycle)
          const intent = doc.intent(ref)
          const plan = Either.getOrThrow(h.adapter.plan(intent, ref))
          const before = h.fake.requests().length
          yield* h.adapter.send(intent, ref)
          const sent = requestsAfter(h.fake, before)
          assert.strictEqual(sent.length, plan.length, "send sent a different number of requests than planned")
          plan.forEach((planned, i) => {
            const actual = sent[i]
            assert.isDefined(actual)
            if (actual === undefined) return
            assert.strictEqual(actual.method, planned.method)
            assert.strictEqual(`${h.fake.url}${actual.path}`, planned.url.split("?")[0])
            assert.deepStrictEqual(actual.body ?? undefined, planned.body)
            assertNoSecret(h, JSON.stringify(planned), "a plan")
          })
          const last = sent.at(-1)
          assert.strictEqual(last?.method, doc.method)
          assert.strictEqual(last?.path, doc.path(ref))
          if (doc.body !== undefined) assert.deepStrictEqual(last?.body, doc.body(ref))
        }),
      )
    }

    for (const c of target.errorCases) {
      it.scopedLive(`maps ${c.name} to ${c.reason}`, () =>
        Effect.gen(function* () {
          const h = yield* target.harness(lifecycle)
          const { ref } = yield* createLead(h, lifecycle)
          const intent = someMove(lifecycle, ref)
          h.fake.inject({ fault: c.fault, times: 10 })
          const before = h.fake.requests().length
          const logs = captureLogs()
          const exit = yield* Effect.exit(h.adapter.send(intent, ref).pipe(Effect.provide(logs.layer)))
          const error: unknown = failureOf(exit)
          assert.instanceOf(error, CrmError.CrmError)
          if (!(error instanceof CrmError.CrmError)) return
          assert.strictEqual(error.reason._tag, c.reason, error.message)
          assert.strictEqual(error.vendor, target.vendor)
          assert.strictEqual(error.leadId, ref.leadId)
          if (c.fields !== undefined && error.reason._tag === "InvalidRequest") {
            assert.includeMembers([...error.reason.fields], [...c.fields])
          }
          const attempts = requestsAfter(h.fake, before).length
          if (CrmError.isRetryable(error.reason)) assert.isAbove(attempts, 1, "a retryable error was not retried")
          else assert.strictEqual(attempts, 1, "a non-retryable error was retried")
          assertNoSecret(
            h,
            `${error.message} ${JSON.stringify(error)} ${logs.lines.join("\n")}`,
            "an error or a log line",
          )
        }),
      )
    }

    for (const fault of target.retryableFaults) {
      it.scopedLive(`retries a ${fault._tag} fault and then succeeds`, () =>
        Effect.gen(function* () {
          const h = yield* target.harness(lifecycle)
          const { ref } = yield* createLead(h, lifecycle)
          const intent = someMove(lifecycle, ref)
          h.fake.inject({ fault, times: 1 })
          const before = h.fake.requests().length
          yield* sendAndSettle(h, intent, ref)
          assert.isAbove(requestsAfter(h.fake, before).length, 1)
          assert.strictEqual(yield* h.vendorState(ref), h.stateMap.toVendor(intent.to))
        }),
      )
    }

    it.scopedLive("a malformed 2xx body is a MalformedResponse, never a defect", () =>
      Effect.gen(function* () {
        const h = yield* target.harness(lifecycle)
        const { ref } = yield* createLead(h, lifecycle)
        for (const body of target.malformedBodies ?? ["not json", "{}", '{"success": true}', "[1,2,3]", "null"]) {
          h.fake.inject({ fault: { _tag: "Malformed", body }, times: 1 })
          const error: unknown = failureOf(yield* Effect.exit(h.adapter.send(someMove(lifecycle, ref), ref)))
          assert.instanceOf(error, CrmError.CrmError)
          if (error instanceof CrmError.CrmError) assert.strictEqual(error.reason._tag, "MalformedResponse", body)
        }
      }),
    )

    it.scopedLive("unsupported capabilities fail with Unsupported and send nothing", () =>
      Effect.gen(function* () {
        const h = yield* target.harness(lifecycle)
        const caps = h.adapter.capabilities
        const before = h.fake.requests().length
        if (!caps.create) {
          const created = start(lifecycle, { leadId: "nope", at: 0, metadata: h.leadMetadata("nope") })
          const [intent] = created.intents
          if (intent !== undefined) {
            const error: unknown = failureOf(yield* Effect.exit(h.adapter.send(intent, { leadId: "nope" })))
            assert.instanceOf(error, CrmError.CrmError)
            if (error instanceof CrmError.CrmError) assert.strictEqual(error.reason._tag, "Unsupported")
          }
        }
        if (!caps.readBack) {
          const error: unknown = failureOf(
            yield* Effect.exit(h.adapter.readBack({ leadId: "nope", vendorLeadId: "1" })),
          )
          assert.instanceOf(error, CrmError.CrmError)
          if (error instanceof CrmError.CrmError) assert.strictEqual(error.reason._tag, "Unsupported")
        }
        assert.strictEqual(h.fake.requests().length, before, "an unsupported operation sent a request")
      }),
    )

    it.scopedLive("read-back agrees with what was written", () =>
      Effect.gen(function* () {
        const h = yield* target.harness(lifecycle)
        if (!h.adapter.capabilities.readBack) return
        const { ref } = yield* createLead(h, lifecycle)
        const intent = someMove(lifecycle, ref)
        yield* sendAndSettle(h, intent, ref)
        const lead = yield* h.adapter.readBack(ref)
        assert.strictEqual(lead.vendorState, h.stateMap.toVendor(intent.to))
        assert.strictEqual(h.stateMap.toVendor(lead.state ?? "(none)"), lead.vendorState)
      }),
    )

    it.scopedLive("read-back reports the id of the last write sent with one (LeadRef.writeId)", () =>
      Effect.gen(function* () {
        const h = yield* target.harness(lifecycle)
        if (!h.adapter.capabilities.readBack) return
        const { ref } = yield* createLead(h, lifecycle)
        const writeId = `${ref.leadId}/1/0`
        const withId = { ...ref, writeId }
        yield* sendAndSettle(h, someMove(lifecycle, withId), withId)
        const lead = yield* h.adapter.readBack(ref)
        // The engine tells by this id whether a write landed (its state alone cannot).
        assert.strictEqual(lead.lastWriteId, writeId)
      }),
    )

    describe("listLeads", () => {
      it.scopedLive("declared exactly when the adapter provides it", () =>
        Effect.gen(function* () {
          const h = yield* target.harness(lifecycle)
          assert.strictEqual(
            h.adapter.listLeads !== undefined,
            h.adapter.capabilities.listLeads === true,
            "capabilities.listLeads must say whether listLeads is there",
          )
        }),
      )

      it.scopedLive("lists every lead exactly once, page by page, with its mapped state", () =>
        Effect.gen(function* () {
          const h = yield* target.harness(lifecycle)
          const listLeads = h.adapter.listLeads
          if (listLeads === undefined) return
          // 7 leads at 3 a page: three pages, the last one short. Every other lead is moved on,
          // so the states listed differ and each must come back as the one it is in.
          const expected = new Map<string, string>()
          for (let i = 0; i < 7; i++) {
            const created = yield* createLead(h, lifecycle)
            const ref: CrmAdapter.LeadRef = created.ref
            let state: string = created.snapshot.state
            if (i % 2 === 1) {
              const move = someMove(lifecycle, ref)
              yield* sendAndSettle(h, move, ref)
              state = move.to
            }
            assert.isDefined(ref.vendorLeadId)
            expected.set(ref.vendorLeadId ?? "", state)
          }
          const before = h.fake.requests().length
          const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(listLeads({ pageSize: 3 })))
          assert.isAtLeast(requestsAfter(h.fake, before).length, 3, "7 leads at 3 a page take three pages")
          assert.sameMembers(
            listed.map((lead) => lead.vendorLeadId),
            [...expected.keys()],
          )
          assert.strictEqual(listed.length, expected.size, "a lead was listed more than once")
          for (const lead of listed) {
            const state = expected.get(lead.vendorLeadId)
            assert.strictEqual(lead.state, state, `lead ${lead.vendorLeadId}`)
            assert.strictEqual(lead.vendorState, h.stateMap.toVendor(state ?? "(none)"), `lead ${lead.vendorLeadId}`)
          }
          // Lazily: the first two leads need the first page only.
          const lazyFrom = h.fake.requests().length
          const firstTwo = yield* Stream.runCollect(Stream.take(listLeads({ pageSize: 3 }), 2))
          assert.strictEqual(Chunk.size(firstTwo), 2)
          assert.strictEqual(requestsAfter(h.fake, lazyFrom).length, 1, "listLeads fetched a page nobody pulled")
        }),
      )

      it.scopedLive("a vendor 5xx on a later page ends the stream with a typed CrmError", () =>
        Effect.gen(function* () {
          const h = yield* target.harness(lifecycle)
          const listLeads = h.adapter.listLeads
          if (listLeads === undefined) return
          for (let i = 0; i < 4; i++) yield* createLead(h, lifecycle)
          const received: Array<string> = []
          const logs = captureLogs()
          const exit = yield* Effect.exit(
            listLeads({ pageSize: 3 }).pipe(
              Stream.tap((lead) =>
                Effect.sync(() => {
                  // Once the first page is in, every further request answers 503.
                  if (received.push(lead.vendorLeadId) === 1) {
                    h.fake.inject({ fault: { _tag: "Status", status: 503 }, times: 100 })
                  }
                }),
              ),
              Stream.runDrain,
              Effect.provide(logs.layer),
            ),
          )
          const error: unknown = failureOf(exit)
          assert.instanceOf(error, CrmError.CrmError)
          if (!(error instanceof CrmError.CrmError)) return
          assert.strictEqual(error.reason._tag, "VendorUnavailable", error.message)
          assert.strictEqual(error.vendor, target.vendor)
          assert.strictEqual(received.length, 3, "the first page's leads come before the failure")
          assertNoSecret(
            h,
            `${error.message} ${JSON.stringify(error)} ${logs.lines.join("\n")}`,
            "an error or a log line",
          )
        }),
      )
    })

    describe("webhooks", () => {
      it.scopedLive("fixtures decode to the documented events", () =>
        Effect.gen(function* () {
          const h = yield* target.harness(lifecycle)
          if (h.webhooks === undefined) return
          for (const f of h.webhookFixtures ?? []) {
            const events = yield* h.webhooks.decode(f.raw)
            assert.isAbove(events.length, 0, f.name)
            assert.strictEqual(events[0]?._tag, f.expect, f.name)
          }
        }),
      )

      it.scopedLive("a delivery without its authentication, or with it altered, is InvalidSignature", () =>
        Effect.gen(function* () {
          const h = yield* target.harness(lifecycle)
          const webhooks = h.webhooks
          if (webhooks === undefined) return
          for (const f of h.webhookFixtures ?? []) {
            for (const name of h.webhookAuthHeaders ?? []) {
              const without = Object.fromEntries(
                Object.entries(f.raw.headers).filter(([k]) => k.toLowerCase() !== name.toLowerCase()),
              )
              const altered = { ...without, [name]: `${f.raw.headers[name] ?? ""}x` }
              for (const headers of [without, altered]) {
                const error: unknown = failureOf(yield* Effect.exit(webhooks.decode({ headers, body: f.raw.body })))
                assert.strictEqual((error as CrmWebhooks.WebhookError | undefined)?.reason, "InvalidSignature", f.name)
                assertNoSecret(h, String((error as Error | undefined)?.message), "a webhook error")
              }
            }
          }
        }),
      )

      it.scopedLive("arbitrary bytes with valid authentication are a WebhookError, never a defect", () =>
        Effect.gen(function* () {
          const h = yield* target.harness(lifecycle)
          const webhooks = h.webhooks
          const fixture = h.webhookFixtures?.[0]
          if (webhooks === undefined || fixture === undefined) return
          const sign = (body: Uint8Array) => h.resign?.(fixture.raw, body) ?? { headers: fixture.raw.headers, body }
          const samples = fc.sample(
            fc.oneof(
              fc.uint8Array({ maxLength: 256 }),
              fc.json().map((j) => new TextEncoder().encode(j)),
              fc.jsonValue().map((j) => new TextEncoder().encode(JSON.stringify({ data: j, id: j }))),
            ),
            { numRuns: 150, seed: 42 },
          )
          for (const body of samples) {
            const exit = yield* Effect.exit(webhooks.decode(sign(body)))
            if (Exit.isFailure(exit)) {
              const error: unknown = failureOf(exit)
              assert.strictEqual((error as { readonly _tag?: string } | undefined)?._tag, "WebhookError")
            }
          }
        }),
      )
    })

    for (const lc of target.lifecycles) {
      it.scopedLive(`every shortest path of "${lc.name}" leaves the vendor in the mapped state`, () =>
        Effect.gen(function* () {
          const h = yield* target.harness(lc)
          for (const path of Paths.shortestPaths(lc)) {
            const created = yield* createLead(h, lc)
            let snapshot = created.snapshot
            const ref = created.ref
            for (const event of path.events) {
              const step = transition(lc, snapshot, event)
              if (Either.isLeft(step)) return assert.fail(`path to ${path.state}: ${step.left.message}`)
              snapshot = step.right.snapshot
              for (const intent of step.right.intents) yield* sendAndSettle(h, intent, ref)
            }
            assert.strictEqual(snapshot.state, path.state)
            assert.strictEqual(
              yield* h.vendorState(ref),
              h.stateMap.toVendor(path.state),
              `after the path to "${path.state}" the vendor holds the wrong state`,
            )
          }
        }),
      )
    }
  })
}
