/**
 * The Conv2D gradient, re-registered so CNNs train on every backend. The
 * wasm backend has no Conv2DBackpropFilter kernel, so tfjs's own gradient
 * fails there. The filter gradient is itself a convolution: with the batch
 * as channels and the input channels as the batch,
 *   dW[i, j, ci, co] = sum over n, y, x of  x[n, y*s + i - top, x*s + j - left, ci] * dy[n, y, x, co]
 * is a forward conv of x (transposed to [Cin, H, W, N]) with dy (transposed
 * to [Ho, Wo, N, Cout]) at dilation s, stride 1, cropped to the filter's
 * size. The input gradient is the usual transposed conv, which every
 * backend has.
 */
import * as tf from '@tensorflow/tfjs';

type Pair = [number, number];

interface Conv2DAttrs {
  strides: number | Pair;
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | Pair;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

const pair = (v: number | Pair): Pair => (typeof v === 'number' ? [v, v] : v);

/** The filter gradient of conv2d(x, filter) for output gradient dy (NHWC, dilation 1). */
export function conv2dFilterGradient(
  x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number],
  strides: number | Pair, pad: Conv2DAttrs['pad'], dimRoundingMode?: Conv2DAttrs['dimRoundingMode'],
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = filterShape;
    const [sh, sw] = pair(strides);
    const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, [sh, sw], [1, 1], pad as 'valid', dimRoundingMode);
    const { top, left } = info.padInfo;
    const [, h, w] = x.shape;
    // pad so that the dilated "filter" (dy) slides exactly kh x kw times, then crop
    const bottom = Math.max(0, kh + (info.outHeight - 1) * sh - h - top);
    const right = Math.max(0, kw + (info.outWidth - 1) * sw - w - left);
    const xt = tf.transpose(x, [3, 1, 2, 0]); // [Cin, H, W, N]
    const dyt = tf.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, N, Cout]
    const full = tf.conv2d(xt as tf.Tensor4D, dyt as tf.Tensor4D, 1, [[0, 0], [top, bottom], [left, right], [0, 0]], 'NHWC', [sh, sw]);
    const cropped = tf.slice(full, [0, 0, 0, 0], [-1, kh, kw, -1]); // [Cin, kh, kw, Cout]
    return tf.transpose(cropped, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

let registered = false;

/** Replace tfjs's Conv2D gradient with one that needs no Conv2DBackpropFilter kernel (once per process). */
export function registerConv2DGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs as unknown as Conv2DAttrs;
      if (pair(dilations)[0] !== 1 || pair(dilations)[1] !== 1) throw new Error('Conv2D gradient: dilations other than 1 are not supported');
      if (dataFormat !== 'NHWC') throw new Error('Conv2D gradient: only NHWC is supported');
      const g = dy as tf.Tensor4D;
      return {
        x: () => tf.conv2dTranspose(g, filter, x.shape, strides, pad as 'valid', dimRoundingMode),
        filter: () => conv2dFilterGradient(x, g, filter.shape, strides, pad, dimRoundingMode),
      };
    },
  });
}
