import { lifecycleHook } from './lifecycle/definition';
import { scaleInSweeper } from './sweeper/definition';
import { spotInterruption } from './spot/definition';

/**
 * Every function of the suite, for the simulator, the benchmarks and the tests to loop over.
 * Never imported by handlers/: each deployed bundle holds its own definition only.
 */
export const FUNCTIONS = [spotInterruption, lifecycleHook, scaleInSweeper] as const;

export type FunctionName = (typeof FUNCTIONS)[number]['name'];

export { lifecycleHook, scaleInSweeper, spotInterruption };
export { LIFECYCLE_HOOK } from './lifecycle/definition';
export { SCALE_IN_SWEEPER } from './sweeper/definition';
export { SPOT_INTERRUPTION } from './spot/definition';
