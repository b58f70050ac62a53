import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { scenarioTopology } from '../../src/run/simulate.js';
import { namespaceTcp, simulatedTcp } from '../../src/run/host-tcp.js';
import { iterationTimes } from '../../src/results/summary.js';
import { simulate } from '../../src/run/simulate.js';
import { tcpSysctls } from '../../src/net/emu/links.js';
import { scenarioText } from '../helpers.js';

const MIB = 1024 * 1024;
const tcpOf = (patch: Record<string, string>, set: string[] = []) => {
  const s = parseScenario(scenarioText(patch), 's.yaml', { set });
  return namespaceTcp(s, scenarioTopology(s));
};

describe('the emulated hosts\' TCP (network.tcp)', () => {
  it('sizes buffers to 4 x the largest bandwidth-delay product: 500 Mbit/s with 50 ms each way', () => {
    // 62.5 MB/s x 0.1 s = 6.25 MB in flight; 4 x that is 25e6 bytes, 24 MiB rounded up
    const tcp = tcpOf({ nodes: 'nodes: [a, b]', links: 'links:\n  - between: [a, b]\n    bandwidth: 500\n    delay_ms: 50' });
    expect(tcp.largestBdpBytes).toBe(6_250_000);
    expect(tcp.bufferBytes).toBe(24 * MIB);
    expect(tcp).toMatchObject({ congestion: 'bbr', slowStartAfterIdle: false });
  });

  it('the round trip is the longest route\'s, both ways; on the relay underlay a neighbour\'s', () => {
    // a - b - c, 10 ms and 100 Mbit/s a link: a to c and back is 40 ms by IP, 20 ms hop by hop
    const links = 'links:\n  - between: [a, b]\n    bandwidth: 100\n    delay_ms: 10\n  - between: [b, c]\n    bandwidth: 100\n    delay_ms: 10';
    expect(tcpOf({ links }).largestBdpBytes).toBe(500_000);
    expect(tcpOf({ links }, ['network.underlay=relay']).largestBdpBytes).toBe(250_000);
    // small products keep the host's 4 MB
    expect(tcpOf({ links }).bufferBytes).toBe(4 * MIB);
  });

  it('the peak of a varying link counts, and jitter adds to the delay', () => {
    const links = 'links:\n  - between: [a, b]\n    bandwidth: { generator: steps, mbps: [100, 800, 200], period_s: 10 }\n    delay_ms: 20\n    jitter_ms: 5';
    const tcp = tcpOf({ nodes: 'nodes: [a, b]', links });
    expect(tcp.largestBdpBytes).toBe(100e6 * 0.05); // 800 Mbit/s x (25 + 25) ms
  });

  it('buffers: host keeps the host\'s, a number is MB; congestion and slow start as given', () => {
    const host = tcpOf({}, ['network.tcp={ buffers: host, congestion: reno, slow_start_after_idle: true }']);
    expect(host).toMatchObject({ bufferBytes: null, congestion: 'reno', slowStartAfterIdle: true });
    expect(tcpSysctls(host)).toEqual(['net.ipv4.tcp_slow_start_after_idle=1']);
    const fixed = tcpOf({}, ['network.tcp.buffers=64']);
    expect(fixed.bufferBytes).toBe(64 * MIB);
    expect(tcpSysctls(fixed)).toEqual([
      'net.ipv4.tcp_slow_start_after_idle=0', `net.ipv4.tcp_rmem=4096 131072 ${64 * MIB}`, `net.ipv4.tcp_wmem=4096 16384 ${64 * MIB}`,
    ]);
  });

  it('refuses a name Linux would not take, and buffers beyond 2 GB', () => {
    expect(() => tcpOf({}, ['network.tcp.congestion=Cubic!'])).toThrow(/network\.tcp\.congestion: a congestion control name as Linux spells it/);
    expect(() => tcpOf({}, ['network.tcp.buffers=4096'])).toThrow(/network\.tcp\.buffers: at most 2047 MB/);
  });

  it('network.sharing: tcp gives the simulator the hosts\' windows and the congestion control\'s calibrated constants', () => {
    const sim = (set: string[]) => {
      const s = parseScenario(scenarioText({}), 's.yaml', { set });
      return simulatedTcp(s, scenarioTopology(s));
    };
    expect(sim([])).toBeNull(); // max-min by default
    // the receive window is half the receive buffer
    expect(sim(['network.sharing=tcp', 'network.tcp={ buffers: 16, congestion: cubic }'])).toEqual({
      rttExponent: 0, bandwidthFactor: 1, windowBytes: 8 * MIB, initialWindowBytes: 14480, slowStartAfterIdle: false,
    });
    // host: Linux's defaults (6 MB receive, 4 MB send), whatever this machine has
    expect(sim(['network.sharing=tcp', 'network.tcp={ buffers: host, congestion: reno, slow_start_after_idle: true }'])).toMatchObject({
      rttExponent: 1, windowBytes: 3 * MIB, slowStartAfterIdle: true,
    });
  });

  it('a simulated run with sharing: tcp is its own model (slower than max-min with slow start after idle) and deterministic', () => {
    const links = 'links:\n  - between: [a, b]\n    bandwidth: 100\n    delay_ms: 40\n  - between: [b, c]\n    bandwidth: 50\n    delay_ms: 10';
    const scenario = (set: string[]) => parseScenario(scenarioText({ links }), 's.yaml', { set: ['workload.compute_ms=500', ...set] });
    const maxMin = scenario([]);
    const tcp = scenario(['network.sharing=tcp', 'network.tcp={ congestion: cubic, slow_start_after_idle: true }']);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const times = (s: typeof tcp) => iterationTimes(simulate(s, s.schedulers[0]));
    expect(mean(times(tcp))).toBeGreaterThan(mean(times(maxMin)) * 1.01);
    expect(times(tcp)).toEqual(times(tcp));
  });
});
