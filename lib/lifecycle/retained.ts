import type { OpsEvent } from '../notify';

/**
 * Retained instances (docs/aws-behaviour.md §3.4): a group whose instance lifecycle policy retains
 * abandoned instances does not terminate an instance whose termination action ended in ABANDON.
 * The instance stays running in Terminating:Retained, its container instance DRAINING, billed until
 * an operator terminates it. No lifecycle action is left to drain for, so the chain ends; what is
 * left is to tell the operators.
 */
const RETAINED_STATES: ReadonlySet<string> = new Set(['Terminating:Retained', 'Warmed:Terminating:Retained']);

export function isRetainedState(groupState: string | undefined): boolean {
  return groupState !== undefined && RETAINED_STATES.has(groupState);
}

/** How the drainer learnt it: it found the instance retained, it abandoned on a retaining group, or it cannot tell. */
export type RetainedHow = 'found' | 'abandoned' | 'possibly';

/** The operators' notice of a retained instance (pure; the executor sends it). */
export function retainedNotice(
  instance: { ec2InstanceId: string; autoScalingGroupName: string },
  how: RetainedHow,
  base: Pick<OpsEvent, 'function' | 'resources' | 'context' | 'threadId'>,
): OpsEvent {
  const id = instance.ec2InstanceId;
  const group = instance.autoScalingGroupName;
  const title =
    how === 'possibly'
      ? `${id} may be retained by group ${group}: check it and terminate it`
      : `${id} is retained by group ${group}: drained, terminate it yourself`;
  const description = [
    how === 'found'
      ? `Auto Scaling keeps \`${id}\` in \`Terminating:Retained\`: its termination action was abandoned and the group's instance lifecycle policy retains such instances.`
      : how === 'abandoned'
        ? `The drain was cut short and completed with ABANDON; the group's instance lifecycle policy retains abandoned instances, so \`${id}\` stays in \`Terminating:Retained\`.`
        : `The drain was cut short and completed with ABANDON, and the group's instance lifecycle policy could not be read: if it retains abandoned instances, \`${id}\` stays in \`Terminating:Retained\`.`,
    'It keeps running and is billed; its container instance stays DRAINING, so ECS places nothing new on it. The group has launched a replacement.',
  ];
  return {
    ...base,
    type: 'retained',
    title,
    description,
    nextSteps: [
      'Check what still runs on it (the tasks the drain was waiting for).',
      `Then terminate it: \`aws autoscaling terminate-instance-in-auto-scaling-group --instance-id ${id} --no-should-decrement-desired-capacity\``,
    ],
    context: { ...base.context, retained: how },
  };
}
