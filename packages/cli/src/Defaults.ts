/**
 * The example adapter configurations for the auto-dealer lifecycle (the same as
 * `examples/adapters/*.json` in the repository), used by `serve-fake` when no `--config` is
 * given, so a fake server and `simulate` agree on ids and state names out of the box.
 *
 * @since 0.1.0
 */
import type { AdapterConfig, GenericConfig, UservoxConfig, Vendor, VoxysConfig } from "./AdapterConfig.js"

export const generic: GenericConfig = {
  adapter: "generic",
  baseUrl: "https://your-domain.example",
  apiKeyEnv: "GENERIC_API_KEY",
  chatbotId: "bot_1",
  stateMap: {
    states: {
      new: "new",
      contacted: "contacted",
      followup_1: "follow_up",
      followup_2: "follow_up",
      followup_3: "follow_up",
      snoozed: "follow_up",
      interested: "qualified",
      test_drive_booked: "qualified",
      converted: "converted",
      lost: "lost",
    },
    reverse: { follow_up: "followup_1", qualified: "interested" },
  },
}

export const uservox: UservoxConfig = {
  adapter: "uservox",
  apiTokenEnv: "USERVOX_API_TOKEN",
  projectId: "6650aa11bb22cc33dd44ee55",
  processId: "6650aa11bb22cc33dd44ee66",
  stateMap: {
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
    dispositions: { bought_elsewhere: "Lost to Co-dealer", wrong_number: "Wrong Number" },
  },
}

export const voxys: VoxysConfig = {
  adapter: "voxys",
  accountId: 7,
  apiAccessTokenEnv: "VOXYS_API_ACCESS_TOKEN",
  stateMap: {
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
  },
}

/** The credential a fake server accepts when no `--config` names an environment variable (not a secret). */
export const fakeCredential: { readonly [V in Vendor]: string } = {
  generic: "sk-workspace_fake_key",
  uservox: "uvx_fake_token",
  voxys: "vx_fake_token",
}

/** The example configuration of a vendor. */
export const configOf = (vendor: Vendor): AdapterConfig =>
  vendor === "generic"
    ? { vendor, config: generic }
    : vendor === "uservox"
      ? { vendor, config: uservox }
      : { vendor, config: voxys }
