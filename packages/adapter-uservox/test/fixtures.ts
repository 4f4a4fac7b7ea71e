import { FetchHttpClient } from "@effect/platform"
import { UservoxAdapter } from "@leadstate/adapter-uservox"
import { startFakeUservoxServer } from "@leadstate/adapter-uservox/testing"
import {
  autoDealer,
  b2b,
  type CrmWebhooks,
  Lifecycle,
  RetryPolicy,
  type StateMap,
  type WebhookInbox,
} from "@leadstate/core"
import { serveHandler } from "@leadstate/core/testing"
import { Effect, Either, Redacted } from "effect"

export const dealer = Lifecycle.unsafeMake(autoDealer)
export const b2bLifecycle = Lifecycle.unsafeMake(b2b)

export const API_TOKEN = "uvx_live_5f0c9a7b3e1d4c2b8a6f0e9d7c5b3a19"
export const CALLBACK_TOKEN = "cb_token_7e6d5c4b3a2f1e0d"
export const PROJECT = "6650aa11bb22cc33dd44ee55"
export const PROCESS = "6650aa11bb22cc33dd44ee66"

/** The dealer lifecycle onto a uservox process's state names (one to one), with disposition names. */
export const dealerMap: StateMap.StateMapConfig = {
  states: {
    new: "new_lead",
    contacted: "make_first_call",
    followup_1: "schedule_second_call",
    followup_2: "followup_2",
    followup_3: "followup_3",
    interested: "interested",
    test_drive_booked: "test_drive",
    converted: "retail",
    lost: "lost",
    snoozed: "callback_later",
  },
  dispositions: {
    bought_elsewhere: "Lost to Co-dealer",
    not_interested: "Lost - Not Purchased",
    wrong_number: "Wrong Number",
    unreachable: "No Connect",
  },
}

export const b2bMap: StateMap.StateMapConfig = {
  states: { new: "new_lead", qualified: "qualified", proposal_sent: "proposal", won: "won", lost: "lost" },
}

export const mapFor = (lifecycle: Lifecycle.Lifecycle) => (lifecycle.name === b2bLifecycle.name ? b2bMap : dealerMap)

/** The process's states: the mapped ones, the entry state first. */
export const processStates = (lifecycle: Lifecycle.Lifecycle) => {
  const map = mapFor(lifecycle).states
  return [
    map[lifecycle.initial] ?? "",
    ...lifecycle.stateNames.filter((s) => s !== lifecycle.initial).map((s) => map[s] ?? s),
  ]
}

export const fastRetry: RetryPolicy.RetryPolicy = {
  ...RetryPolicy.defaults,
  baseDelayMs: 2,
  maxDelayMs: 1_500,
  jitter: 0,
  requestTimeoutMs: 500,
}

/** A fake uservox, the adapter, and a webhook receiver wired to the adapter's inbox. */
export const setup = (
  lifecycle: Lifecycle.Lifecycle,
  extra: Partial<UservoxAdapter.UservoxOptions> & {
    readonly updateDelayMs?: number
    /** The fake's own limit (default the documented 100 per 5 s). */
    readonly fakeRateLimit?: { readonly limit: number; readonly windowMs: number }
    /** The process's states that take a disposition, at the fake (default the documented ones). */
    readonly fakeDispositionStates?: ReadonlyArray<string>
  } = {},
) =>
  Effect.gen(function* () {
    const inboxRef: { current: WebhookInbox.WebhookInbox | undefined } = { current: undefined }
    const changes: Array<CrmWebhooks.LeadChanged> = []
    const receiver = yield* serveHandler((request) =>
      inboxRef.current === undefined
        ? Promise.resolve(new Response(null, { status: 503 }))
        : inboxRef.current.handler(request),
    )
    const fake = yield* startFakeUservoxServer({
      apiToken: API_TOKEN,
      projectId: PROJECT,
      processes: [
        {
          processId: PROCESS,
          states: processStates(lifecycle),
          callback: { url: receiver.url, auth: { bearer: CALLBACK_TOKEN } },
          ...(extra.fakeDispositionStates === undefined ? {} : { dispositionStates: extra.fakeDispositionStates }),
        },
      ],
      updateDelayMs: extra.updateDelayMs ?? 5,
      ...(extra.fakeRateLimit === undefined ? {} : { rateLimit: extra.fakeRateLimit }),
    })
    const {
      updateDelayMs: _delay,
      fakeRateLimit: _fakeRate,
      fakeDispositionStates: _fakeDispositions,
      ...adapterExtra
    } = extra
    const options: UservoxAdapter.UservoxOptions = {
      lifecycle,
      stateMap: mapFor(lifecycle),
      baseUrl: fake.baseUrl,
      apiToken: Redacted.make(API_TOKEN),
      projectId: PROJECT,
      processId: PROCESS,
      webhookAuth: { bearer: Redacted.make(CALLBACK_TOKEN) },
      confirmTimeoutMs: 2_000,
      retry: fastRetry,
      ...adapterExtra,
    }
    const crm = yield* UservoxAdapter.make(options).pipe(Effect.provide(FetchHttpClient.layer))
    const webhooks = Either.getOrThrow(UservoxAdapter.makeWebhooks(options))
    const inbox = UservoxAdapter.makeInbox(crm, webhooks, (e) => Effect.sync(() => changes.push(e)))
    inboxRef.current = inbox
    return { fake, crm, webhooks, inbox, receiver, changes, options }
  })
