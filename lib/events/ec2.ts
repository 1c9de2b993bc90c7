import { z } from 'zod';
import { EC2_INSTANCE_ID, type DrainSignal, type DrainSignalKind, type ParseOutcome } from './types';
import { describeIssues, eventBridgeEnvelope } from './envelope';

export const SPOT_INTERRUPTION = 'EC2 Spot Instance Interruption Warning';
export const REBALANCE_RECOMMENDATION = 'EC2 Instance Rebalance Recommendation';
export const STATE_CHANGE = 'EC2 Instance State-change Notification';

/** Instance states after which the instance is on its way out (the others are ignored). */
export const DRAINING_STATES = ['stopping', 'shutting-down'] as const;
const ALL_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'] as const;

export interface Ec2ParseOptions {
  rebalanceDrain: boolean;
  stateChangeDrain: boolean;
  /** Turn `running` state changes into undrain signals (lib/spot/config.ts `undrainSurvivors`). */
  undrainSurvivors?: boolean;
}

const instanceId = z.string().regex(EC2_INSTANCE_ID, 'is not an EC2 instance id (i- and 8 or 17 hex digits)');

const spotDetail = z.object({ 'instance-id': instanceId, 'instance-action': z.enum(['terminate', 'stop', 'hibernate']) });
const rebalanceDetail = z.object({ 'instance-id': instanceId });
const stateChangeDetail = z.object({ 'instance-id': instanceId, state: z.enum(ALL_STATES) });

function invalid(reason: string, detail: string): ParseOutcome<DrainSignal> {
  return { outcome: 'invalid', reason, detail };
}

/**
 * Parses an EC2 event delivered by EventBridge into a drain signal.
 * Well-formed events the configuration does not act on are `ignored`; anything else that reaches
 * this function (a wrong source, an unknown detail-type, missing or mistyped fields) is `invalid`,
 * because the function's rules only route these three detail-types to it. A `running` state change
 * is a signal to undo a drain (lib/spot/undrain.ts), not to drain.
 */
export function parseEc2Event(event: unknown, options: Ec2ParseOptions): ParseOutcome<DrainSignal> {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return invalid('not-an-object', `event is ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event}`);
  }
  const parsedEnvelope = eventBridgeEnvelope.safeParse(event);
  if (!parsedEnvelope.success) return invalid('malformed-envelope', describeIssues(parsedEnvelope.error));
  const { detail, source, id, time, region, account } = parsedEnvelope.data;
  const detailType = parsedEnvelope.data['detail-type'];
  if (source !== 'aws.ec2') return invalid('unexpected-source', `source is ${JSON.stringify(source)}, expected "aws.ec2"`);

  const base = { eventId: id, time, region, account };
  const signal = (kind: DrainSignalKind, ec2InstanceId: string, extra: Partial<DrainSignal> = {}) =>
    ({ outcome: 'signal', signal: { kind, ec2InstanceId, ...base, ...extra } }) as const;

  switch (detailType) {
    case SPOT_INTERRUPTION: {
      const parsed = spotDetail.safeParse(detail);
      if (!parsed.success) return invalid('malformed-detail', describeIssues(parsed.error));
      return signal('spot-interruption', parsed.data['instance-id'], { instanceAction: parsed.data['instance-action'] });
    }
    case REBALANCE_RECOMMENDATION: {
      const parsed = rebalanceDetail.safeParse(detail);
      if (!parsed.success) return invalid('malformed-detail', describeIssues(parsed.error));
      if (!options.rebalanceDrain) return { outcome: 'ignored', kind: 'rebalance-recommendation', reason: 'rebalance-drain-disabled' };
      return signal('rebalance-recommendation', parsed.data['instance-id']);
    }
    case STATE_CHANGE: {
      const parsed = stateChangeDetail.safeParse(detail);
      if (!parsed.success) return invalid('malformed-detail', describeIssues(parsed.error));
      const state = parsed.data.state;
      if (state === 'running') {
        // A stopped instance started again (docs/aws-behaviour.md §1.6): a drain it survived may be undone.
        if (!options.undrainSurvivors) return { outcome: 'ignored', kind: 'instance-running', reason: 'undrain-disabled' };
        return signal('instance-running', parsed.data['instance-id'], { state });
      }
      if (!(DRAINING_STATES as readonly string[]).includes(state)) {
        return { outcome: 'ignored', kind: 'instance-state-change', reason: `state-${state}` };
      }
      if (!options.stateChangeDrain) return { outcome: 'ignored', kind: 'instance-state-change', reason: 'state-change-drain-disabled' };
      return signal('instance-state-change', parsed.data['instance-id'], { state });
    }
    default:
      return invalid('unknown-detail-type', `detail-type ${JSON.stringify(detailType)} is not handled`);
  }
}
