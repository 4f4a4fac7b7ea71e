/**
 * `@leadstate/core/testing`: the shared fake vendor server (real HTTP on 127.0.0.1, request
 * recording, fault injection) and webhook sending that each adapter's fake server builds on,
 * and `confirmingAdapter` (no vendor: every write confirmed at once). Needs
 * `@effect/platform-node` (an optional peer dependency of `@leadstate/core`).
 *
 * @since 0.1.0
 */

export { confirmingAdapter } from "./ConfirmingAdapter.js"
export {
  type FakeRequest,
  type FakeResponse,
  type FakeVendorControl,
  type FakeVendorOptions,
  type Fault,
  type FaultRule,
  makeWebhookSender,
  parseBody,
  type RecordedRequest,
  randomHex,
  runScoped,
  seededRandom,
  sendWebhook,
  startFakeVendor,
  startFakeVendorPromise,
  type WebhookDelivery,
  type WebhookSender,
} from "./FakeVendor.js"
export * as HeldRequests from "./HeldRequests.js"
export { type ServedHandler, serveHandler } from "./serveHandler.js"
