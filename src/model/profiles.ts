/**
 * Synthetic model profiles: the parameter arrays (gradient tensors) of the
 * models in the NetStorm paper's setup, built for Fashion-MNIST (1 input
 * channel, 10 classes) as MXNet's model zoo defines them. Their fp32 sizes
 * come out at the paper's figures: AlexNet 228 MB, ResNet-50 94 MB,
 * VGG-16 537 MB.
 */

export interface ModelArray {
  name: string;
  elements: number;
}

export interface ModelProfile {
  name: string;
  arrays: ModelArray[];
  /** Nominal compute time of one iteration (forward + backward), seconds. */
  computeS: number;
}

const conv = (name: string, cin: number, cout: number, k: number, bias = true): ModelArray[] => [
  { name: `${name}.weight`, elements: cin * cout * k * k },
  ...(bias ? [{ name: `${name}.bias`, elements: cout }] : []),
];
const dense = (name: string, cin: number, cout: number): ModelArray[] => [
  { name: `${name}.weight`, elements: cin * cout },
  { name: `${name}.bias`, elements: cout },
];
const batchNorm = (name: string, c: number): ModelArray[] => [
  { name: `${name}.gamma`, elements: c },
  { name: `${name}.beta`, elements: c },
];

function alexnet(): ModelArray[] {
  return [
    ...conv('conv1', 1, 64, 11),
    ...conv('conv2', 64, 192, 5),
    ...conv('conv3', 192, 384, 3),
    ...conv('conv4', 384, 256, 3),
    ...conv('conv5', 256, 256, 3),
    ...dense('fc6', 256 * 6 * 6, 4096),
    ...dense('fc7', 4096, 4096),
    ...dense('fc8', 4096, 10),
  ];
}

function vgg16(): ModelArray[] {
  const widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512];
  const arrays: ModelArray[] = [];
  let cin = 1;
  widths.forEach((w, i) => {
    arrays.push(...conv(`conv${i + 1}`, cin, w, 3));
    cin = w;
  });
  arrays.push(...dense('fc14', 512 * 7 * 7, 4096), ...dense('fc15', 4096, 4096), ...dense('fc16', 4096, 10));
  return arrays;
}

function resnet50(): ModelArray[] {
  const arrays: ModelArray[] = [...conv('conv0', 1, 64, 7, false), ...batchNorm('bn0', 64)];
  const stages = [
    { blocks: 3, width: 64 },
    { blocks: 4, width: 128 },
    { blocks: 6, width: 256 },
    { blocks: 3, width: 512 },
  ];
  let cin = 64;
  stages.forEach((stage, s) => {
    for (let b = 0; b < stage.blocks; b++) {
      const p = `stage${s + 1}.block${b + 1}`;
      const w = stage.width;
      arrays.push(
        ...conv(`${p}.conv1`, cin, w, 1, false), ...batchNorm(`${p}.bn1`, w),
        ...conv(`${p}.conv2`, w, w, 3, false), ...batchNorm(`${p}.bn2`, w),
        ...conv(`${p}.conv3`, w, w * 4, 1, false), ...batchNorm(`${p}.bn3`, w * 4),
      );
      if (b === 0) arrays.push(...conv(`${p}.downsample`, cin, w * 4, 1, false), ...batchNorm(`${p}.downsample_bn`, w * 4));
      cin = w * 4;
    }
  });
  arrays.push(...dense('fc', 2048, 10));
  return arrays;
}

export const PROFILES: Record<string, () => ModelProfile> = {
  alexnet: () => ({ name: 'alexnet', arrays: alexnet(), computeS: 0.1 }),
  resnet50: () => ({ name: 'resnet50', arrays: resnet50(), computeS: 0.15 }),
  vgg16: () => ({ name: 'vgg16', arrays: vgg16(), computeS: 0.3 }),
};

export const PROFILE_NAMES = Object.keys(PROFILES);

export function totalElements(arrays: ModelArray[]): number {
  return arrays.reduce((sum, a) => sum + a.elements, 0);
}
