/**
 * Compute split into layers, for schedulers whose workers overlap the
 * exchange with the next iteration layer by layer (P3: Jayarajan et al.,
 * "Priority-based Parameter Propagation", SysML 2019; GeoMX ENABLE_P3).
 * A profile gives each array's size, not its compute, so geobed derives
 * the split: the forward pass takes 1/3 of an iteration's compute and the
 * backward pass 2/3 (backward computes two products per layer, the
 * gradient of the weights and of the input, forward one), and each pass
 * is shared over the arrays in proportion to their elements (a layer's
 * multiply-adds scale with its weights in fully connected layers; convolutions
 * do more work per weight, so this understates their share: the
 * documented approximation). Arrays are in the model's order, input side
 * first: forward runs 0, 1, ..., backward ..., 1, 0.
 */

/** Each array's share of an iteration's compute, forward and backward (the shares sum to 1/3 and 2/3). */
export interface LayerShares {
  forward: number[];
  backward: number[];
}

export const FORWARD_SHARE = 1 / 3;

export function layerShares(arrays: { elements: number }[]): LayerShares {
  const total = arrays.reduce((s, a) => s + a.elements, 0);
  const share = (a: { elements: number }) => (total > 0 ? a.elements / total : 1 / arrays.length);
  return {
    forward: arrays.map((a) => FORWARD_SHARE * share(a)),
    backward: arrays.map((a) => (1 - FORWARD_SHARE) * share(a)),
  };
}
