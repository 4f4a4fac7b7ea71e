import { assert, describe, it } from "@effect/vitest"
import { CrmError } from "@leadstate/core"
import { Cause, Effect, Exit, TestClock } from "effect"
import { API_TOKEN, CALLBACK_TOKEN, dealer, PROCESS, PROJECT, setup } from "./fixtures.js"

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const f = Cause.failureOption(exit.cause)
  if (f._tag === "None") throw new Error(Cause.pretty(exit.cause))
  return f.value
}

const contact = { name: "Priya", phone: "+919800000001", city: "Pune" }
const createIntent = (leadId: string, metadata: Record<string, string> = contact) =>
  ({ _tag: "CreateLead", leadId, state: "new", metadata, at: 0 }) as const
const setState = (leadId: string, to: string, extra: Record<string, unknown> = {}) =>
  ({ _tag: "SetState", leadId, from: "new", to, at: 0, ...extra }) as const

describe("UservoxAdapter", () => {
  it.scopedLive("creates with POST /leads/initiate: the lead object, referenceId = our id, init false", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer)
      const receipt = yield* crm.send(createIntent("L-1"), { leadId: "L-1" })
      const [request] = fake.requests()
      assert.strictEqual(request?.path, "/api/v1/leads/initiate")
      assert.strictEqual(request?.headers.authorization, `Bearer ${API_TOKEN}`)
      assert.deepStrictEqual(request?.body, {
        lead: {
          projectId: PROJECT,
          processId: PROCESS,
          name: "Priya",
          phone: "+919800000001",
          referenceId: "L-1",
          metadata: { city: "Pune" },
        },
        init: false,
      })
      assert.strictEqual(receipt._tag, "Confirmed")
      assert.match(receipt.vendorLeadId ?? "", /^[0-9a-f]{24}$/)
      assert.isFalse(fake.initiated(receipt.vendorLeadId ?? ""))
      yield* crm.startCalling({ leadId: "L-1", vendorLeadId: receipt.vendorLeadId })
      assert.deepStrictEqual(fake.requests()[1]?.body, { leadId: receipt.vendorLeadId })
      assert.isTrue(fake.initiated(receipt.vendorLeadId ?? ""))
    }),
  )

  it.scopedLive("a transition is pending until the update webhook confirms it", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer, { updateDelayMs: 100 })
      yield* crm.send(createIntent("L-1"), { leadId: "L-1" })
      const receipt = yield* crm.send(setState("L-1", "interested", { disposition: "price_inquiry" }), {
        leadId: "L-1",
      })
      assert.strictEqual(receipt._tag, "Accepted")
      assert.strictEqual(yield* crm.pendingCount, 1)
      assert.strictEqual(fake.leadByReference("L-1", PROCESS)?.currentState, "new_lead", "not applied yet")
      if (receipt._tag !== "Accepted") return
      const confirmed = yield* crm.awaitConfirmation(receipt, { leadId: "L-1" })
      assert.strictEqual(confirmed.vendorState, "interested")
      assert.strictEqual(yield* crm.pendingCount, 0)
      assert.strictEqual(fake.leadByReference("L-1", PROCESS)?.lastDisposition, "price_inquiry")
    }),
  )

  it.scopedLive("a call in progress rolls the transition back with a retryable CallInProgress", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer)
      const created = yield* crm.send(createIntent("L-1"), { leadId: "L-1" })
      fake.callInProgress(created.vendorLeadId ?? "", true)
      const receipt = yield* crm.send(setState("L-1", "contacted"), { leadId: "L-1" })
      if (receipt._tag !== "Accepted") return assert.fail("expected Accepted")
      const error = failure(yield* Effect.exit(crm.awaitConfirmation(receipt, { leadId: "L-1" })))
      assert.strictEqual(error.reason._tag, "CallInProgress")
      assert.isTrue(CrmError.isRetryable(error.reason))
      assert.strictEqual(fake.leadByReference("L-1", PROCESS)?.currentState, "new_lead")
    }),
  )

  it.scopedLive("no webhook in time: the lead is read back and settled from currentState", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer, { confirmTimeoutMs: 200 })
      yield* crm.send(createIntent("L-1"), { leadId: "L-1" })
      fake.webhookFaults({ drop: 1 })
      const receipt = yield* crm.send(setState("L-1", "contacted"), { leadId: "L-1" })
      if (receipt._tag !== "Accepted") return assert.fail("expected Accepted")
      const confirmed = yield* crm.awaitConfirmation(receipt, { leadId: "L-1" })
      assert.strictEqual(confirmed.vendorState, "make_first_call")
      assert.isTrue(
        fake.requests().some((r) => r.path === "/api/v1/leads/get"),
        "read back",
      )
    }),
  )

  it.scopedLive("no webhook, and the vendor did not apply it: VendorIgnoredWrite", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer, { confirmTimeoutMs: 200 })
      const created = yield* crm.send(createIntent("L-1"), { leadId: "L-1" })
      fake.webhookFaults({ drop: 1 })
      fake.callInProgress(created.vendorLeadId ?? "", true)
      const receipt = yield* crm.send(setState("L-1", "contacted"), { leadId: "L-1" })
      if (receipt._tag !== "Accepted") return assert.fail("expected Accepted")
      const error = failure(yield* Effect.exit(crm.awaitConfirmation(receipt, { leadId: "L-1" })))
      assert.deepInclude(error.reason, { _tag: "VendorIgnoredWrite", expected: "make_first_call", actual: "new_lead" })
    }),
  )

  it.scopedLive("activity webhooks become lead events; duplicates and stale reorders are dropped", () =>
    Effect.gen(function* () {
      const { fake, crm, changes } = yield* setup(dealer)
      const created = yield* crm.send(createIntent("L-1"), { leadId: "L-1" })
      const id = created.vendorLeadId ?? ""
      fake.webhookFaults({ duplicate: 1 })
      fake.completeCall(id, { toState: "make_first_call", disposition: "Attempted", dispositionType: "neutral" })
      yield* Effect.promise(() => fake.flushWebhooks())
      fake.webhookFaults({ reorder: 1 })
      fake.completeCall(id, {
        toState: "interested",
        disposition: "Interested - Follow Up",
        dispositionType: "neutral",
      })
      yield* Effect.sleep("5 millis") // distinct timestamps: the later call is the newer one
      fake.completeCall(id, { toState: "test_drive", disposition: "Showroom", dispositionType: "success" })
      fake.webhookFaults({})
      yield* Effect.promise(() => fake.flushWebhooks())
      yield* Effect.sleep("50 millis")
      assert.deepStrictEqual(
        changes.map((c) => (c.event.type === "transition" ? c.event.to : c.event.type)),
        ["contacted", "test_drive_booked"],
        "the duplicate is dropped; the older call delivered late does not regress the lead",
      )
      const first = changes[0]?.event
      assert.deepInclude(first ?? {}, {
        type: "transition",
        to: "contacted",
        disposition: "Attempted",
        actor: "uservox:call",
      })
    }),
  )

  it.scopedLive("the webhook endpoint refuses a wrong token with 401 and garbage with 400", () =>
    Effect.gen(function* () {
      const { receiver } = yield* setup(dealer)
      const post = (headers: Record<string, string>, body: string) =>
        Effect.promise(() => fetch(receiver.url, { method: "POST", headers, body }).then((r) => r.status))
      assert.strictEqual(yield* post({ authorization: "Bearer nope" }, "{}"), 401)
      assert.strictEqual(yield* post({ authorization: `Bearer ${CALLBACK_TOKEN}` }, "{not json"), 400)
      assert.strictEqual(yield* post({ authorization: `Bearer ${CALLBACK_TOKEN}` }, '{"action_type":"update"}'), 200)
    }),
  )

  it.scopedLive("bulk initiate: chunks of 1000, every lead reported as created or failed", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer, { rateLimit: { limit: 1000, intervalMs: 1000 } })
      const leads = Array.from({ length: 2300 }, (_, i) => ({
        leadId: `B-${i}`,
        metadata:
          i % 500 === 7
            ? { name: `Lead ${i}`, phone: "+911111111111" } // repeating digits: refused by uservox
            : i === 42
              ? { city: "no contact fields" }
              : { name: `Lead ${i}`, phone: `+9198${String(10_000_000 + i).padStart(8, "0")}` },
      }))
      const result = yield* crm.bulkInitiate(leads)
      const bulkRequests = fake.requests().filter((r) => r.path === "/api/v1/leads/bulk/initiate")
      assert.deepStrictEqual(
        bulkRequests.map((r) => ((r.body as { leads: ReadonlyArray<unknown> }).leads ?? []).length),
        [1000, 1000, 299],
      )
      assert.strictEqual(result.created.length + result.failed.length, 2300, "no lead is dropped")
      assert.strictEqual(result.failed.length, 6)
      assert.sameMembers(
        result.failed.map((f) => f.leadId),
        ["B-7", "B-507", "B-1007", "B-1507", "B-2007", "B-42"],
      )
    }),
  )

  it.scopedLive("the 60-minute duplicate block is not retried", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer)
      fake.inject({
        fault: {
          _tag: "Status",
          status: 429,
          body: { success: false, error: "API key temporarily blocked due to repeated duplicate submissions" },
        },
        times: 5,
      })
      const error = failure(yield* Effect.exit(crm.send(createIntent("L-1"), { leadId: "L-1" })))
      assert.deepInclude(error.reason, { _tag: "RateLimited", blocked: true })
      assert.strictEqual(fake.requests().length, 1)
    }),
  )

  it.scopedLive("a create without contact fields fails before any request, naming them", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer)
      const error = failure(yield* Effect.exit(crm.send(createIntent("L-1", { city: "Pune" }), { leadId: "L-1" })))
      assert.deepInclude(error.reason, { _tag: "InvalidRequest", fields: ["name", "phone"] })
      assert.strictEqual(fake.requests().length, 0)
    }),
  )

  it.scoped("updates nobody settles are forgotten after ten minutes, so the pending map cannot grow forever", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer)
      fake.webhookFaults({ drop: 1 })
      yield* crm.send(createIntent("L-1"), { leadId: "L-1" })
      yield* crm.send(setState("L-1", "contacted"), { leadId: "L-1" })
      assert.strictEqual(yield* crm.pendingCount, 1)
      yield* TestClock.adjust("11 minutes")
      yield* crm.send(setState("L-1", "interested"), { leadId: "L-1" })
      assert.strictEqual(yield* crm.pendingCount, 1, "the old entry is forgotten, the new one kept")
    }),
  )

  it.scopedLive(
    "a bulk answer without referenceIds (the documented item shape) is settled by looking each lead up",
    () =>
      Effect.gen(function* () {
        const { fake, crm } = yield* setup(dealer)
        const there = fake.putLead({
          processId: PROCESS,
          projectId: PROJECT,
          referenceId: "B-1",
          name: "Ravi",
          phone: "+919800000011",
        })
        fake.inject({
          path: "/api/v1/leads/bulk/initiate",
          fault: {
            _tag: "Status",
            status: 200,
            body: { success: [{ _id: there._id, name: "Ravi", currentState: "new_lead" }], errors: [] },
          },
        })
        const result = yield* crm.bulkInitiate([
          { leadId: "B-1", metadata: { name: "Ravi", phone: "+919800000011" } },
          { leadId: "B-2", metadata: { name: "Asha", phone: "+919800000012" } },
        ])
        assert.deepStrictEqual(result.created, [{ leadId: "B-1", vendorLeadId: there._id }])
        assert.deepStrictEqual(
          result.failed.map((f) => [f.leadId, f.reason._tag]),
          [["B-2", "MalformedResponse"]],
        )
      }),
  )

  it.scopedLive("a create re-sent after an earlier attempt went through is recognised by its referenceId", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer)
      // An earlier attempt created the lead, but its answer never came back (a crash, a reset).
      const earlier = fake.putLead({
        processId: PROCESS,
        projectId: PROJECT,
        referenceId: "L-1",
        name: "Priya",
        phone: "+919800000001",
      })
      const receipt = yield* crm.send(createIntent("L-1"), { leadId: "L-1" })
      assert.strictEqual(receipt.vendorLeadId, earlier._id)
      assert.strictEqual(fake.leads().length, 1)
      assert.deepStrictEqual(
        fake.requests().map((r) => r.path),
        ["/api/v1/leads/initiate", "/api/v1/leads/get"],
      )
    }),
  )

  it.scopedLive("a duplicate phone (another lead) stays a DuplicateLead", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer)
      fake.putLead({
        processId: PROCESS,
        projectId: PROJECT,
        referenceId: "OTHER",
        name: "Someone",
        phone: "+919800000001",
      })
      const error = failure(yield* Effect.exit(crm.send(createIntent("L-1"), { leadId: "L-1" })))
      assert.strictEqual(error.reason._tag, "DuplicateLead")
    }),
  )

  it.scopedLive("an update answered with success: false is a refusal, not a malformed answer", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer)
      yield* crm.send(createIntent("L-1"), { leadId: "L-1" })
      fake.inject({
        path: "/api/v1/leads/update",
        fault: { _tag: "Status", status: 200, body: { success: false, message: "queue full" } },
      })
      const error = failure(yield* Effect.exit(crm.send(setState("L-1", "contacted"), { leadId: "L-1" })))
      assert.deepInclude(error.reason, { _tag: "InvalidRequest" })
      assert.include(error.message, "queue full")
    }),
  )
})
