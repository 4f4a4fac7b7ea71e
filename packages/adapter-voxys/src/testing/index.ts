/**
 * `@leadstate/adapter-voxys/testing`: a fake Voxys Connect CRM lead API on 127.0.0.1 for tests,
 * with request recording and fault injection, plus the wire types it speaks. Voxys sends no lead
 * webhooks; simulate changes made in the Voxys UI with `setStatusAtVendor`. Needs
 * `@effect/platform-node` (an optional peer dependency).
 *
 * @since 0.1.0
 */

export type {
  FakeVendorControl,
  Fault,
  FaultRule,
  RecordedRequest,
} from "@leadstate/core/testing"
export {
  defaultAgents,
  defaultCompanies,
  defaultFunnels,
  type FakeVoxysServerControl,
  type FakeVoxysServerOptions,
  leadStatuses,
  startFakeVoxysServer,
  startFakeVoxysServerPromise,
  type VoxysAgentSummary,
  type VoxysBulkActionType,
  type VoxysBulkPayload,
  type VoxysBulkResult,
  type VoxysCardMovePayload,
  type VoxysChatwootStatus,
  type VoxysCompanySummary,
  type VoxysConvertPayload,
  type VoxysErrorBody,
  type VoxysFunnel,
  type VoxysFunnelCard,
  type VoxysFunnelSeed,
  type VoxysFunnelStage,
  type VoxysLead,
  type VoxysLeadCreatePayload,
  type VoxysLeadPage,
  type VoxysLeadSeed,
  type VoxysLeadStats,
  type VoxysLeadStatus,
  type VoxysLeadStatusPayload,
  type VoxysLeadUpdatePayload,
  type VoxysListMeta,
  type VoxysNote,
  type VoxysNoteCreatePayload,
  type VoxysValidationErrorBody,
} from "./FakeVoxysServer.js"
