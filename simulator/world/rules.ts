import type { ApiInput, ApiOutput } from '../api';
import type { AutoScalingRules } from './autoscaling';
import type { CapacityProviderRules } from './capacity-providers';
import type { Ec2Rules } from './ec2';
import type { EcsRules } from './ecs';
import type { SnsRules } from './sns';
import type { SpotRules } from './spot';
import type { WorldState } from './state';

/** The rules of each service, around the state they share. */
export interface Rules {
  readonly ecs: EcsRules;
  readonly ec2: Ec2Rules;
  readonly autoScaling: AutoScalingRules;
  readonly sns: SnsRules;
  readonly spot: SpotRules;
  readonly capacityProviders: CapacityProviderRules;
}

/** What an API operation sees: the shared state and every service's rules. */
export interface RuledWorld extends WorldState {
  readonly rules: Rules;
}

/** One API operation: the decoded input in, the output out, or an AwsApiError thrown. */
export type Operation = (world: RuledWorld, input: ApiInput) => ApiOutput;
