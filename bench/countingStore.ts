/**
 * A `LeadStoreService` that counts the calls made to another one, by method, so the engine
 * bench can report how many store operations one transition costs. Counting is one increment
 * per call; the calls themselves are passed through untouched.
 */
import type { LeadStore } from "@leadstate/core"

export interface CountingStore {
  readonly store: LeadStore.LeadStoreService
  /** Calls so far, by method name. */
  readonly counts: () => Readonly<Record<string, number>>
}

export const counting = (inner: LeadStore.LeadStoreService): CountingStore => {
  const calls: Record<string, number> = {}
  const wrap =
    <Args extends ReadonlyArray<unknown>, R>(name: string, f: (...args: Args) => R) =>
    (...args: Args): R => {
      calls[name] = (calls[name] ?? 0) + 1
      return f(...args)
    }
  const store: LeadStore.LeadStoreService = {
    load: wrap("load", inner.load),
    loadForWrite: wrap("loadForWrite", inner.loadForWrite),
    save: wrap("save", inner.save),
    history: wrap("history", inner.history),
    saveVendorChange: wrap("saveVendorChange", inner.saveVendorChange),
    setVendorLeadId: wrap("setVendorLeadId", inner.setVendorLeadId),
    claim: wrap("claim", inner.claim),
    updateOutbox: wrap("updateOutbox", inner.updateOutbox),
    outbox: wrap("outbox", inner.outbox),
    outboxEntry: wrap("outboxEntry", inner.outboxEntry),
    hasUnsettled: wrap("hasUnsettled", inner.hasUnsettled),
    oldestAccepted: wrap("oldestAccepted", inner.oldestAccepted),
    dueLeads: wrap("dueLeads", inner.dueLeads),
    rememberEvent: wrap("rememberEvent", inner.rememberEvent),
  }
  return { store, counts: () => ({ ...calls }) }
}
