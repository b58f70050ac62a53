/**
 * Synthetic model profiles: the parameter arrays (gradient tensors) of the
 * models in the NetStorm paper's setup, built for Fashion-MNIST (1 input
 * channel, 10 classes) as MXNet's model zoo defines them. Their fp32 sizes
 * come out at the paper's figures: AlexNet 228 MB, ResNet-50 94 MB,
 * VGG-16 537 MB. And StellaTrain's model: ResNet-152 as torchvision
 * defines it for ImageNet (3 channels, 1,000 classes), 60.2 M parameters,
 * 241 MB (kaist-ina/stellatrain test_script.sh trains resnet152).
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

/** A bottleneck ResNet: its stages' block counts, input channels and classes. */
function bottleneckResnet(blocks: number[], channels: number, classes: number): ModelArray[] {
  const arrays: ModelArray[] = [...conv('conv0', channels, 64, 7, false), ...batchNorm('bn0', 64)];
  const stages = blocks.map((n, s) => ({ blocks: n, width: 64 << s }));
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
  arrays.push(...dense('fc', 2048, classes));
  return arrays;
}

export const PROFILES: Record<string, () => ModelProfile> = {
  alexnet: () => ({ name: 'alexnet', arrays: alexnet(), computeS: 0.1 }),
  resnet50: () => ({ name: 'resnet50', arrays: bottleneckResnet([3, 4, 6, 3], 1, 10), computeS: 0.15 }),
  vgg16: () => ({ name: 'vgg16', arrays: vgg16(), computeS: 0.3 }),
  // (ResNet-50's nominal step scaled by the two models' forward FLOPs, torchvision's 11.6 and 4.1 GFLOPs: a nominal
  // figure, no measurement; scenarios that depend on it give compute_ms, as scenarios/stellatrain-2site.yaml does)
  resnet152: () => ({ name: 'resnet152', arrays: bottleneckResnet([3, 8, 36, 3], 3, 1000), computeS: 0.42 }),
};

export const PROFILE_NAMES = Object.keys(PROFILES);

export function totalElements(arrays: ModelArray[]): number {
  return arrays.reduce((sum, a) => sum + a.elements, 0);
}
