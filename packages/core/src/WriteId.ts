/**
 * Write ids: every write the engine sends is named `${leadId}/${version}/${index}` (the outbox
 * entry id). Adapters store the id at the vendor where the vendor keeps free data (uservox
 * metadata, the generic API's `metadata.leadstate`, a Voxys notes tag), and report the last one
 * they find on read-back (`VendorLead.lastWriteId`). Ids of one lead are ordered by version,
 * then index, so a read-back tells whether a write landed, was overtaken by a newer one of
 * ours, or whether an older one landed late on top of a newer one.
 *
 * @since 0.2.0
 */

/** The parts of a write id. */
export interface WriteIdParts {
  readonly leadId: string
  readonly version: number
  readonly index: number
}

/** The write id of the `index`th write of the snapshot at `version` of `leadId`. */
export const make = (leadId: string, version: number, index: number): string => `${leadId}/${version}/${index}`

/** The parts of a write id, or undefined when `id` is not one (a lead id may itself hold `/`). */
export const parse = (id: string): WriteIdParts | undefined => {
  const last = id.lastIndexOf("/")
  const middle = last > 0 ? id.lastIndexOf("/", last - 1) : -1
  if (middle <= 0) return undefined
  const version = Number(id.slice(middle + 1, last))
  const index = Number(id.slice(last + 1))
  if (!Number.isSafeInteger(version) || version < 0 || !Number.isSafeInteger(index) || index < 0) return undefined
  if (String(version) !== id.slice(middle + 1, last) || String(index) !== id.slice(last + 1)) return undefined
  return { leadId: id.slice(0, middle), version, index }
}

/**
 * Orders two write ids of the same lead: negative when `a` was written before `b`, 0 when they
 * are the same write, positive when after. Undefined when either is not a write id, or they
 * name different leads (no order between them).
 */
export const compare = (a: string, b: string): number | undefined => {
  const x = parse(a)
  const y = parse(b)
  if (x === undefined || y === undefined || x.leadId !== y.leadId) return undefined
  return x.version !== y.version ? x.version - y.version : x.index - y.index
}
