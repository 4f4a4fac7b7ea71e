import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { VoxysAdapter, VoxysSchema } from "@leadstate/adapter-voxys"
import { type FakeVoxysServerOptions, startFakeVoxysServer } from "@leadstate/adapter-voxys/testing"
import { type CrmAdapter, RetryPolicy, StateMap, type SyncIntent } from "@leadstate/core"
import { Cause, Effect, Either, Exit, FastCheck as fc, Layer } from "effect"
import { ACCOUNT, adapterFor, b2bLifecycle, b2bMap, dealerMap, failure, fieldsOf, options, TOKEN } from "./fixtures.js"

const LEADS = `/api/v1/accounts/${ACCOUNT}/leads`
const create = (metadata: SyncIntent.CreateLead["metadata"], state = "new"): SyncIntent.CreateLead => ({
  _tag: "CreateLead",
  leadId: "L-1",
  state,
  metadata,
  at: 0,
})
const setState = (to: string, extra: Partial<SyncIntent.SetState> = {}): SyncIntent.SetState => ({
  _tag: "SetState",
  leadId: "L-1",
  from: "new",
  to,
  at: 0,
  ...extra,
})

const start = (extra: Partial<FakeVoxysServerOptions> = {}) =>
  startFakeVoxysServer({ apiAccessToken: TOKEN, accountId: ACCOUNT, ...extra })

/** A fake server, an adapter on it and a lead created through the adapter. */
const withLead = (
  metadata: SyncIntent.CreateLead["metadata"] = { name: "Ana", source: "web" },
  extra: Partial<VoxysAdapter.VoxysOptions> = {},
  fakeOptions: { readonly customAttributesUpdate?: "replace" | "merge" } = {},
) =>
  Effect.gen(function* () {
    const fake = yield* start(fakeOptions)
    const crm = yield* adapterFor(fake.url, extra)
    const receipt = yield* crm.send(create(metadata), { leadId: "L-1" })
    const ref: CrmAdapter.LeadRef = { leadId: "L-1", vendorLeadId: receipt.vendorLeadId }
    return { fake, crm, ref, id: Number(receipt.vendorLeadId) }
  })

