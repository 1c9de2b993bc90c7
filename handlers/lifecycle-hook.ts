import { deploy } from '../lib/definition';
import { lifecycleHook } from '../lib/lifecycle/definition';

// Built at cold start: the configuration is validated once, so a bad stage fails on the first event.
export const handler = deploy(lifecycleHook);
