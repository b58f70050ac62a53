/** Every scheduler geobed knows, by the name used in scenarios. */
import type { Scenario, SchedulerConfig } from '../../scenario/types.js';
import type { Policy } from '../policy.js';
import { starPolicy } from './star.js';
import { mlnetPolicy } from './mlnet.js';
import { ringPolicy } from './ring.js';
import { tsenginePolicy } from './tsengine.js';
import { netstormPolicy } from './netstorm.js';

export function makePolicy(config: SchedulerConfig, scenario: Scenario): Policy {
  switch (config.name) {
    case 'star':
      return starPolicy(config);
    case 'mlnet':
      return mlnetPolicy(config);
    case 'ring':
      return ringPolicy(config);
    case 'tsengine':
      return tsenginePolicy(config, scenario.seed);
    case 'netstorm':
      return netstormPolicy(config, scenario.seed);
  }
}
