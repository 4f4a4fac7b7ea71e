import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { UservoxAdapter } from "@leadstate/adapter-uservox"
import { CrmAdapter } from "@leadstate/core"
import { Cause, Effect, Either, Exit } from "effect"
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
  metadata: { name: "Priya", phone: "+919800000001" },
  at: 0,
} as const
const setState = (to: string, disposition?: string) =>
  ({
    _tag: "SetState",
    leadId: "L-1",
    from: "new",
    to,
    at: 0,
    ...(disposition === undefined ? {} : { disposition }),
  }) as const

/** Sends an update and waits for the fake's webhook to settle it. */
const sendAndSettle = (
  crm: UservoxAdapter.UservoxCrmService,
  intent: ReturnType<typeof setState>,
): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    const receipt = yield* crm.send(intent, { leadId: "L-1" })
    if (receipt._tag === "Accepted") yield* crm.awaitConfirmation(receipt, { leadId: "L-1" })
  })

describe("uservox dispositions go only with the states that take one", () => {
  it.scopedLive("by default with interested and lost: sent as the documented `disposition`", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer)
      yield* crm.send(create, { leadId: "L-1" })
      const plan = Either.getOrThrow(crm.plan(setState("lost", "bought_elsewhere"), { leadId: "L-1" }))
      assert.deepInclude(plan[0]?.body ?? {}, { targetState: "lost", disposition: "Lost to Co-dealer", metadata: {} })
      yield* sendAndSettle(crm, setState("lost", "bought_elsewhere"))
      assert.strictEqual(fake.leadByReference("L-1", PROCESS)?.lastDisposition, "Lost to Co-dealer")
      assert.strictEqual((yield* crm.readBack({ leadId: "L-1" })).disposition, "bought_elsewhere")
    }),
  )

  it.scopedLive(
    "another state: no `disposition` is sent, the plan keeps it in metadata, and read-back recovers it",
    () =>
      Effect.gen(function* () {
        const { fake, crm } = yield* setup(dealer)
        yield* crm.send(create, { leadId: "L-1" })
        const intent = setState("test_drive_booked", "showroom")
        const [planned] = Either.getOrThrow(crm.plan(intent, { leadId: "L-1" }))
        const body = planned?.body as Record<string, unknown>
        assert.notProperty(body, "disposition")
        assert.deepStrictEqual(body.metadata, {
          leadstate_disposition: "showroom",
          leadstate_disposition_state: "test_drive",
        })
        const before = fake.requests().length
        yield* sendAndSettle(crm, intent)
        assert.deepStrictEqual(fake.requests()[before]?.body, body, "sent exactly the plan")
        const lead = yield* crm.readBack({ leadId: "L-1" })
        assert.strictEqual(lead.vendorState, "test_drive")
        assert.strictEqual(lead.disposition, "showroom")
        assert.deepStrictEqual(lead.metadata, {}, "the adapter's own keys are not reported as metadata")
        // In another state the kept disposition no longer applies.
        yield* sendAndSettle(crm, setState("converted"))
        assert.isUndefined((yield* crm.readBack({ leadId: "L-1" })).disposition)
      }),
  )

  it.scopedLive("dispositionStates adds states the process configures dispositions for", () =>
    Effect.gen(function* () {
      const { fake, crm } = yield* setup(dealer, {
        dispositionStates: ["interested", "lost", "test_drive"],
        fakeDispositionStates: ["interested", "lost", "test_drive"],
      })
      yield* crm.send(create, { leadId: "L-1" })
      const [planned] = Either.getOrThrow(crm.plan(setState("test_drive_booked", "showroom"), { leadId: "L-1" }))
      assert.deepInclude(planned?.body ?? {}, { targetState: "test_drive", disposition: "showroom", metadata: {} })
      yield* sendAndSettle(crm, setState("test_drive_booked", "showroom"))
      assert.strictEqual(fake.leadByReference("L-1", PROCESS)?.lastDisposition, "showroom")
    }),
  )

  it.scoped("dispositionStates naming a state the state map does not have is an InvalidAdapterConfig", () =>
    Effect.gen(function* () {
      const { options } = yield* setup(dealer)
      const error = failure(
        yield* Effect.exit(
          UservoxAdapter.make({ ...options, dispositionStates: ["lost", "won", "interested"] }).pipe(
            Effect.provide(FetchHttpClient.layer),
          ),
        ),
      )
      assert.instanceOf(error, CrmAdapter.InvalidAdapterConfig)
      assert.include(error.message, '"dispositionStates"')
      assert.include(error.message, '"won" is not a state of the state map')
      const rate = failure(
        yield* Effect.exit(
          UservoxAdapter.make({ ...options, rateLimit: { limit: 0, intervalMs: 5_000 } }).pipe(
            Effect.provide(FetchHttpClient.layer),
          ),
        ),
      )
      assert.deepInclude(rate, { _tag: "InvalidAdapterConfig", field: "rateLimit" })
    }),
  )
})
