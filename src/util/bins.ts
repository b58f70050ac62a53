/** Add `value` to time bin `bin` of series `series[index]`, growing it as needed. */
export function addToBin(series: Float64Array[], index: number, bin: number, value: number): void {
  let bins = series[index];
  if (bin >= bins.length) {
    const grown = new Float64Array(Math.max(bin + 1, bins.length * 2));
    grown.set(bins);
    series[index] = bins = grown;
  }
  bins[bin] += value;
}
