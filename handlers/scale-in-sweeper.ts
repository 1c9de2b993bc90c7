import { deploy } from '../lib/definition';
import { scaleInSweeper } from '../lib/sweeper/definition';

// Built at cold start: the configuration is validated once, so a bad stage fails on the first event.
export const handler = deploy(scaleInSweeper);
