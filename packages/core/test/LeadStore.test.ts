import { LeadStore } from "@leadstate/core"
import { storeSuite } from "@leadstate/testkit/storeSuite"

storeSuite("memory", LeadStore.layerMemory)
