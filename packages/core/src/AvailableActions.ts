/**
 * What a lead can do next: the moves open from its current state and what each needs.
 * Read from the generated XState machine with `getNextTransitions`, so a UI or a voice agent
 * can offer exactly the moves the rules allow.
 *
 * @since 0.1.0
 */
import { getNextTransitions } from "xstate"
import type { LeadTransitionMeta } from "./internal/machine.js"
import type { LeadSnapshot } from "./LeadSnapshot.js"
import type { Lifecycle } from "./Lifecycle.js"

/** One move open now. */
export type AvailableAction =
  | {
      readonly type: "transition"
      readonly to: string
      /** Dispositions the target takes; `required` means the event must carry one. */
      readonly disposition: { readonly required: boolean; readonly allowed: ReadonlyArray<string> } | undefined
    }
  | { readonly type: "snooze"; readonly to: string }
  | { readonly type: "wake"; readonly to: string }
  | { readonly type: "followUpDue"; readonly to: string; readonly disposition: string | undefined }
  | { readonly type: "reopen"; readonly to: string; readonly reasons: ReadonlyArray<string> | undefined }
  | { readonly type: "updateMetadata" }

/**
 * The moves open for `snapshot`, in the lifecycle's order. A final lead lists only its
 * reopen moves; an unknown state lists none.
 *
 * @example
 * availableActions(lifecycle, snapshot)
 * // [{ type: "transition", to: "interested", disposition: { required: false, allowed: [...] } }, ...]
 */
export const availableActions = (lifecycle: Lifecycle, snapshot: LeadSnapshot): ReadonlyArray<AvailableAction> => {
  if (!lifecycle.states.has(snapshot.state)) return []
  const machineSnapshot = lifecycle.machine.resolveState({
    value: snapshot.state,
    context: { snoozedFrom: snapshot.snoozedFrom },
  })
  const out: Array<AvailableAction> = []
  for (const t of getNextTransitions(machineSnapshot)) {
    const meta: LeadTransitionMeta = t.meta ?? {}
    const to = meta.to
    if (to === undefined) continue
    switch (t.eventType) {
      case "transition":
        out.push({ type: "transition", to, disposition: meta.dispositions })
        break
      case "snooze":
        out.push({ type: "snooze", to })
        break
      case "wake":
        // One guarded wake transition per snoozable state; only the remembered one is open.
        if (snapshot.snoozedFrom === to) out.push({ type: "wake", to })
        break
      case "followUpDue":
        out.push({ type: "followUpDue", to, disposition: meta.disposition })
        break
      case "reopen":
        out.push({ type: "reopen", to, reasons: meta.reasons })
        break
      case "updateMetadata":
        out.push({ type: "updateMetadata" })
        break
    }
  }
  return out
}
