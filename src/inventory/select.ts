/**
 * Label selectors: how a tier picks its targets. Pure. The semantics (Kubernetes' label
 * selector: equality pairs and the set-based `In`, `NotIn`, `Exists`, `DoesNotExist`) live with
 * the spec that declares them, in `src/spec/selector.ts`; this is the inventory's view of them.
 */
export { tierSelects } from '../spec/selector.js';
