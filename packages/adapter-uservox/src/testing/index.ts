/**
 * `@leadstate/adapter-uservox/testing`: a fake Uservox lead API on 127.0.0.1 for tests, with
 * the asynchronous Update Lead and its webhooks, activity webhooks, the duplicate block, rate
 * limits, and fault injection. Needs `@effect/platform-node` (an optional peer dependency).
 *
 * @since 0.1.0
 */

export type {
  FakeVendorControl,
  Fault,
  FaultRule,
  RecordedRequest,
  WebhookDelivery,
} from "@leadstate/core/testing"
export {
  type FakeUservoxServerControl,
  type FakeUservoxServerOptions,
  startFakeUservoxServer,
  startFakeUservoxServerPromise,
  type UservoxActivity,
  type UservoxActivityWebhook,
  type UservoxBulkError,
  type UservoxBulkResult,
  type UservoxCallAnalysis,
  type UservoxCallbackAuth,
  type UservoxCallOutcome,
  type UservoxCallResult,
  type UservoxDispositionType,
  type UservoxInitiatedLead,
  type UservoxLead,
  type UservoxLeadActivity,
  type UservoxLeadSeed,
  type UservoxProcessConfig,
  type UservoxUpdateWebhook,
  type UservoxWebhook,
  type UservoxWebhookFaults,
} from "./FakeUservoxServer.js"
