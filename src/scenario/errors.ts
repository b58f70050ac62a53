import { UserError } from '../util/errors.js';

/** Thrown for any problem in a scenario file; the message lists every problem found. */
export class ScenarioError extends UserError {}
