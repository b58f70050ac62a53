/**
 * The TensorFlow.js backend, best first: tfjs-node-gpu (CUDA), tfjs-node,
 * wasm (SIMD; no threads in Node), then the plain JavaScript cpu backend.
 * The tfjs-node packages are optional dependencies: they download
 * libtensorflow at install time and are simply absent where that fails.
 */
import * as tf from '@tensorflow/tfjs';
import { registerConv2DGradient } from './conv-grad.js';
import { UserError } from '../util/errors.js';

import { BACKEND_CHOICES, type BackendChoice } from './choices.js';

export { BACKEND_CHOICES, type BackendChoice };

export interface BackendInfo {
  /** What was asked for, or the best that loaded. */
  choice: BackendChoice;
  /** tfjs's own name of the active backend. */
  tfBackend: string;
  /** e.g. "wasm (SIMD)", for the manifest. */
  description: string;
}

let active: Promise<BackendInfo> | null = null;

/** Pick and start the backend once per process; `requested` insists on one. */
export function initBackend(requested?: BackendChoice): Promise<BackendInfo> {
  active ??= start(requested);
  return active;
}

async function start(requested?: BackendChoice): Promise<BackendInfo> {
  const order: BackendChoice[] = requested ? [requested] : [...BACKEND_CHOICES];
  const failures: string[] = [];
  for (const choice of order) {
    try {
      const info = await tryBackend(choice);
      registerConv2DGradient();
      tf.env().set('PROD', true); // no debug checks, no console advice; the backend is recorded in the results
      return info;
    } catch (e) {
      failures.push(`${choice}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new UserError(`--backend ${requested}: cannot start it (${failures.join('; ')})`);
}

async function tryBackend(choice: BackendChoice): Promise<BackendInfo> {
  switch (choice) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const pkg = choice === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      await import(pkg); // registers the "tensorflow" backend
      if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} did not start`);
      return { choice, tfBackend: 'tensorflow', description: choice === 'tensorflow-gpu' ? 'tfjs-node-gpu (libtensorflow, CUDA)' : 'tfjs-node (libtensorflow)' };
    }
    case 'wasm': {
      await import('@tensorflow/tfjs-backend-wasm'); // registers the "wasm" backend
      // Node has no wasm threads here: take the single-threaded SIMD module.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      return { choice, tfBackend: 'wasm', description: `wasm (${simd ? 'SIMD' : 'no SIMD'}, 1 thread)` };
    }
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
      return { choice, tfBackend: 'cpu', description: 'cpu (plain JavaScript)' };
  }
}
