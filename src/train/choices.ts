/** TensorFlow.js backends geobed can train on, best first (kept apart from backend.ts, which loads tfjs). */
export const BACKEND_CHOICES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
