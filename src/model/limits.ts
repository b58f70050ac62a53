/**
 * The largest (and smallest) values geobed accepts, with the reason for
 * each: beyond them a run cannot fit in memory or time, or the figure is
 * surely a typo. The schema, the trace readers and the CLI share them.
 */

/** 1 Tbit/s: far above any WAN link; 1e300 would overflow byte counts. */
export const MAX_MBPS = 1e6;
/** One minute one way: more than any terrestrial or satellite path. */
export const MAX_DELAY_MS = 60_000;
/** Trace steps, generator periods and bins: 1 ms, the resolution of a Mahimahi trace. */
export const MIN_PERIOD_S = 0.001;
/** Iteration counters are 32-bit in the transfer log. */
export const MAX_ITERATIONS = 1_000_000_000;
/** 1 TB of gradient. */
export const MAX_GRADIENT_MB = 1e6;
/** One day per iteration. */
export const MAX_COMPUTE_MS = 86_400_000;
/** A full mesh of 1,000 nodes; every directed link has its own trace and counters. */
export const MAX_DIRECTED_LINKS = 1_000_000;
/** Rows geobed writes into one trace file (a scenario can use the generator itself, which draws rates as the run needs them). */
export const MAX_TRACE_ROWS = 10_000_000;
/** Synthetic images (784 floats each): 314 MB. */
export const MAX_SYNTHETIC_SAMPLES = 100_000;
/** Node names: they name namespaces and log files. */
export const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$/;
export const NODE_NAME_RULE = 'a node name: letters, digits, "_" or "-", starting with a letter or digit, at most 31 characters';
/** Workers in one data center: each is a node of its own (a namespace in emulated mode), so the flow model and the emulator hold them like data centers. */
export const MAX_WORKERS_PER_DC = 1024;
/** Scenario names and scheduler labels become folder and file names. */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const SAFE_NAME_RULE = '1-64 letters, digits, ".", "_" or "-", starting with a letter or digit (it names folders and files: no spaces, "/" or "..")';
