/**
 * Generates the XState v5 machine for a compiled lifecycle. It has no side effects: context
 * changes are `assign`s and the vendor intents are named placeholder actions (`setState`,
 * `mergeMetadata`) that XState's pure `transition()` returns as data.
 */
import { assign, setup } from "xstate"
import type { CompiledLifecycle, CompiledState } from "./compile.js"

/** The machine's context: only what its guards need. */
export interface LeadMachineContext {
  readonly snoozedFrom: string | undefined
}

/** Events as the machine sees them (same objects as `LeadEvent`, fields unchecked). */
export interface LeadMachineEvent {
  readonly type: string
  readonly to?: unknown
  readonly disposition?: unknown
  readonly reason?: unknown
  readonly metadata?: unknown
}

/** Data attached to every generated transition, read by `availableActions`. */
export interface LeadTransitionMeta {
  readonly to?: string
  readonly dispositions?: { readonly required: boolean; readonly allowed: ReadonlyArray<string> } | undefined
  readonly disposition?: string | undefined
  readonly reasons?: ReadonlyArray<string> | undefined
}

const isRecord = (u: unknown) => typeof u === "object" && u !== null && !Array.isArray(u)

const leadMachineSetup = setup({
  types: {
    context: {} as LeadMachineContext,
    events: {} as LeadMachineEvent,
    meta: {} as LeadTransitionMeta,
  },
  guards: {
    canEnter: ({ event }, params: { to: string; required: boolean; allowed: ReadonlyArray<string> | undefined }) => {
      if (event.type !== "transition" || event.to !== params.to) return false
      if (event.metadata !== undefined && !isRecord(event.metadata)) return false
      const d = event.disposition
      if (d === undefined) return !params.required
      return typeof d === "string" && params.allowed !== undefined && params.allowed.includes(d)
    },
    canReopen: ({ event }, params: { to: string; reasons: ReadonlyArray<string> | undefined }) => {
      if (event.to !== params.to) return false
      const r = event.reason
      if (r !== undefined && typeof r !== "string") return false
      return params.reasons === undefined || (typeof r === "string" && params.reasons.includes(r))
    },
    hasMetadata: ({ event }) => isRecord(event.metadata),
    snoozedFromIs: ({ context }, params: { state: string }) => context.snoozedFrom === params.state,
  },
  actions: {
    rememberSnoozedFrom: assign((_, params: { state: string }) => ({ snoozedFrom: params.state })),
    forgetSnoozedFrom: assign({ snoozedFrom: undefined }),
    /** Placeholder: the pure transition turns this into a `SetState` intent. */
    setState: (_, _params: { to: string }) => {},
    /** Placeholder: the pure transition turns this into a `MergeMetadata` intent. */
    mergeMetadata: () => {},
  },
})

type StateConfig = NonNullable<Parameters<typeof leadMachineSetup.createMachine>[0]["states"]>[string]

/** A state name as a target: XState reads "." as a path to a child state, and names may hold it. */
const target = (name: string) => name.replaceAll(".", "\\.")

const moveTo = (to: string) => [{ type: "forgetSnoozedFrom" as const }, { type: "setState" as const, params: { to } }]

const stateConfig = (lifecycle: CompiledLifecycle, s: CompiledState, snoozable: ReadonlyArray<string>): StateConfig => {
  if (s.final) {
    if (s.reopen.size === 0) return { type: "final", tags: ["final"] }
    return {
      tags: ["final"],
      on: {
        reopen: [...s.reopen.values()].map((rule) => ({
          target: target(rule.to),
          guard: { type: "canReopen", params: { to: rule.to, reasons: rule.reasons } },
          actions: moveTo(rule.to),
          meta: { to: rule.to, reasons: rule.reasons },
        })),
      },
    }
  }
  const on: Record<string, unknown> = {
    transition: s.targetList.map((to) => {
      const d = lifecycle.states.get(to)?.dispositions
      return {
        target: target(to),
        guard: { type: "canEnter", params: { to, required: d?.required === true, allowed: d?.list } },
        actions: moveTo(to),
        meta: { to, dispositions: d === undefined ? undefined : { required: d.required, allowed: d.list } },
      }
    }),
    updateMetadata: { guard: "hasMetadata", actions: [{ type: "mergeMetadata" }], meta: { to: s.name } },
  }
  const snooze = lifecycle.snoozeState
  if (s.snoozable && snooze !== undefined) {
    on.snooze = {
      target: target(snooze),
      actions: [
        { type: "rememberSnoozedFrom", params: { state: s.name } },
        { type: "setState", params: { to: snooze } },
      ],
      meta: { to: snooze },
    }
  }
  if (s.name === snooze) {
    on.wake = snoozable.map((back) => ({
      target: target(back),
      guard: { type: "snoozedFromIs", params: { state: back } },
      actions: moveTo(back),
      meta: { to: back },
    }))
  }
  if (s.followUpNext !== undefined) {
    const next = s.followUpNext
    on.followUpDue = {
      target: target(next.to),
      actions: moveTo(next.to),
      meta: { to: next.to, disposition: next.disposition },
    }
  }
  return { on } as StateConfig
}

/** Builds the machine; `Lifecycle.machine` calls this once per lifecycle. */
export const buildMachine = (lifecycle: CompiledLifecycle & { readonly name: string; readonly initial: string }) => {
  const snoozable = [...lifecycle.states.values()].filter((s) => s.snoozable).map((s) => s.name)
  const states: Record<string, StateConfig> = {}
  for (const s of lifecycle.states.values()) states[s.name] = stateConfig(lifecycle, s, snoozable)
  return leadMachineSetup.createMachine({
    id: lifecycle.name,
    initial: lifecycle.initial,
    context: { snoozedFrom: undefined },
    states,
  })
}

/** The XState machine generated for a lifecycle. */
export type LeadMachine = ReturnType<typeof buildMachine>
