import { FetchHttpClient } from "@effect/platform"
import { VoxysAdapter } from "@leadstate/adapter-voxys"
import { autoDealer, b2b, CrmError, Lifecycle, RetryPolicy, type StateMap } from "@leadstate/core"
import { Cause, Effect, Exit, Redacted } from "effect"

export const dealer = Lifecycle.unsafeMake(autoDealer)
export const b2bLifecycle = Lifecycle.unsafeMake(b2b)

export const TOKEN = "vx_user_token_3f9a1c7e5b2d4086a1e9"
export const ACCOUNT = 7

/** Auto-dealer states onto Voxys' four statuses; open is shared, so it needs a reverse. */
export const dealerMap: StateMap.StateMapConfig = {
  states: {
    new: "open",
    contacted: "open",
    followup_1: "open",
    followup_2: "open",
    followup_3: "open",
    interested: "open",
    test_drive_booked: "open",
    converted: "won",
    lost: "lost",
    snoozed: "snoozed",
  },
  reverse: { open: "contacted" },
}

export const b2bMap: StateMap.StateMapConfig = {
  states: { new: "open", qualified: "open", proposal_sent: "open", won: "won", lost: "lost" },
  reverse: { open: "qualified" },
}

export const mapFor = (lifecycle: Lifecycle.Lifecycle): StateMap.StateMapConfig =>
  lifecycle.name === b2bLifecycle.name ? b2bMap : dealerMap

/** Small real delays, so retries stay fast; a 1 s Retry-After is still honoured. */
export const fastRetry: RetryPolicy.RetryPolicy = {
  ...RetryPolicy.defaults,
  baseDelayMs: 2,
  maxDelayMs: 1_500,
  jitter: 0,
  requestTimeoutMs: 500,
}

export const options = (
  baseUrl: string,
  extra: Partial<VoxysAdapter.VoxysOptions> = {},
): VoxysAdapter.VoxysOptions => ({
  lifecycle: dealer,
  stateMap: dealerMap,
  baseUrl,
  accountId: ACCOUNT,
  apiAccessToken: Redacted.make(TOKEN),
  retry: fastRetry,
  ambiguous: { settleMs: 100 },
  ...extra,
})

export const adapterFor = (baseUrl: string, extra: Partial<VoxysAdapter.VoxysOptions> = {}) =>
  VoxysAdapter.make(options(baseUrl, extra)).pipe(Effect.provide(FetchHttpClient.layer))

/** The typed failure of an exit (fails the test on success or a defect). */
export const failure = <A>(exit: Exit.Exit<A, CrmError.CrmError>): CrmError.CrmError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const f = Cause.failureOption(exit.cause)
  if (f._tag === "None") throw new Error(Cause.pretty(exit.cause))
  return f.value
}

export const fieldsOf = (error: CrmError.CrmError): ReadonlyArray<string> =>
  error.reason._tag === "InvalidRequest" ? error.reason.fields : []

export { CrmError }
