/**
 * `@leadstate/adapter-generic/testing`: a fake generic (PollyBot-style) lead API on 127.0.0.1
 * for tests, with fault injection and signed webhooks. Needs `@effect/platform-node` (an
 * optional peer dependency).
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
  defaultStatuses,
  type FakeGenericServerControl,
  type FakeGenericServerOptions,
  type GenericLead,
  type GenericLeadSeed,
  type GenericPagination,
  type GenericWebhookEvent,
  type GenericWebhookEventName,
  startFakeGenericServer,
  startFakeGenericServerPromise,
} from "./FakeGenericServer.js"
