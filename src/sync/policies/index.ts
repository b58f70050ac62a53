/** Every scheduler geobed knows, by the name used in scenarios. */
import type { SchedulerConfig } from '../../scenario/types.js';
import type { Policy } from '../policy.js';
import { starPolicy } from './star.js';

export function makePolicy(config: SchedulerConfig): Policy {
  switch (config.name) {
    case 'star':
      return starPolicy(config);
  }
}