describe("VoxysAdapter", () => {
  it.scopedLive("creates a lead with the documented body, then sets its initial status with the tag", () =>
    Effect.gen(function* () {
      const fake = yield* start()
      const crm = yield* adapterFor(fake.url, { contactFields: { value: "budget", currency: "currency" } })
      const intent = create({ name: "Fleet renewal", budget: 42000, currency: "AED", source: "web-form", utm: "q3" })
      const plan = Either.getOrThrow(crm.plan(intent, { leadId: "L-1" }))
      assert.deepStrictEqual(
        plan.map((r) => [r.method, r.url.replace(fake.url, "")]),
        [
          ["POST", LEADS],
          ["PATCH", `${LEADS}/{id}/status`],
        ],
      )
      assert.strictEqual(plan[0]?.headers.api_access_token, "<redacted>")
      const receipt = yield* crm.send(intent, { leadId: "L-1" })
      const [post, status, ...more] = fake.requests()
      assert.strictEqual(more.length, 0)
      assert.strictEqual(post?.headers.api_access_token, TOKEN)
      assert.deepStrictEqual(post?.body, {
        custom_name: "Fleet renewal",
        lead_value: 42000,
        lead_currency: "AED",
        custom_attributes: { source: "web-form", utm: "q3", external_id: "L-1" },
      })
      assert.strictEqual(status?.path, `${LEADS}/1/status`)
      assert.deepStrictEqual(status?.body, { status: "open", notes: "[leadstate] state=new" })
      assert.deepStrictEqual(receipt, { _tag: "Confirmed", vendorLeadId: "1", vendorState: "open" })
      assert.strictEqual(fake.lead(1)?.notes, "[leadstate] state=new")
    }),
  )

  it.scopedLive("names the lead after our id without a name, and creates in a non-open state", () =>
    Effect.gen(function* () {
      const fake = yield* start()
      const crm = yield* adapterFor(fake.url)
      const receipt = yield* crm.send(create({ name: 42 }, "snoozed"), { leadId: "L-1" })
      assert.deepStrictEqual(fake.requests()[0]?.body, {
        custom_name: "L-1",
        custom_attributes: { name: 42, external_id: "L-1" },
      })
      assert.strictEqual(receipt._tag === "Confirmed" ? receipt.vendorState : "", "snoozed")
      assert.strictEqual(fake.lead(1)?.status, "snoozed")
    }),
  )

  it.scopedLive("does not create a second lead when a create timed out after reaching Voxys", () =>
    Effect.gen(function* () {
      const fake = yield* start()
      const crm = yield* adapterFor(fake.url, {
        retry: { ...RetryPolicy.defaults, baseDelayMs: 500, jitter: 0, requestTimeoutMs: 300 },
      })
      // The first POST is answered after 500 ms (the lead exists then); the adapter gives up at 300 ms.
      fake.inject({ fault: { _tag: "Latency", ms: 500 }, method: "POST", path: LEADS })
      const receipt = yield* crm.send(create({ name: "Ana" }), { leadId: "L-1" })
      assert.strictEqual(fake.leads().length, 1)
      assert.strictEqual(receipt.vendorLeadId, "1")
      assert.deepStrictEqual(
        fake.requests().map((r) => r.method),
        ["POST", "GET", "PATCH"],
      )
    }),
  )

  it.scopedLive("sends a status change with the notes tag; read-back recovers the exact state and disposition", () =>
    Effect.gen(function* () {
      const { fake, crm, ref, id } = yield* withLead()
      const intent = setState("interested", { disposition: "price_inquiry", note: "asked about the hybrid\ntwice" })
      const before = fake.requests().length
      const receipt = yield* crm.send(intent, ref)
      const sent = fake.requests().slice(before)
      assert.strictEqual(sent.length, 1)
      assert.strictEqual(sent[0]?.method, "PATCH")
      assert.strictEqual(sent[0]?.path, `${LEADS}/${id}/status`)
      assert.deepStrictEqual(sent[0]?.body, {
        status: "open",
        notes: "[leadstate] state=interested disposition=price_inquiry\nasked about the hybrid\ntwice",
      })
      assert.deepStrictEqual(receipt, { _tag: "Confirmed", vendorLeadId: String(id), vendorState: "open" })
      const back = yield* crm.readBack(ref)
      assert.strictEqual(back.state, "interested", "not the reverse of open (contacted)")
      assert.strictEqual(back.disposition, "price_inquiry")
      assert.deepStrictEqual(back.metadata, { name: "Ana", source: "web", external_id: "L-1" })
    }),
  )

  it.scopedLive("snoozes with status snoozed (Voxys keeps no wake-up time)", () =>
    Effect.gen(function* () {
      const { fake, crm, ref, id } = yield* withLead()
      yield* crm.send(setState("snoozed", { snoozeUntil: Date.parse("2026-12-01T00:00:00Z") }), ref)
      assert.strictEqual(fake.lead(id)?.status, "snoozed")
      assert.strictEqual(fake.lead(id)?.notes, "[leadstate] state=snoozed")
    }),
  )

  it.scopedLive("read-back of a status changed in the Voxys UI uses the reverse map and drops the stale tag", () =>
    Effect.gen(function* () {
      const { fake, crm, ref, id } = yield* withLead()
      yield* crm.send(setState("lost", { disposition: "wrong_number" }), ref)
      fake.setStatusAtVendor(id, "open")
      const back = yield* crm.readBack(ref)
      assert.strictEqual(back.vendorState, "open")
      assert.strictEqual(back.state, "contacted")
      assert.strictEqual(back.disposition, undefined)
    }),
  )

  it.scopedLive("converts the lead into a deal when it enters the convert state, once", () =>
    Effect.gen(function* () {
      const convert = { state: "converted", funnelId: 3, funnelStageId: 8 }
      const { fake, crm, ref, id } = yield* withLead(undefined, { convert })
      yield* crm.send(setState("test_drive_booked"), ref)
      assert.strictEqual(fake.cards().length, 0, "no deal before the convert state")
      const intent = setState("converted", { from: "test_drive_booked", disposition: "financed" })
      const before = fake.requests().length
      yield* crm.send(intent, ref)
      const sent = fake.requests().slice(before)
      assert.deepStrictEqual(
        sent.map((r) => [r.method, r.path, r.body]),
        [
          [
            "PATCH",
            `${LEADS}/${id}/status`,
            { status: "won", notes: "[leadstate] state=converted disposition=financed" },
          ],
          ["POST", `${LEADS}/${id}/convert`, { funnel_id: 3, funnel_stage_id: 8 }],
        ],
      )
      // Sent again (a retry): Voxys refuses a second card (422 lead_id taken), which is success.
      yield* crm.send(intent, ref)
      const cards = fake.cards()
      assert.strictEqual(cards.length, 1)
      assert.deepStrictEqual([cards[0]?.funnel_id, cards[0]?.funnel_stage_id, cards[0]?.lead.id], [3, 8, id])
      assert.strictEqual(fake.lead(id)?.status, "won")
    }),
  )

  it.scopedLive("a conversion refused for another reason fails the SetState", () =>
    Effect.gen(function* () {
      const { crm, ref } = yield* withLead(undefined, { convert: { state: "converted", funnelId: 99 } })
      const error = failure(yield* Effect.exit(crm.send(setState("converted"), ref)))
      assert.strictEqual(error.reason._tag, "NotFound")
      assert.strictEqual(error.operation, "ConvertLead")
    }),
  )

  for (const mode of ["replace", "merge"] as const) {
    it.scopedLive(`merges metadata by reading the lead first (Voxys ${mode}s custom_attributes)`, () =>
      Effect.gen(function* () {
        const { fake, crm, ref, id } = yield* withLead(
          { name: "Ana", source: "web", old: "x" },
          { contactFields: { value: "budget" } },
          { customAttributesUpdate: mode },
        )
        const intent: SyncIntent.MergeMetadata = {
          _tag: "MergeMetadata",
          leadId: "L-1",
          metadata: { score: 72, old: null, external_id: null, budget: 9000, name: "Ana Ruiz" },
          at: 0,
        }
        const plan = Either.getOrThrow(crm.plan(intent, ref))
        assert.deepStrictEqual(
          plan.map((r) => [r.method, r.url.replace(fake.url, ""), r.body]),
          [
            ["GET", `${LEADS}/${id}`, undefined],
            [
              "PATCH",
              `${LEADS}/${id}`,
              {
                custom_name: "Ana Ruiz",
                lead_value: 9000,
                custom_attributes: { score: 72, old: null, external_id: null },
              },
            ],
          ],
        )
        const before = fake.requests().length
        yield* crm.send(intent, ref)
        const sent = fake.requests().slice(before)
        assert.deepStrictEqual(
          sent.map((r) => r.method),
          ["GET", "PATCH"],
        )
        assert.deepStrictEqual(sent[1]?.body, {
          custom_name: "Ana Ruiz",
          lead_value: 9000,
          custom_attributes: { source: "web", score: 72, old: null, external_id: "L-1" },
        })
        const lead = fake.lead(id)
        assert.deepStrictEqual(lead?.custom_attributes, { source: "web", score: 72, old: null, external_id: "L-1" })
        assert.strictEqual(lead?.custom_name, "Ana Ruiz")
        assert.strictEqual(lead?.notes, "[leadstate] state=new", "the tag survives a metadata update")
        const back = yield* crm.readBack(ref)
        assert.deepStrictEqual(back.metadata, {
          name: "Ana Ruiz",
          budget: 9000,
          source: "web",
          score: 72,
          external_id: "L-1",
        })
      }),
    )
  }

  it.scopedLive("metadata that comes with a transition is merged after the status change", () =>
    Effect.gen(function* () {
      const { fake, crm, ref, id } = yield* withLead()
      const before = fake.requests().length
      yield* crm.send(setState("contacted", { metadata: { outcome: "voicemail" } }), ref)
      const sent = fake.requests().slice(before)
      assert.deepStrictEqual(
        sent.map((r) => [r.method, r.path]),
        [
          ["PATCH", `${LEADS}/${id}/status`],
          ["PATCH", `${LEADS}/${id}`],
        ],
      )
      assert.deepStrictEqual(fake.lead(id)?.custom_attributes, {
        source: "web",
        outcome: "voicemail",
        external_id: "L-1",
      })
    }),
  )

  it.scopedLive("an answer with another status than the one sent is VendorIgnoredWrite", () =>
    Effect.gen(function* () {
      const { fake, crm, ref, id } = yield* withLead()
      const lead = fake.lead(id)
      fake.inject({
        fault: { _tag: "Status", status: 200, body: { ...lead, status: "open" } },
        method: "PATCH",
        path: `${LEADS}/${id}/status`,
      })
      const error = failure(yield* Effect.exit(crm.send(setState("lost", { disposition: "wrong_number" }), ref)))
      assert.deepStrictEqual(error.reason, {
        _tag: "VendorIgnoredWrite",
        expected: "lost",
        actual: "open",
        detail: `Voxys answered with status "open" instead of "lost" for lead ${id}`,
      })
      assert.strictEqual(error.leadId, "L-1")
    }),
  )

  it.scopedLive("refuses a missing or non-numeric vendor id before sending anything", () =>
    Effect.gen(function* () {
      const fake = yield* start()
      const crm = yield* adapterFor(fake.url)
      for (const vendorLeadId of [undefined, "lead_1", "0", "12abc", "../1", "1e3", "-4", " 7"]) {
        const ref = { leadId: "L-1", vendorLeadId }
        const intents: ReadonlyArray<SyncIntent.SyncIntent> = [
          setState("contacted"),
          { _tag: "MergeMetadata", leadId: "L-1", metadata: { a: 1 }, at: 0 },
        ]
        for (const intent of intents) {
          const planned = crm.plan(intent, ref)
          assert.isTrue(Either.isLeft(planned))
          const error = failure(yield* Effect.exit(crm.send(intent, ref)))
          assert.deepStrictEqual(fieldsOf(error), ["vendorLeadId"], String(vendorLeadId))
        }
        assert.deepStrictEqual(fieldsOf(failure(yield* Effect.exit(crm.readBack(ref)))), ["vendorLeadId"])
        if (vendorLeadId !== undefined) {
          assert.deepStrictEqual(fieldsOf(failure(yield* Effect.exit(crm.get(vendorLeadId)))), ["vendorLeadId"])
          assert.deepStrictEqual(fieldsOf(failure(yield* Effect.exit(crm.remove(vendorLeadId)))), ["vendorLeadId"])
        }
      }
      assert.strictEqual(fake.requests().length, 0)
    }),
  )

  it.scopedLive("lists 300 leads page by page (per_page capped at 100), every lead exactly once", () =>
    Effect.gen(function* () {
      const fake = yield* start()
      for (let i = 0; i < 300; i++) fake.putLead({ status: i % 3 === 0 ? "won" : "open" })
      const crm = yield* adapterFor(fake.url)
      const seen: Array<number> = []
      for (let page = 1; ; page++) {
        const result = yield* crm.list({ page, perPage: 500, sortBy: "created_at", sortOrder: "asc" })
        assert.isAtMost(result.data.length, 100)
        seen.push(...result.data.map((l) => l.id))
        if (page >= result.meta.total_pages) break
      }
      assert.strictEqual(seen.length, 300)
      assert.strictEqual(new Set(seen).size, 300)
      assert.strictEqual(fake.requests()[0]?.query.per_page, "100")
      const won = yield* crm.list({ status: "won", perPage: 100 })
      assert.strictEqual(won.meta.total_count, 100)
      assert.isTrue(won.data.every((l) => l.status === "won"))
    }),
  )

  it.scopedLive("bulk status change reports every lead it could not change, with the reason", () =>
    Effect.gen(function* () {
      const fake = yield* start()
      const a = fake.putLead()
      const b = fake.putLead()
      const crm = yield* adapterFor(fake.url)
      const all = yield* crm.bulkSetStatus([String(a.id), String(b.id)], "won")
      assert.deepStrictEqual(all, { updated: [String(a.id), String(b.id)], failed: [] })
      assert.strictEqual(fake.requests().length, 1, "a full count needs no read-back")
      assert.deepStrictEqual(fake.requests()[0]?.body, {
        lead_ids: [a.id, b.id],
        action_type: "status_change",
        params: { status: "won" },
      })
      const outcome = yield* crm.bulkSetStatus([String(a.id), "999", "abc", String(b.id)], "lost")
      assert.deepStrictEqual(outcome.updated, [String(a.id), String(b.id)])
      assert.deepStrictEqual(
        outcome.failed.map((f) => [f.id, f.reason._tag]),
        [
          ["abc", "InvalidRequest"],
          ["999", "NotFound"],
        ],
      )
      assert.strictEqual(fake.lead(a.id)?.status, "lost")
      assert.deepStrictEqual(fake.requests().at(-4)?.body, {
        lead_ids: [a.id, 999, b.id],
        action_type: "status_change",
        params: { status: "lost" },
      })
    }),
  )

  it.scopedLive("adds notes, deletes a lead, and then finds it gone", () =>
    Effect.gen(function* () {
      const { fake, crm, id } = yield* withLead()
      const note = yield* crm.addNote(String(id), "Called, left voicemail")
      assert.strictEqual(note.content, "Called, left voicemail")
      assert.deepStrictEqual(
        fake.notes(id).map((n) => n.content),
        ["Called, left voicemail"],
      )
      assert.strictEqual(fake.lead(id)?.notes, "[leadstate] state=new", "the notes field is untouched")
      yield* crm.remove(String(id))
      assert.strictEqual(fake.lead(id), undefined)
      assert.strictEqual(failure(yield* Effect.exit(crm.get(String(id)))).reason._tag, "NotFound")
      assert.strictEqual(failure(yield* Effect.exit(crm.remove(String(id)))).reason._tag, "NotFound")
    }),
  )

  it("classifies every documented and defensive error body", () => {
    const reason = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      VoxysAdapter.classify({ status, headers, body })
    assert.deepStrictEqual(
      reason(422, { errors: { custom_name: ["can't be blank"], status: ["is not included in the list"] } }),
      {
        _tag: "InvalidRequest",
        detail: "HTTP 422: custom_name can't be blank; status is not included in the list",
        fields: ["custom_name", "status"],
      },
    )
    assert.deepStrictEqual(reason(422, { errors: ["Name is too long"] }), {
      _tag: "InvalidRequest",
      detail: "HTTP 422: Name is too long",
      fields: [],
    })
    assert.deepStrictEqual(
      reason(422, { description: "Invalid", errors: [{ field: "email", message: "is invalid", code: "invalid" }] }),
      { _tag: "InvalidRequest", detail: "HTTP 422: Invalid; email is invalid", fields: ["email"] },
    )
    assert.deepStrictEqual(reason(401, { error: "Unauthorized" }), {
      _tag: "Unauthorized",
      detail: "HTTP 401: Unauthorized",
    })
    assert.deepStrictEqual(reason(404, { error: "Lead not found" }), {
      _tag: "NotFound",
      detail: "HTTP 404: Lead not found",
    })
    assert.deepStrictEqual(reason(429, "", { "retry-after": "3" }), {
      _tag: "RateLimited",
      detail: "HTTP 429: no detail given",
      retryAfterMs: 3000,
    })
    assert.strictEqual(reason(503, null)._tag, "VendorUnavailable")
    assert.strictEqual(reason(500, "<html>oops</html>")._tag, "VendorUnavailable")
  })

  it("writes and reads the notes tag", () => {
    const notes = VoxysSchema.formatNotes("lost", "no answer", "line 1\nline 2")
    assert.strictEqual(notes, "[leadstate] state=lost disposition=no%20answer\nline 1\nline 2")
    assert.deepStrictEqual(VoxysSchema.parseNotes(notes), {
      state: "lost",
      disposition: "no answer",
      writeId: undefined,
      note: "line 1\nline 2",
    })
    assert.deepStrictEqual(VoxysSchema.parseNotes("Chose a competitor"), {
      state: undefined,
      disposition: undefined,
      writeId: undefined,
      note: "Chose a competitor",
    })
    assert.deepStrictEqual(VoxysSchema.parseNotes(null), {
      state: undefined,
      disposition: undefined,
      writeId: undefined,
      note: undefined,
    })
    assert.deepStrictEqual(VoxysSchema.parseNotes("[leadstate] state=%E0%A4"), {
      state: undefined,
      disposition: undefined,
      writeId: undefined,
      note: undefined,
    })
  })

  it("writes and reads a write id in the notes tag", () => {
    const notes = VoxysSchema.formatNotes("lost", "no answer", "a note", "L/1/7/0")
    assert.strictEqual(notes, "[leadstate] state=lost disposition=no%20answer write=L%2F1%2F7%2F0\na note")
    assert.deepStrictEqual(VoxysSchema.parseNotes(notes), {
      state: "lost",
      disposition: "no answer",
      writeId: "L/1/7/0",
      note: "a note",
    })
    assert.strictEqual(VoxysSchema.parseNotes("[leadstate] state=open write=L-1%2F2%2F0").writeId, "L-1/2/0")
  })

  it.prop(
    "the notes tag round-trips state, disposition, write id and note",
    {
      state: fc.string({ minLength: 1 }),
      disposition: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
      writeId: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
      note: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
    },
    ({ state, disposition, writeId, note }) => {
      const notes = VoxysSchema.formatNotes(state, disposition, note, ...(writeId === undefined ? [] : [writeId]))
      assert.deepStrictEqual(VoxysSchema.parseNotes(notes), { state, disposition, writeId, note })
    },
  )

  it.effect("fails to build with a message naming every unmapped state and a bad convert state", () =>
    Effect.gen(function* () {
      const { followup_2: _f2, snoozed: _s, ...partial } = dealerMap.states
      const exit = yield* Effect.exit(
        Layer.build(
          VoxysAdapter.layer(
            options("http://127.0.0.1:1", {
              stateMap: { ...dealerMap, states: partial },
              convert: { state: "sold", funnelId: 3 },
            }),
          ),
        ).pipe(Effect.provide(FetchHttpClient.layer), Effect.scoped),
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isSuccess(exit)) return
      const error = Cause.failureOption(exit.cause)
      assert.isTrue(error._tag === "Some" && error.value instanceof StateMap.InvalidStateMap)
      const message = error._tag === "Some" ? error.value.message : ""
      assert.include(message, 'state "followup_2" is not mapped')
      assert.include(message, 'state "snoozed" is not mapped')
      assert.include(message, 'convert.state "sold" is not a state of lifecycle "auto-dealer-voice"')
    }),
  )

  it.effect("refuses an account id that is not a positive integer at build time, typed", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        VoxysAdapter.make(options("http://127.0.0.1:1", { accountId: 1.5 })).pipe(
          Effect.provide(FetchHttpClient.layer),
        ),
      )
      assert.isTrue(Exit.isFailure(exit) && Cause.isFailType(exit.cause))
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined
      assert.strictEqual(error?._tag === "Some" ? error.value._tag : undefined, "InvalidAdapterConfig")
      assert.include(error?._tag === "Some" ? error.value.message : "", "must be a positive integer")
      assert.include(error?._tag === "Some" ? error.value.message : "", "got 1.5")
    }),
  )

  it.effect("fails to build when a shared status has no reverse or a status is not Voxys'", () =>
    Effect.gen(function* () {
      const { reverse: _r, ...noReverse } = b2bMap
      const build = (stateMap: StateMap.StateMapConfig) =>
        Effect.flip(
          VoxysAdapter.make(options("http://127.0.0.1:1", { lifecycle: b2bLifecycle, stateMap })).pipe(
            Effect.provide(FetchHttpClient.layer),
          ),
        )
      assert.include((yield* build(noReverse)).message, 'declare reverse["open"]')
      const closed = yield* build({ ...b2bMap, states: { ...b2bMap.states, won: "closed" } })
      assert.include(closed.message, 'state "won" maps to "closed", which voxys does not know')
    }),
  )

  it.scopedLive("reads lead_value sent as a decimal string (Rails decimals) as a number", () =>
    Effect.gen(function* () {
      const { fake, crm, id } = yield* withLead()
      const lead = fake.lead(id)
      fake.inject({
        path: `${LEADS}/${id}`,
        fault: { _tag: "Status", status: 200, body: { ...lead, lead_value: "15000.0" } },
      })
      assert.strictEqual((yield* crm.get(String(id))).lead_value, 15000)
    }),
  )
})
